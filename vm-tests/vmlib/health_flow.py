"""Rollback with nobody at the console (issue scenarios a-d), as steps any guest can run:
the same checks on systemd-boot and GRUB, systemd and sysvinit. Each boot costs ~30-45 s
under TCG, so one guest shows all four."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .images import Combo
from .machine import GuestBootError, Machine
from .scenario import (
    PROFILES,
    booted_generation,
    default_generation,
    generations,
    genman,
    reboot_into,
    ride_out_bad_boots,
    switch,
)


def states(m: Machine, combo: Combo) -> dict[int, tuple[object, object, object]]:
    return {n: (g.get("state"), g.get("tries_left"), g.get("failure"))
            for n, g in generations(m, combo).items()}


def wait_in_guest(m: Machine, cond: str, limit: int = 120) -> None:
    """Poll a shell condition in the guest, bounded."""
    m.succeed(f"i=0; until {cond}; do i=$((i+1)); [ $i -lt {limit} ] || exit 1; sleep 1; done",
              timeout=limit + 30)


def wait_for(what: str, cond: Callable[[], bool], limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise GuestBootError(f"not within {limit:.0f}s: {what}")
        time.sleep(3)


def wait_boot_judged(m: Machine, combo: Combo) -> None:
    """This boot's marker has finished: it holds genman's lock while it judges, so a
    command started before then can meet it; and a state it set at an earlier boot
    ("good") says nothing about this boot's marker."""
    unit = "genman-boot-mark.service"
    if combo.variant == "systemd":
        cond = f"systemctl is-active --quiet {unit} || systemctl is-failed --quiet {unit}"
    else:  # an init script, no unit state: callers wait for what it writes under the lock
        cond = "flock -n /var/lib/genman/lock true"
    wait_in_guest(m, cond)


def seen(m: Machine) -> str:
    return m.succeed("cat /run/demo/a.seen").strip()


def derive(m: Machine, name: str, a_conf: str) -> None:
    """A profile like gen2 with its own marker and demo-a config (so never a no-op)."""
    m.succeed(f"sed 's/^text = \"profile .*/text = \"profile {name}\\\\n\"/; s/a-2/{a_conf}/' "
              f"{PROFILES}/gen2.toml > {PROFILES}/{name}.toml")


def confirm_flows(m: Machine, combo: Combo) -> None:
    """d: unconfirmed -> reverted within the deadline (exit 5), demo-a back on its old config,
    the default what it was, the generation `failed`; confirmed from a second session ->
    kept and the default; the session that ran the switch killed mid-wait -> reverted."""
    for k in (1, 2, 3):
        derive(m, f"confirm-{k}", f"a-c{k}")
    # The config demo-a must run on after a revert (what it saw before may be older: a
    # switch whose trigger is new restarts nothing).
    default, before = default_generation(m, combo), m.succeed("cat /etc/demo/a.conf").strip()
    started = time.monotonic()
    r = genman(m, combo, f"switch --confirm-within 30 --wait {PROFILES}/confirm-1.toml",
               ok=(5,), timeout=200)
    print(f"[vm] {combo.id}: confirm-within 30, unconfirmed: reverted after "
          f"{time.monotonic() - started:.0f}s")
    assert "reverted: not confirmed" in r.err, r.err
    assert seen(m) == before
    assert default_generation(m, combo) == default
    assert states(m, combo)[max(generations(m, combo))][0] == "failed"

    genman(m, combo, f"switch --confirm-within 120 {PROFILES}/confirm-2.toml")
    assert seen(m) == "a-c2"
    assert default_generation(m, combo) == default  # not the default until confirmed
    genman(m, combo, "confirm")  # another agent command: another session
    kept = max(generations(m, combo))
    assert default_generation(m, combo) == kept
    assert seen(m) == "a-c2"

    cmd = f"{combo.genman_cmd()} switch --confirm-within 20 --wait {PROFILES}/confirm-3.toml"
    m.succeed(f"setsid sh -c 'echo $$ > /tmp/sess; exec {cmd}' >/tmp/sess.log 2>&1 &")
    wait_in_guest(m, "test -s /var/lib/genman/health/pending.json", 120)
    # SIGHUP to the whole session, as when the SSH connection drops; SIGKILL what is left.
    m.succeed("kill -HUP -$(cat /tmp/sess); sleep 1; kill -KILL -$(cat /tmp/sess) 2>/dev/null; "
              "! kill -0 $(cat /tmp/sess) 2>/dev/null")
    wait_in_guest(m, "! test -e /var/lib/genman/health/pending.json", 120)
    newest = max(generations(m, combo))
    assert newest > kept and states(m, combo)[newest][0] == "failed", states(m, combo)
    assert seen(m) == "a-c2"
    assert default_generation(m, combo) == kept


def bless_flow(m: Machine, combo: Combo) -> int:
    """c: a good generation with [health] becomes the default with tries to count, the
    boot-time marker blesses it at the next boot, and it stays the default, uncounted,
    after another reboot. Returns its number."""
    genman(m, combo, "health --install-marker")
    switch(m, combo, "health-good")
    n = default_generation(m, combo)
    assert states(m, combo)[n][:2] == ("trying", 3), states(m, combo)
    if combo.bootloader == "systemd-boot":
        assert f"genman-{n}+3.conf" in entries(m), entries(m)
    for _ in range(2):
        reboot_into(m, combo, expect_default=n)
        wait_boot_judged(m, combo)
        assert states(m, combo)[n][0] == "good", states(m, combo)
        assert default_generation(m, combo) == n
        if combo.bootloader == "systemd-boot":
            assert f"genman-{n}.conf" in entries(m), entries(m)
    last = json.loads(genman(m, combo, "health --last --json").out)
    assert last[-1]["checks"][0]["ok"] is True, last
    return n


def fall_back_from(m: Machine, combo: Combo, profile: str, good: int, kind: str) -> None:
    """a/b: `genman boot` makes `profile` the default with one try; nobody at the console;
    the guest comes back on `good`, the default again, and status names the failure."""
    genman(m, combo, f"boot {PROFILES}/{profile}.toml")
    bad = default_generation(m, combo)
    assert bad != good, f"{profile} did not become the default"
    seconds = ride_out_bad_boots(m, resets=1)
    line = f"[vm] {combo.id}: {kind}: from the bad boot to generation {good} again: {seconds:.0f}s"
    print(line)
    with open(m.workdir / "timings.txt", "a") as f:  # kept where -n 2 does not hide it
        f.write(line + "\n")
    assert booted_generation(m) == good, m.succeed("cat /proc/cmdline")
    wait_for(f"generation {bad} marked failed", lambda: states(m, combo)[bad][0] == "failed")
    wait_boot_judged(m, combo)
    assert default_generation(m, combo) == good
    assert states(m, combo)[bad][2], states(m, combo)  # the reason is recorded
    status = genman(m, combo, "status")
    assert str(bad) in status.out + status.err, status.out + status.err


def nobody_at_the_console(m: Machine, combo: Combo) -> None:
    """d, c, a, b in that order on a running guest."""
    confirm_flows(m, combo)
    good = bless_flow(m, combo)
    fall_back_from(m, combo, "health-panic", good, "panic at boot")
    fall_back_from(m, combo, "health-badcheck", good, "failed check at boot")


def entries(m: Machine) -> list[str]:
    return sorted(m.succeed("ls /boot/efi/loader/entries").split())
