"""Scenario 7, on a Devuan-like guest (sysvinit-core, no systemd): `genman switch`
restarts the init.d service whose config changed and leaves the other running — the pid
of the unchanged one stays, the changed one gets a new pid that saw the new config. Then
the switched-to generation boots through sysvinit and genman's init."""

from __future__ import annotations

import pytest
from vmlib.images import Combo
from vmlib.scenario import assert_booted, assert_genman_packaged, boot_menu, reboot_into, switch

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot", variant="sysvinit")


def pids(m) -> dict[str, int]:
    return {s: int(m.succeed(f"cat /run/demo-{s}.pid")) for s in ("a", "b")}


def test_sysvinit_switch_restarts_only_changed_services(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
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
    m.shutdown()
