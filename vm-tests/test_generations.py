"""Scenarios 1, 2, 3 and 5 as ordered steps on one guest (a person's afternoon with
genman, each step a test; a failed step fails the ones after it):

1. three `genman switch`es; the default and both older entries boot from the menu, each
   showing its generation number on the kernel command line and its own /etc —
   on every firmware x bootloader combination (TestGenerations, TestLifecycle);
2. after booting an older entry the default is unchanged and `genman status` says so;
   `genman rollback` moves the default back one, and the next plain boot takes it;
3. a broken generation (its service cannot start) is left by picking the previous entry,
   and `genman switch-generation` makes that the default;
5. `genman prune --keep 2` leaves exactly two entries, and both boot;
4. rollback with nobody at the console (vmlib/health_flow.py), on the GRUB combinations;
6. service decisions: a unit changed through [etc] runs its new ExecStart= (daemon-reload
   before the start), a service the admin stopped stays stopped across a switch that
   changed it, and one that dies a second after its start makes the switch exit 4.
Scenarios 2, 3, 5 and 6 run on LIFECYCLE_COMBOS only: they exercise genman's state, not
the firmware, and each boot costs ~30-45 s under TCG.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from vmlib.health_flow import nobody_at_the_console
from vmlib.images import COMBOS, ROOT_LABEL, Combo
from vmlib.machine import Machine
from vmlib.scenario import (
    PROFILES,
    assert_booted,
    default_generation,
    generations,
    genman,
    menu_entries,
    reboot_into,
    switch,
)

pytestmark = [pytest.mark.vm, pytest.mark.steps]

LIFECYCLE_COMBOS = [c for c in COMBOS if c.id == "uefi-sdboot"]
OTHER_COMBOS = [c for c in COMBOS if c not in LIFECYCLE_COMBOS]


@pytest.fixture(scope="class")
def guest(request: pytest.FixtureRequest, image_factory, class_machines) -> Iterator[Machine]:
    combo: Combo = request.param
    m = class_machines(combo, image_factory(combo))
    m.combo = combo  # type: ignore[attr-defined]
    yield m
    m.kill()  # before the next combination's guest starts: two TCG guests would crawl


def combo_of(guest: Machine) -> Combo:
    return guest.combo  # type: ignore[attr-defined,no-any-return]


class Scenario1:
    """Scenario 1's steps; not collected itself (no Test prefix), see the classes below."""

    def test_1_three_switches(self, guest: Machine) -> None:
        combo = combo_of(guest)
        guest.start()
        # No genman entries yet: the harness picks the distro entry by its title.
        guest.select_boot_entry(r"distro kernel")
        seconds = guest.wait_for_agent(timeout=180)
        print(f"[vm] {combo.id}: distro boot took {seconds:.1f}s")
        assert f"root=LABEL={ROOT_LABEL}" in guest.succeed("cat /proc/cmdline")
        if combo.has_esp:
            assert guest.succeed("findmnt -no FSTYPE /boot/efi").strip() == "vfat"
        for n in (1, 2, 3):
            seconds = switch(guest, combo, f"gen{n}")
            print(f"[vm] {combo.id}: switch to generation {n} took {seconds:.1f}s")
            assert guest.succeed("cat /etc/genman-vm/marker").strip() == f"profile {n}"
            if n > 1:  # demo-a's trigger changed: restarted onto its new config
                assert guest.succeed("cat /run/demo/a.seen").strip() == f"a-{n}"
        gens = generations(guest, combo)
        assert sorted(gens) == [1, 2, 3]
        assert default_generation(guest, combo) == 3
        assert all(g["boot_entry"] for g in gens.values()), gens
        assert sorted(menu_entries(guest, combo)) == [1, 2, 3]

    def test_1_default_boots_newest(self, guest: Machine) -> None:
        combo = combo_of(guest)
        seconds = reboot_into(guest, combo, expect_default=3)
        print(f"[vm] {combo.id}: boot to generation 3 (default) took {seconds:.1f}s")
        assert_booted(guest, combo, 3, "profile 3")
        assert guest.succeed("cat /run/demo/a.seen").strip() == "a-3"

    @pytest.mark.parametrize("n", [2, 1])
    def test_1_older_entry_from_menu(self, guest: Machine, n: int) -> None:
        combo = combo_of(guest)
        seconds = reboot_into(guest, combo, generation=n)
        print(f"[vm] {combo.id}: boot to generation {n} (menu) took {seconds:.1f}s")
        assert_booted(guest, combo, n, f"profile {n}")
        assert guest.succeed("cat /etc/demo/a.conf").strip() == f"a-{n}"
        assert guest.succeed("cat /run/demo/a.seen").strip() == f"a-{n}"


class GrubSteps(Scenario1):
    """Scenario 1, then rollback with nobody at the console on GRUB (test_health.py has it
    on systemd-boot). One class per combination: a class is what `--dist loadscope` keeps
    on one worker, and each combination is a guest of its own."""

    def test_4_nobody_at_the_console(self, guest: Machine) -> None:
        combo = combo_of(guest)
        nobody_at_the_console(guest, combo)
        guest.shutdown()


@pytest.mark.parametrize(
    "guest", OTHER_COMBOS[:1], ids=[c.id for c in OTHER_COMBOS[:1]], indirect=True, scope="class"
)
class TestGenerations(GrubSteps):
    """The first combination TestLifecycle does not cover (uefi-grub)."""


@pytest.mark.parametrize(
    "guest", OTHER_COMBOS[1:], ids=[c.id for c in OTHER_COMBOS[1:]], indirect=True, scope="class"
)
class TestGenerationsBios(GrubSteps):
    """The other one (bios-grub)."""


@pytest.mark.parametrize(
    "guest", LIFECYCLE_COMBOS, ids=[c.id for c in LIFECYCLE_COMBOS], indirect=True, scope="class"
)
class TestLifecycle(Scenario1):
    """Scenario 1's steps (inherited), then 2, 3 and 5 on the same guest."""

    def test_2_default_unchanged_after_menu_pick(self, guest: Machine) -> None:
        combo = combo_of(guest)
        # Generation 1 was booted from the menu by the previous step.
        assert default_generation(guest, combo) == 3
        status = genman(guest, combo, "status")
        assert re.search(r"^default:\s+3$", status.out, re.M), status.out
        assert re.search(r"^booted:\s+1$", status.out, re.M), status.out
        assert "not the default" in status.err, status.err  # the warning DESIGN asks for

    def test_2_rollback(self, guest: Machine) -> None:
        combo = combo_of(guest)
        genman(guest, combo, "rollback")
        assert default_generation(guest, combo) == 2
        reboot_into(guest, combo, expect_default=2)
        assert_booted(guest, combo, 2, "profile 2")

    def test_3_broken_generation(self, guest: Machine) -> None:
        combo = combo_of(guest)
        # demo-a refuses its new config: genman switches but reports failed services (4).
        switch(guest, combo, "broken", ok=(4,))
        gens = generations(guest, combo)
        assert max(gens) == 4 and gens[4]["default"], gens
        reboot_into(guest, combo, expect_default=4)
        assert_booted(guest, combo, 4, "profile broken")
        guest.fail("systemctl is-active --quiet demo-a")

    def test_3_recover_by_previous_entry(self, guest: Machine) -> None:
        combo = combo_of(guest)
        reboot_into(guest, combo, generation=3)
        assert_booted(guest, combo, 3, "profile 3")
        guest.succeed("systemctl is-active --quiet demo-a")
        genman(guest, combo, "switch-generation 3")
        assert default_generation(guest, combo) == 3

    def test_5_prune_keep_2(self, guest: Machine) -> None:
        combo = combo_of(guest)
        genman(guest, combo, "prune --keep 2")
        gens = generations(guest, combo)
        assert sorted(gens) == [3, 4], gens
        assert sorted(menu_entries(guest, combo)) == [3, 4]
        # Also the plain boot after switch-generation (scenario 3): the default is 3.
        reboot_into(guest, combo, expect_default=3)
        assert_booted(guest, combo, 3, "profile 3")
        reboot_into(guest, combo, generation=4)
        assert_booted(guest, combo, 4, "profile broken")
        guest.shutdown()

    def test_6_service_decisions(self, guest: Machine) -> None:
        combo = combo_of(guest)
        guest.start()  # the previous step shut it down (or this step runs alone)
        guest.select_boot_entry(r"distro kernel")
        guest.wait_for_agent(timeout=180)
        switch(guest, combo, "svc1")
        assert guest.succeed("cat /run/demo/etc.seen").strip() == "v1"
        guest.succeed("systemctl is-active --quiet demo-stop")
        guest.succeed("systemctl stop demo-stop")

        plan = json.loads(genman(guest, combo, f"switch --dry-run --json {PROFILES}/svc2.toml").out)
        decided = [(a["unit"], a["action"]) for a in plan if a["kind"] == "service"]
        assert decided == [("demo-etc", "stop"), ("demo-a", "unchanged"),
                           ("demo-b", "unchanged"), ("demo-etc", "start"),
                           ("demo-stop", "skip")], plan
        switch(guest, combo, "svc2")
        assert guest.succeed("cat /run/demo/etc.seen").strip() == "v2"  # the new ExecStart=
        guest.fail("systemctl is-active --quiet demo-stop")  # stopped stays stopped

        res = genman(guest, combo, f"switch {PROFILES}/svc3.toml", ok=(4,))
        assert "error: service demo-etc (demo-etc) failed to start" in res.err, res.err
        assert "these services failed: demo-etc" in res.err, res.err
        guest.fail("systemctl is-active --quiet demo-etc")
        guest.shutdown()
