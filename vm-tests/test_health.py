"""Rollback with nobody at the console, on one uefi-sdboot guest with systemd (each boot
costs ~30-45 s under TCG, so one guest shows several things):

d. `switch --confirm-within 30 --wait` and no confirmation: reverted within the deadline
   (exit 5), demo-a back on its old config; the same with `genman confirm` from a second
   session: kept; the session that ran the switch killed mid-wait: still reverted;
c. a good generation with [health] becomes the default with a BLS counter
   (`genman-N+3.conf`), the boot-time marker blesses it on the next boot, and it is
   still the default, with no counter, after another reboot.
"""

from __future__ import annotations

import json
import time

import pytest
from vmlib.images import Combo
from vmlib.machine import Machine
from vmlib.scenario import (
    PROFILES,
    default_generation,
    generations,
    genman,
    reboot_into,
    switch,
)

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")


def states(m: Machine) -> dict[int, tuple[object, object, object]]:
    return {n: (g.get("state"), g.get("tries_left"), g.get("failure"))
            for n, g in generations(m, COMBO).items()}


def entries(m: Machine) -> list[str]:
    return sorted(m.succeed("ls /boot/efi/loader/entries").split())


def wait_in_guest(m: Machine, cond: str, limit: int = 120) -> None:
    """Poll a shell condition in the guest, bounded."""
    m.succeed(f"i=0; until {cond}; do i=$((i+1)); [ $i -lt {limit} ] || exit 1; sleep 1; done",
              timeout=limit + 30)


def test_confirm_within_and_boot_counting(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    m.select_boot_entry(r"distro kernel")
    m.wait_for_agent(timeout=180)
    switch(m, COMBO, "gen1")  # demo-a already ran: a new trigger alone restarts nothing

    # d1: nobody confirms: reverted within the deadline, exit 5, demo-a on a-1 again.
    started = time.monotonic()
    r = genman(m, COMBO, f"switch --confirm-within 30 --wait {PROFILES}/gen2.toml", ok=(5,),
               timeout=200)
    took = time.monotonic() - started
    print(f"[vm] confirm-within 30 without confirmation: reverted after {took:.0f}s")
    assert "reverted: not confirmed" in r.err
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-1"
    assert default_generation(m, COMBO) == 1
    assert states(m)[2][0] == "failed"

    # d2: confirmed from a second session (another agent command): kept.
    genman(m, COMBO, "switch-generation 2 --confirm-within 120")
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"
    assert default_generation(m, COMBO) == 1  # not the default until confirmed
    genman(m, COMBO, "confirm")
    assert default_generation(m, COMBO) == 2
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"

    # d3: the session that ran the switch is killed mid-wait: the watcher still reverts.
    cmd = f"{COMBO.genman_cmd()} switch --confirm-within 20 --wait {PROFILES}/gen3.toml"
    m.succeed(f"setsid sh -c 'echo $$ > /tmp/sess; exec {cmd}' >/tmp/sess.log 2>&1 &")
    wait_in_guest(m, "test -s /var/lib/genman/health/pending.json", 120)
    # SIGHUP to the whole session, as when the SSH connection drops; SIGKILL whatever is
    # left (the HUP usually ends it already).
    m.succeed("kill -HUP -$(cat /tmp/sess); sleep 1; kill -KILL -$(cat /tmp/sess) 2>/dev/null; "
              "! kill -0 $(cat /tmp/sess) 2>/dev/null")
    wait_in_guest(m, f"{COMBO.genman_cmd()} list-generations --json | "
                     "grep -q '\"state\": \"failed\"' && ! test -e "
                     "/var/lib/genman/health/pending.json", 120)
    assert states(m)[3][0] == "failed"
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-2"
    assert default_generation(m, COMBO) == 2

    # c: a good generation gets 3 tries, is blessed by the boot-time marker, stays default.
    genman(m, COMBO, "health --install-marker")
    switch(m, COMBO, "health-good")
    n = default_generation(m, COMBO)
    assert f"genman-{n}+3.conf" in entries(m), entries(m)
    assert states(m)[n][:2] == ("trying", 3)
    reboot_into(m, COMBO, expect_default=n)
    wait_in_guest(m, "systemctl is-active --quiet genman-boot-mark", 180)
    assert f"genman-{n}.conf" in entries(m), entries(m)
    assert states(m)[n][0] == "good"
    print(m.succeed("journalctl -u genman-boot-mark --no-pager | tail -5"))
    reboot_into(m, COMBO, expect_default=n)
    wait_in_guest(m, "systemctl is-active --quiet genman-boot-mark", 180)
    assert f"genman-{n}.conf" in entries(m)
    assert default_generation(m, COMBO) == n
    last = json.loads(genman(m, COMBO, "health --last --json").out)
    assert last[-1]["checks"][0]["ok"] is True
    m.shutdown()
