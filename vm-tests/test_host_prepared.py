"""A tree prepared from the host with `genman --root TREE ... switch` boots as it is:
generation 1 is the menu's default, its init runs, its /etc is live (DESIGN: links and
init= name paths as seen from inside the target, never with the --root prefix)."""

from __future__ import annotations

import re

import pytest
from vmlib.images import COMBOS, Combo
from vmlib.scenario import (
    assert_booted,
    boot_menu,
    default_generation,
    host_switch,
    menu_path,
    switch,
)

pytestmark = pytest.mark.vm

# GRUB's --root path is the same for BIOS and UEFI; the other scenarios that start from
# host-prepared images (initrd fallback, old kernel) add more uefi-sdboot coverage.
HOST_COMBOS = [c for c in COMBOS if c.id in ("uefi-sdboot", "bios-grub")]


@pytest.mark.parametrize("combo", HOST_COMBOS, ids=[c.id for c in HOST_COMBOS])
def test_host_prepared_generation_boots(combo: Combo, image_factory, machines) -> None:
    base = image_factory(combo, host_prepare=[host_switch(combo, "gen1")], tag="hostprep")
    m = machines(combo, base)
    m.start()
    boot_menu(m)  # nothing pressed: the menu's default
    assert_booted(m, combo, 1, "profile 1")
    assert default_generation(m, combo) == 1
    assert m.succeed("readlink /etc/static").startswith("/var/lib/genman/")
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-1"
    # The init marks its start and its hand-over in the kernel log (bench/boot.py reads them).
    dmesg = m.succeed("dmesg")
    assert re.search(r"genman: init of /var/lib/genman/store/\S+ started", dmesg), dmesg
    assert re.search(r"genman: init of \S+ done; starting /\S+", dmesg), dmesg
    assert menu_path(m, combo, 1)
    # And genman in the guest carries on from there.
    switch(m, combo, "gen2")
    assert m.succeed("cat /etc/genman-vm/marker").strip() == "profile 2"
    m.shutdown()
