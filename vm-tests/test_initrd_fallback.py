"""The initrd hook in a real boot (initramfs-tools, klibc, no busybox): an entry whose
init= is gone falls back to the default generation with a message on the console,
instead of the initramfs' own fallback to /sbin/init (which would boot without any
genman /etc) or a panic."""

from __future__ import annotations

import pytest
from vmlib.images import Combo
from vmlib.scenario import (
    boot_menu,
    booted_generation,
    etc_marker,
    host_switch,
    menu_path,
    title_matcher,
)

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")


def test_entry_with_missing_init_boots_the_default(image_factory, machines) -> None:
    # Generations 1 and 2 made on the host (saves a boot and two switches under TCG).
    prep = [host_switch(COMBO, "gen1"), host_switch(COMBO, "gen2")]
    m = machines(COMBO, image_factory(COMBO, host_prepare=prep, tag="gen12"))
    m.start()
    boot_menu(m)
    assert booted_generation(m) == 2
    m.succeed("test -r /usr/share/genman/initrd/genman-initrd.sh")
    # Break generation 1 the way a half-finished gc or a disk error would: its init goes.
    init = m.succeed(
        "sed -n 's/.* init=\\([^ ]*\\).*/\\1/p' /boot/efi/loader/entries/genman-1.conf"
    ).strip()
    assert init.startswith("/var/lib/genman/"), init
    # The store is a read-only bind mount of itself since boot: lift it, as genman does
    # while it writes, to reach the file underneath.
    m.succeed("! mountpoint -q /var/lib/genman/store || umount /var/lib/genman/store || "
              "mount -o remount,rw,bind /var/lib/genman/store")
    m.succeed(f"chmod u+w $(dirname {init}) 2>/dev/null; rm -f {init} && sync")
    path = menu_path(m, COMBO, 1)

    m.reboot()
    m.select_boot_entry(*[title_matcher(t) for t in path])
    m.wait_for_console_text(
        r"genman: .*missing or not executable; booting the default generation instead \(2\)", 120
    )
    m.wait_for_agent(180)
    assert booted_generation(m) == 1  # what the menu entry said...
    assert etc_marker(m) == "profile 2"  # ...but the default generation's /etc is live
    report = m.succeed("cat /run/genman/initrd-fallback")
    assert f"requested={init}" in report and "chosen=/var/lib/genman/default/init" in report
    m.shutdown()


VAR_COMBO = Combo("uefi", "systemd-boot", separate_var=True)


def test_generation_on_separate_var_boots(image_factory, machines) -> None:
    """/var (and so every generation's init=) on its own partition: the initramfs mounts
    only /, so without genman's hook the kernel's init= is not there and initramfs-tools
    falls back to /sbin/init — booting without the generation's /etc."""
    # Generation 1 made on the host: the image's /var partition holds it.
    prep = [host_switch(VAR_COMBO, "gen1")]
    m = machines(VAR_COMBO, image_factory(VAR_COMBO, host_prepare=prep))
    m.start()
    m.wait_for_console_text(r"genman: mounting LABEL=genvar on /var", 120)
    m.wait_for_agent(180)
    assert booted_generation(m) == 1
    assert etc_marker(m) == "profile 1"
    m.succeed("test ! -e /run/genman/initrd-fallback")
    assert m.succeed("findmnt -no SOURCE /var").strip() != m.succeed("findmnt -no SOURCE /").strip()
    m.succeed(
        "systemctl is-system-running --wait || systemctl --failed --no-legend | (! grep .)",
        timeout=120,
    )
    m.shutdown()
