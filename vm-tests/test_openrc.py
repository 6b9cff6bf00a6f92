"""Scenario 8, on a Debian guest whose rc is OpenRC (sysvinit's init as PID 1, Debian's
`openrc` package in place of sysv-rc, the demo services as openrc-run scripts): the plan
of `genman switch --dry-run --json` and then the switch itself stop and start demo-a (its
config changed: new pid, new config seen), reload demo-c (changed, `on_change = "reload"`,
its script declares reload: same pid, new config read), and leave demo-b (same pid). The
switched-to generation boots through genman's init, sysvinit and OpenRC. Last, a daemon
that dies a second after a successful start makes the switch exit 4 naming it (Debian's
OpenRC still says "started" for it: genman reads the pid file)."""

from __future__ import annotations

import json

import pytest
from vmlib.images import Combo
from vmlib.scenario import PROFILES, assert_booted, boot_menu, genman, reboot_into, switch

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot", variant="openrc")
NAMES = ("a", "b", "c")


def pids(m) -> dict[str, int]:
    return {s: int(m.succeed(f"cat /run/demo/{s}.pid")) for s in NAMES}


def all_started(m) -> None:
    m.succeed(" && ".join(f"rc-service -- demo-{s} status" for s in NAMES))
    m.succeed(" && ".join(f"kill -0 $(cat /run/demo-{s}.pid)" for s in NAMES))


def booted_openrc(m) -> None:
    assert m.succeed("cat /proc/1/comm").strip() == "init"
    m.succeed("test ! -d /run/systemd/system")  # sd_booted() is false: really not systemd
    assert m.succeed("cat /run/openrc/softlevel").strip() == "default"


def test_openrc_switch_restarts_reloads_and_leaves_services(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    boot_menu(m)
    booted_openrc(m)
    switch(m, COMBO, "openrc-gen1")
    all_started(m)
    before = pids(m)

    plan = json.loads(genman(m, COMBO, f"switch --dry-run --json {PROFILES}/openrc-gen2.toml").out)
    actions = sorted((a["unit"], a["action"]) for a in plan if a["kind"] == "service")
    assert actions == [("demo-a", "start"), ("demo-a", "stop"), ("demo-b", "unchanged"),
                       ("demo-c", "reload")], plan
    assert pids(m) == before, "a dry run changed a service"

    switch(m, COMBO, "openrc-gen2")
    after = pids(m)
    assert after["b"] == before["b"], "demo-b's config did not change; it must not be restarted"
    assert after["a"] != before["a"], "demo-a's config changed; it must be restarted"
    assert after["c"] == before["c"], "demo-c asks for a reload, not a restart"
    all_started(m)
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"
    assert m.succeed("cat /run/demo/c.seen").strip() == "c-2"
    assert m.succeed("cat /run/demo/c.reloads").strip() == "1"

    reboot_into(m, COMBO, expect_default=2)
    assert_booted(m, COMBO, 2, "profile 2")
    booted_openrc(m)
    all_started(m)
    for s, conf in (("a", "a-2"), ("b", "b-constant"), ("c", "c-2")):
        assert m.succeed(f"cat /run/demo/{s}.seen").strip() == conf

    # demo-a's start succeeds, its daemon exits a second later: exit 4, and it is named
    res = genman(m, COMBO, f"switch {PROFILES}/openrc-die.toml", ok=(4,))
    assert "demo-a" in res.err and "not running" in res.err, res.err
    m.succeed("rc-service -- demo-b status && rc-service -- demo-c status")
    m.shutdown()
