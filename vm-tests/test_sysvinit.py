"""Scenario 7, on a Devuan-like guest (sysvinit-core, no systemd) booted by GRUB from BIOS:
`genman switch` restarts the init.d service whose config changed and leaves the other
running — the pid of the unchanged one stays, the changed one gets a new pid that saw the
new config. Then the switched-to generation boots through sysvinit and genman's init.
`genman deploy` from the host over SSH (the guest's sshd on a forwarded port) switches the
guest, which then boots the deployed entry. On the same guest, rollback with nobody at the
console (vmlib/health_flow.py): d (confirm or revert) and b (a required check that fails
at boot, the LSB marker, GRUB's fallback); last, `genman import` of the guest and a switch
to it that changes no byte under /etc."""

from __future__ import annotations

from pathlib import Path

import pytest
from vmlib.adopt_flow import import_changes_nothing
from vmlib.deploy_flow import deploy_and_boot, free_port
from vmlib.health_flow import confirm_flows, fall_back_from
from vmlib.images import Combo
from vmlib.scenario import (
    assert_booted,
    assert_genman_packaged,
    boot_menu,
    default_generation,
    genman,
    reboot_into,
    switch,
)

pytestmark = pytest.mark.vm

COMBO = Combo("bios", "grub", variant="sysvinit")


def pids(m) -> dict[str, int]:
    return {s: int(m.succeed(f"cat /run/demo-{s}.pid")) for s in ("a", "b")}


def test_sysvinit_switch_restarts_only_changed_services(image_factory, machines,
                                                        tmp_path: Path) -> None:
    m = machines(COMBO, image_factory(COMBO), ssh_port=free_port())
    m.start()
    boot_menu(m)
    assert_genman_packaged(m)
    assert m.succeed("cat /proc/1/comm").strip() == "init"
    m.succeed("test ! -d /run/systemd/system")  # sd_booted() is false: really not systemd
    switch(m, COMBO, "gen1")
    m.succeed("/etc/init.d/demo-a status && /etc/init.d/demo-b status")
    before = pids(m)
    switch(m, COMBO, "gen2")
    after = pids(m)
    assert after["b"] == before["b"], "demo-b's config did not change; it must not be restarted"
    assert after["a"] != before["a"], "demo-a's config changed; it must be restarted"
    m.succeed(f"kill -0 {after['a']} && kill -0 {after['b']}")
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"

    reboot_into(m, COMBO, expect_default=2)
    assert_booted(m, COMBO, 2, "profile 2")
    m.succeed("/etc/init.d/demo-a status && /etc/init.d/demo-b status")
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"

    # A fleet of one: this machine deploys to the guest over SSH, the guest boots it.
    deploy_and_boot(m, COMBO, tmp_path)

    confirm_flows(m, COMBO)
    genman(m, COMBO, "health --install-marker")
    good = default_generation(m, COMBO)
    fall_back_from(m, COMBO, "sysv-health-badcheck", good, "failed check at boot")
    m.succeed("/etc/init.d/demo-a status && /etc/init.d/demo-b status")

    # Last (it hands /etc to the imported profile): adopting the host as it is.
    import_changes_nothing(m, COMBO, ["cat /run/demo-a.pid", "cat /run/demo-b.pid"])
    m.shutdown()
