"""The harness itself, before any genman: every firmware x bootloader combination boots
its distro entry picked from the menu, and a guest that cannot boot is a failed test."""

from __future__ import annotations

import time

import pytest
from vmlib.images import COMBOS, Combo, ROOT_LABEL, kernel_versions
from vmlib.machine import GuestBootError

pytestmark = pytest.mark.vm


@pytest.mark.parametrize("combo", COMBOS, ids=[c.id for c in COMBOS])
def test_distro_entry_boots_from_the_menu(combo: Combo, image_factory, machines) -> None:
    m = machines(combo, image_factory(combo))
    m.start()
    title = m.select_boot_entry(r"distro kernel")
    assert "distro kernel" in title
    m.wait_for_agent(timeout=150)
    cmdline = m.succeed("cat /proc/cmdline")
    assert f"root=LABEL={ROOT_LABEL}" in cmdline and "console=ttyS0" in cmdline
    assert m.succeed("findmnt -no SOURCE /").strip().startswith("/dev/vda")
    if combo.has_esp:
        assert m.succeed("findmnt -no FSTYPE /boot/efi").strip() == "vfat"
    assert m.succeed("command -v genman").strip() == "/usr/local/bin/genman"
    m.succeed("genman --help >/dev/null")
    m.shutdown()


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
