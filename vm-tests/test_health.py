"""Rollback with nobody at the console on a uefi-sdboot guest with systemd; the GRUB
combinations run the same steps in test_generations.py, sysvinit in test_sysvinit.py
(vmlib/health_flow.py):

d. `switch --confirm-within 30 --wait` and no confirmation: reverted within the deadline
   (exit 5), demo-a back on its old config; the same with `genman confirm` from a second
   session: kept; the session that ran the switch killed mid-wait: still reverted;
c. a good generation with [health] becomes the default with a BLS counter
   (`genman-N+3.conf`), the boot-time marker blesses it on the next boot, and it is
   still the default, with no counter, after another reboot;
a. a generation that panics at boot (one try) -> the next boot is the good one again,
   the default again, the bad one `failed` with its reason;
b. the same for a generation whose required check fails at boot.
Last, `genman import` of the guest and a switch to it that changes no byte under /etc.
"""

from __future__ import annotations

import pytest
from vmlib.adopt_flow import import_changes_nothing
from vmlib.health_flow import nobody_at_the_console
from vmlib.images import Combo
from vmlib.scenario import switch

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")


def test_nobody_at_the_console(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    m.select_boot_entry(r"distro kernel")
    m.wait_for_agent(timeout=180)
    switch(m, COMBO, "gen1")
    nobody_at_the_console(m, COMBO)
    # Last (it hands /etc to the imported profile): adopting the host as it is.
    # The serial getty's autologin drop-in is the host's own file, which the imported
    # profile takes over unchanged: the getty keeps running too.
    import_changes_nothing(m, COMBO, [f"systemctl show -p MainPID --value {unit}"
                                      for unit in ("demo-a", "demo-b",
                                                   "serial-getty@ttyS0.service")])
    m.shutdown()
