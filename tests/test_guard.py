"""The write guard itself must catch escapes, or every other test proves less than it says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import YouForgotToUseTheRoot, _violations


def test_write_inside_tmp_path_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("ok")
    os.symlink("/nowhere", tmp_path / "link")


@pytest.mark.parametrize("action", [
    lambda: open("/var/tmp/genman-guard-probe", "w"),  # noqa: SIM115
    lambda: os.mkdir("/var/tmp/genman-guard-probe-dir"),
    lambda: os.symlink("/x", "/var/tmp/genman-guard-probe-link"),
    lambda: os.open("/var/tmp/genman-guard-probe", os.O_WRONLY | os.O_CREAT),
])
def test_write_outside_is_refused(action: object) -> None:
    with pytest.raises(YouForgotToUseTheRoot):
        action()  # type: ignore[operator]
    assert _violations
    _violations.clear()  # the refusal was the point of this test
