"""Scenario 6: a second kernel comes and goes with apt, and every retained generation
still boots from the menu, with working kernel modules. The guest holds an older kernel's
package (trees.OLD_KERNEL_DEB), not installed. Generation 1 is made on the distro kernel;
`apt-get install` of the second kernel runs genman's hook (/etc/kernel/postinst.d/zz-genman,
from the .deb), which says which generation boots which kernel; generation 2 boots the
second kernel; `apt-get purge` of it takes its /boot files and /lib/modules away, and the
postrm.d hook must say that generation 2 boots that kernel and still does.
genman keeps the kernel, initrd and modules with the generation (profile.py
`keep_modules`, generation `kernel-modules`); booting generation 2 must still find them:
`modprobe` of a module that is not loaded yet, and the ESP (vfat, a module) mounted."""

from __future__ import annotations

import pytest
from vmlib.images import Combo
from vmlib.machine import Machine
from vmlib.scenario import assert_booted, assert_genman_packaged, boot_menu, reboot_into, switch
from vmlib.trees import OLD_KERNEL_DEB, OLD_KERNEL_PACKAGE, OLD_KERNEL_VERSION

pytestmark = pytest.mark.vm

COMBO = Combo("uefi", "systemd-boot")
# Modules the guest does not load by itself; each is a plain .ko in Debian's kernel.
PROBE_MODULES = ("dummy", "veth")


def test_kernels_installed_and_purged_with_apt_leave_every_generation_bootable(
    image_factory, machines
) -> None:
    m = machines(COMBO, image_factory(COMBO))
    m.start()
    boot_menu(m)
    assert_genman_packaged(m)
    distro_kernel = m.succeed("uname -r").strip()
    assert distro_kernel != OLD_KERNEL_VERSION
    switch(m, COMBO, "gen2")

    install = apt_get(m, f"install -y --no-install-recommends {OLD_KERNEL_DEB}")
    assert f"Setting up {OLD_KERNEL_PACKAGE} " in install, install
    for line in (
        f"genman: kernel {OLD_KERNEL_VERSION} installed; every generation keeps booting its"
        " own stored kernel:",
        f"genman:   kernel {distro_kernel}: generation 1 (1 is the boot default)",
        f"genman: to make a generation with {OLD_KERNEL_VERSION}:",
    ):
        assert line in install, f"genman's postinst.d hook did not say {line!r}:\n{install}"
    # The initrd that update-initramfs made in the guest carries genman's packaged hook.
    m.succeed(
        f"lsinitramfs /boot/initrd.img-{OLD_KERNEL_VERSION} | grep -q 'scripts/local-bottom/genman'"
    )

    # In the guest, not host-prepared: the profile names the second kernel by its path,
    # and profile paths are read on the machine that runs genman.
    seconds = switch(m, COMBO, "old-kernel", timeout=900)
    print(f"[vm] {COMBO.id}: switch storing 395 MB of modules took {seconds:.1f}s")
    m.succeed("test -d /var/lib/genman/generations/2/kernel-modules/kernel")
    purge = apt_get(m, f"purge -y {OLD_KERNEL_PACKAGE}")
    hook = f"genman: kernel {OLD_KERNEL_VERSION} was removed; generation 2 boots it and still does:"
    assert hook in purge, f"genman's postrm.d hook did not speak:\n{purge}"
    assert "each keeps its own copy (kernel, initrd, modules) in /var/lib/genman/store" in purge
    m.succeed(
        f"test ! -e /lib/modules/{OLD_KERNEL_VERSION}"
        f" && test ! -e /boot/vmlinuz-{OLD_KERNEL_VERSION}"
    )

    # Generation 2, the default, on the purged kernel, from its copy in the store.
    reboot_into(m, COMBO, expect_default=2)
    assert_booted(m, COMBO, 2, "profile old-kernel")
    assert m.succeed("uname -r").strip() == OLD_KERNEL_VERSION
    # The ESP is vfat, a module: mounted means the initrd/modules of this kernel worked.
    assert m.succeed("findmnt -no FSTYPE /boot/efi").strip() == "vfat"
    for mod in PROBE_MODULES:
        m.succeed(f"modprobe {mod} && grep -q '^{mod} ' /proc/modules")
    m.succeed(
        "systemctl is-system-running --wait || systemctl --failed --no-legend | (! grep .)",
        timeout=120,
    )

    # Generation 1, picked from the menu, on the distro kernel that is still installed.
    reboot_into(m, COMBO, generation=1)
    assert_booted(m, COMBO, 1, "profile 2")
    assert m.succeed("uname -r").strip() == distro_kernel
    m.shutdown()


def apt_get(m: Machine, args: str) -> str:
    """apt-get in the guest, output (stderr too: the kernel hooks write there). Under TCG
    an initrd of every storage module (MODULES=most, gzip: the guest has no zstd) takes
    10 minutes, so for this command the new kernel's initrd holds what this machine needs
    (MODULES=dep, as a small VPS would set), and the initramfs-tools trigger
    (update-initramfs -u: the running kernel's initrd again, unchanged) is held off."""
    conf = "/etc/initramfs-tools/update-initramfs.conf"
    dep = "/etc/initramfs-tools/conf.d/zz-vm-tests-modules"
    return m.succeed(
        f"cp {conf} /tmp/uic && echo update_initramfs=no >> {conf} && echo MODULES=dep > {dep}"
        f" && DEBIAN_FRONTEND=noninteractive apt-get {args} 2>&1; rc=$?; cp /tmp/uic {conf};"
        f" rm -f {dep}; exit $rc",
        timeout=900,
    )
