"""The harness itself: a guest that cannot boot is a failed test, not a hang. (That every
firmware x bootloader combination boots its distro entry picked from the menu by title is
the first step of every TestGenerations/TestLifecycle run.)"""

from __future__ import annotations

import time

import pytest
from vmlib.images import Combo
from vmlib.machine import GuestBootError

pytestmark = pytest.mark.vm


def test_unbootable_guest_is_a_failure_not_a_hang(image_factory, machines, tmp_path) -> None:
    """An empty disk: firmware finds nothing. The harness must raise GuestBootError (an
    AssertionError with the console tail) within the bound it was given."""
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"\0" * (8 << 20))
    combo = Combo("bios", "grub")
    m = machines(combo, empty, name="unbootable")
    m.start()
    started = time.monotonic()
    with pytest.raises(GuestBootError) as err:
        m.wait_for_agent(timeout=20)
    assert time.monotonic() - started < 60
    assert "console" in str(err.value)
