"""Scenario 6: an old generation still boots, with working kernel modules, after apt
removed its kernel package. The guest tree carries a second, older kernel package
(trees.OLD_KERNEL_PACKAGE); generation 1 uses it, generation 2 the newest kernel; then
`apt-get purge` takes the old kernel's /boot files and /lib/modules away, and the kernel
package's postrm runs genman's hook (/etc/kernel/postrm.d/zz-genman, from the .deb), which
must say that generation 1 boots that kernel and still does.
genman keeps the kernel, initrd and modules with the generation (profile.py
`keep_modules`, generation `kernel-modules`); booting generation 1 must still find them:
`modprobe` of a module that is not loaded yet, and the ESP (vfat, a module) mounted."""

from __future__ import annotations

import pytest
from vmlib.images import Combo
from vmlib.scenario import assert_booted, assert_genman_packaged, boot_menu, reboot_into, switch
from vmlib.trees import OLD_KERNEL_PACKAGE, OLD_KERNEL_VERSION

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")
# Modules the guest does not load by itself; each is a plain .ko in Debian's kernel.
PROBE_MODULES = ("dummy", "veth")


def test_old_generation_boots_after_its_kernel_package_is_purged(image_factory, machines) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    boot_menu(m)
    assert_genman_packaged(m)
    # In the guest, not host-prepared: the profile names the old kernel by its path,
    # and profile paths are read on the machine that runs genman.
    seconds = switch(m, COMBO, "old-kernel", timeout=900)
    print(f"[vm] {COMBO.id}: switch storing 395 MB of modules took {seconds:.1f}s")
    switch(m, COMBO, "gen2")
    m.succeed("test -d /var/lib/genman/generations/1/kernel-modules/kernel")
    purge = m.succeed(
        f"DEBIAN_FRONTEND=noninteractive apt-get purge -y {OLD_KERNEL_PACKAGE} 2>&1", timeout=300
    )
    hook = f"genman: kernel {OLD_KERNEL_VERSION} was removed; generation 1 boots it and still does:"
    assert hook in purge, f"genman's postrm.d hook did not speak:\n{purge}"
    assert "each keeps its own copy (kernel, initrd, modules) in /var/lib/genman/store" in purge
    m.succeed(
        f"test ! -e /lib/modules/{OLD_KERNEL_VERSION}"
        f" && test ! -e /boot/vmlinuz-{OLD_KERNEL_VERSION}"
    )

    reboot_into(m, COMBO, generation=1)
    assert_booted(m, COMBO, 1, "profile old-kernel")
    assert m.succeed("uname -r").strip() == OLD_KERNEL_VERSION
    # The ESP is vfat, a module: mounted means the initrd/modules of this kernel worked.
    assert m.succeed("findmnt -no FSTYPE /boot/efi").strip() == "vfat"
    for mod in PROBE_MODULES:
        m.succeed(f"modprobe {mod} && grep -q '^{mod} ' /proc/modules")
    m.succeed(
        "systemctl is-system-running --wait || systemctl --failed --no-legend | (! grep .)",
        timeout=120,
    )

    # The newest generation, on the kernel that is still installed, is unaffected.
    reboot_into(m, COMBO, expect_default=2)
    assert_booted(m, COMBO, 2, "profile 2")
    assert m.succeed("uname -r").strip() != OLD_KERNEL_VERSION
    m.shutdown()
