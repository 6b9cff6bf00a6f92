"""Scenario 4: power loss during `genman switch`. QEMU is SIGKILLed at several points of a
switch (fractions of a measured full switch); the guest is powered on again and must come
up on a consistent generation — the one the boot menu defaults to, with that generation's
/etc — and the next switch must work.

What "consistent" means here, checked after every cut:
- the boot default (menu and list-generations) is a generation that exists and boots;
- the booted generation is the default, /etc/static is its etc tree, /etc shows it;
- `genman status` runs;
- the ESP's entries are exactly the generations genman says have one, the default among
  them; a generation without one can only be the interrupted switch's (newer than the
  default); every entry's kernel and initrd are on the ESP whole.
"""

from __future__ import annotations

import time

import pytest
from vmlib.images import Combo
from vmlib.machine import FATAL, GuestBootError, Machine
from vmlib.scenario import (
    PROFILES,
    boot_menu,
    booted_generation,
    default_generation,
    generations,
    genman,
    menu_entries,
    switch,
)

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")
CUTS = (0.4, 0.65, 0.9)  # where in a switch the power goes, as a fraction of its duration;
# the first ~third of a switch is Python starting up, which writes nothing


def power_on_after_cut(m: Machine) -> None:
    """Power on and wait for the guest. A guest that resets on its way up before the kernel
    says anything (QEMU, run with -no-reboot, exits 0 with no panic on the console: the
    firmware or the loader reset it) is powered on once more, as a real machine would
    reboot by itself; a second reset, a panic or a hang still fails the test."""
    for attempt in (1, 2):
        m.start()
        try:
            boot_menu(m)
            return
        except GuestBootError as e:
            reset = m.proc is not None and m.proc.poll() == 0
            if attempt == 2 or not reset or FATAL.search(m.console_text()[-20000:]):
                raise
            print(f"[vm] the guest reset while coming up after the cut; powering on again\n{e}")


def test_power_loss_mid_switch(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    boot_menu(m)
    # The first switch also stores the kernel and initrd; the cuts are placed inside a
    # switch like the ones they interrupt, so time the second.
    switch(m, COMBO, "gen1")
    full = switch(m, COMBO, "gen2")
    print(f"[vm] {COMBO.id}: full switch took {full:.1f}s")
    m.succeed("sync")

    for k, cut in enumerate(CUTS):
        before = default_generation(m, COMBO)
        # Distinct profiles every time, so no switch is a no-op "same as newest".
        for name, src in ((f"cut-{k}", "gen2"), (f"after-cut-{k}", "gen3")):
            m.succeed(
                f'sed \'s/^text = "profile .*/text = "profile {name}\\\\n"/\' '
                f"{PROFILES}/{src}.toml > {PROFILES}/{name}.toml"
            )
        m.succeed("sync")  # the profiles must survive the cut; only genman's writes are on trial
        m.execute(
            f"{COMBO.genman_cmd()} switch {PROFILES}/cut-{k}.toml >/dev/null 2>&1", nowait=True
        )
        time.sleep(max(0.5, cut * full))
        m.kill()
        print(f"[vm] cut the power {cut * full:.1f}s into a switch")

        power_on_after_cut(m)
        booted = booted_generation(m)
        default = default_generation(m, COMBO)
        assert booted == default, (
            f"booted {booted}, default {default} (was {before} before the cut)"
        )
        gens = generations(m, COMBO)
        static = m.succeed("readlink -f /etc/static").strip()
        gen_etc = m.succeed(f"readlink -f /var/lib/genman/generations/{booted}/etc").strip()
        assert static == gen_etc, f"/etc/static -> {static}, generation {booted} has {gen_etc}"
        assert m.succeed("cat /etc/genman-vm/marker") == m.succeed(
            f"cat {gen_etc}/genman-vm/marker"
        )
        genman(m, COMBO, "status")
        # Entries and generations agree: genman's boot_entry flags match the ESP, the
        # default has one, and the only generations without one are newer than the
        # default (the interrupted switch's, built but never made bootable: a state
        # `genman build` makes too).
        entries = menu_entries(m, COMBO)
        flagged = {n for n, g in gens.items() if g["boot_entry"]}
        assert set(entries) == flagged, f"ESP entries {sorted(entries)}, flagged {sorted(flagged)}"
        assert default in entries
        assert all(n > default for n in set(gens) - flagged), f"default {default}: {gens}"
        # Each entry's kernel and initrd made it to the ESP whole (rule 3: files first).
        m.succeed(
            "for f in /boot/efi/loader/entries/genman-*.conf; do "
            "  for p in $(sed -n 's/^\\(linux\\|initrd\\) //p' \"$f\"); do "
            '    test -s "/boot/efi$p" || { echo "$f: /boot/efi$p missing" >&2; exit 1; }; '
            "  done; "
            "done"
        )

        # The next switch works and takes effect.
        switch(m, COMBO, f"after-cut-{k}")
        assert default_generation(m, COMBO) == max(generations(m, COMBO))
        assert m.succeed("cat /etc/genman-vm/marker").strip() == f"profile after-cut-{k}"
        m.succeed("sync")
    m.shutdown()
