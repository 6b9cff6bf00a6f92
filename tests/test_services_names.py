"""systemd unit names: validity with escapes, systemd-escape's rules, templates."""

from __future__ import annotations

import pytest

from genman.services import names


@pytest.mark.parametrize(("text", "escaped"), [
    ("foo-bar", "foo\\x2dbar"), ("a/b", "a-b"), (".hidden", "\\x2ehidden"),
    ("x y", "x\\x20y"), ("ok:_.9", "ok:_.9"), ("ü", "\\xc3\\xbc"),
])
def test_escape(text: str, escaped: str) -> None:
    assert names.escape(text) == escaped


def test_escape_path_and_validity() -> None:
    assert names.escape_path("/srv/foo-bar/") == "srv-foo\\x2dbar"
    assert names.escape_path("/") == "-"
    for ok in ("nginx.service", "srv-foo\\x2dbar.mount", "getty@tty1.service",
               "getty@.service", "-.mount", "dev-disk-by\\x2dlabel-x.swap"):
        assert names.is_valid(ok), ok
    for bad in ("nginx", "a b.service", "x.bogus", "foo\\x2.mount", "a" * 300 + ".service"):
        assert not names.is_valid(bad), bad
    assert names.template_of("getty@tty1.service") == "getty@.service"
    assert names.template_of("getty@.service") is None
    assert names.full_name("/etc/init.d/bird") == "bird.service"
    assert names.suggest("/srv/foo bar.mount") == "srv-foo\\x20bar.mount"
