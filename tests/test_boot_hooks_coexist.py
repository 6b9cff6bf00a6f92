"""genman's boot entries live beside Debian's own boot machinery, which runs on every kernel
install and removal: update-grub (the real grub-mkconfig, with genman's /etc/grub.d hook
among the host's own grub.d scripts) keeps loading genman's menu and never rewrites it, and
Debian's systemd-boot kernel hooks (/etc/kernel/postinst.d and postrm.d/zz-systemd-boot from
the systemd-boot package, calling the real kernel-install) add and remove only their own
entry. Each runs in a private mount namespace, so the host's /boot, /etc/grub.d and ESP
are never touched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bootsandbox import BOOTCTL_CACHE, Sandbox

HOST_GRUB_D = Path("/etc/grub.d")
MACHINE_ID = "0123456789abcdef0123456789abcdef"


def in_namespace(script: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) in a private mount namespace; skip where none can be made."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare is missing: apt install util-linux")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()}")
    driver = tmp / "driver.sh"
    driver.write_text("set -eu\n" + script)
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", str(driver)],
                          capture_output=True, text=True, check=False)


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: tools/bootstrap.sh --test installs it")


def test_update_grub_keeps_loading_genmans_menu(tmp_path: Path, root: Path,
                                                genman: Callable[..., object]) -> None:
    need("grub-mkconfig", "grub-script-check")
    sb = Sandbox(tmp_path, root, genman)
    sb.build_many(3)
    sb.set_link("default", 3)
    r = genman("--root", root, "--bootloader", "grub", "bootloader", "install")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    (root / "boot/vmlinuz-6.1.0-28-amd64").write_bytes(b"K" * 100)  # Debian's own kernel
    (root / "boot/grub").mkdir()
    menu = root / "boot/genman/grub.cfg"
    before = menu.read_bytes()
    # The host's own grub.d scripts, with genman's hook as `genman bootloader install` wrote it.
    grub_d = tmp_path / "grub.d"
    grub_d.mkdir()
    for src in (*(HOST_GRUB_D / n for n in ("00_header", "10_linux", "40_custom")),
                root / "etc/grub.d/09_genman"):
        (grub_d / src.name).write_bytes(src.read_bytes())
        (grub_d / src.name).chmod(0o755)
    defaults = tmp_path / "default-grub.d"
    defaults.mkdir()
    (defaults / "test.cfg").write_text('GRUB_DEFAULT=saved\nGRUB_TIMEOUT=5\n'
                                       'GRUB_DISTRIBUTOR=Debian\nGRUB_CMDLINE_LINUX=""\n')
    # update-grub is `grub-mkconfig -o /boot/grub/grub.cfg`; /boot is the sandbox's here.
    r2 = in_namespace(
        f'mount --bind "{root}/boot" /boot\n'
        f'mount --bind "{grub_d}" /etc/grub.d\n'
        # The host's own GRUB settings stay out where they can (and nothing is created).
        f'if [ -d /etc/default/grub.d ]; then mount --bind "{defaults}" /etc/default/grub.d; fi\n'
        "grub-mkconfig -o /boot/grub/grub.cfg\n", tmp_path)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    cfg = (root / "boot/grub/grub.cfg").read_text()
    genman_at = cfg.index("### BEGIN /etc/grub.d/09_genman ###")
    debian_at = cfg.index("### BEGIN /etc/grub.d/10_linux ###")
    assert genman_at < debian_at  # genman's entries first, Debian's below as a safety net
    block = cfg[genman_at:debian_at]
    assert 'source "${genman_dir}/grub.cfg"' in block
    assert "vmlinuz-6.1.0-28-amd64" in cfg[debian_at:]
    subprocess.run(["grub-script-check", str(root / "boot/grub/grub.cfg")], check=True)
    assert menu.read_bytes() == before  # update-grub never rewrites genman's menu
    assert all(f"--id genman-{n}" in before.decode() for n in (1, 2, 3))


def test_debians_systemd_boot_hooks_leave_genmans_entries(
        tmp_path: Path, root: Path, genman: Callable[..., object]) -> None:
    bootctl = BOOTCTL_CACHE / "usr/bin/bootctl"
    hooks = {h: BOOTCTL_CACHE / f"etc/kernel/{h}/zz-systemd-boot"
             for h in ("postinst.d", "postrm.d")}
    if not bootctl.is_file() or not all(p.is_file() for p in hooks.values()):
        pytest.fail("Debian's systemd-boot is not unpacked: run tools/fetch-bootctl.sh")
    need("kernel-install")
    sb = Sandbox(tmp_path, root, genman)
    sb.build_many(2)
    sb.set_link("default", 2)
    esp = tmp_path / "esp"
    esp.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # bootctl finds the sandbox ESP only when told; it is otherwise Debian's own binary.
    (bin_dir / "bootctl").write_text(
        f'#!/bin/sh\nSYSTEMD_RELAX_ESP_CHECKS=1 exec "{bootctl}" --esp-path="{esp}" "$@"\n')
    (bin_dir / "bootctl").chmod(0o755)
    conf = tmp_path / "kernel-conf"
    conf.mkdir()
    (conf / "install.conf").write_text("layout=bls\n")
    (conf / "cmdline").write_text("root=/dev/vda ro quiet\n")
    # The hooks test `-x /usr/bin/bootctl`; this host has the package unpacked, not installed.
    copies = {}
    for h, src in hooks.items():
        text = src.read_text()
        assert "test -x /usr/bin/bootctl || exit 0" in text
        copies[h] = tmp_path / f"{h}-zz-systemd-boot"
        copies[h].write_text(text.replace("/usr/bin/bootctl", str(bootctl)))
    kernel = tmp_path / "vmlinuz-6.1.0-30-amd64"
    kernel.write_bytes(b"N" * 4000)
    genman_cmd = f'genman() {{ "{sys.executable}" -m genman "$@"; }}'
    r = in_namespace(
        f'mount -t tmpfs -o size=16m tmpfs "{esp}"\n'
        f'mkdir -p "{esp}/EFI/systemd"; printf MZ > "{esp}/EFI/systemd/systemd-bootx64.efi"\n'
        f"{genman_cmd}\n"
        f'genman --root "{root}" --bootloader systemd-boot --esp "{esp}" bootloader install\n'
        f'cp -a "{esp}/loader" "{tmp_path}/loader.genman"\n'
        f'export PATH="{bin_dir}:$PATH" BOOT_ROOT="{esp}" KERNEL_INSTALL_CONF_ROOT="{conf}"\n'
        f"export KERNEL_INSTALL_MACHINE_ID={MACHINE_ID}\n"
        # The plugins that write to the ESP (50-depmod acts on /lib/modules only).
        "export KERNEL_INSTALL_PLUGINS='/usr/lib/kernel/install.d/90-loaderentry.install'\n"
        f'sh "{copies["postinst.d"]}" 6.1.0-30-amd64 "{kernel}"\n'
        f'ls "{esp}/loader/entries" > "{tmp_path}/after-install"\n'
        f'bootctl --no-variables --no-pager list --json=short > "{tmp_path}/bootctl-list"\n'
        f'sh "{copies["postrm.d"]}" 6.1.0-30-amd64 "{kernel}"\n'
        f'ls "{esp}/loader/entries" > "{tmp_path}/after-remove"\n'
        f'diff -r "{tmp_path}/loader.genman" "{esp}/loader"\n', tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Installing kernel version 6.1.0-30-amd64 in systemd-boot" in r.stdout
    installed = (tmp_path / "after-install").read_text().split()
    assert "genman-1.conf" in installed and "genman-2.conf" in installed
    debian_entries = [e for e in installed if e.endswith("-6.1.0-30-amd64.conf")]
    assert len(debian_entries) == 1, installed  # the hook really added its own entry
    listed = (tmp_path / "bootctl-list").read_text()
    assert '"id":"genman-2.conf"' in listed and debian_entries[0] in listed
    assert (tmp_path / "after-remove").read_text().split() == ["genman-1.conf",
                                                              "genman-2.conf"]
    # diff -r above: genman's loader.conf and entries are byte for byte what genman wrote.
