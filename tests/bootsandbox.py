"""The bootloader sandbox the bootloader, GRUB, systemd-boot, prune and gc tests share."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from genman import fsutil
from genman.context import BootloaderChoice, Options
from genman.layout import Layout

REPO = Path(__file__).resolve().parent.parent
BOOTCTL_CACHE = Path(os.environ.get("GENMAN_BOOTCTL_CACHE",
                                    Path.home() / ".cache/genman/systemd-boot"))


class Sandbox:
    """A --root tree with a sandbox ESP (systemd-boot installed) and a kernel to build."""

    def __init__(self, tmp: Path, root: Path, genman: Callable[..., object]) -> None:
        self.tmp = tmp
        self.root = root
        self.genman = genman
        self.esp = root / "boot/efi"
        self.kernel = tmp / "vmlinuz-6.1.0-28-amd64"
        self.initrd = tmp / "initrd.img-6.1.0-28-amd64"
        self.profile = tmp / "profile.toml"
        self.set_kernel(b"K" * 5000, b"I" * 3000)

    def set_kernel(self, image: bytes, initrd: bytes, version: str = "6.1.0-28-amd64") -> None:
        self.kernel = self.tmp / f"vmlinuz-{version}"
        self.initrd = self.tmp / f"initrd.img-{version}"
        self.kernel.write_bytes(image)
        self.initrd.write_bytes(initrd)

    def install_systemd_boot(self, esp: Path | None = None) -> None:
        esp = esp or self.esp
        (esp / "EFI/systemd").mkdir(parents=True, exist_ok=True)
        (esp / "EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")

    def write_profile(self, description: str, *, kernel: bool = True,
                      params: str = '["console=ttyS0", "quiet"]') -> Path:
        text = f'[system]\nhostname = "fra1"\ndescription = "{description}"\n'
        if kernel:
            text += (f'[kernel]\nimage = "{self.kernel}"\ninitrd = "{self.initrd}"\n'
                     f"params = {params}\n")
        self.profile.write_text(text)
        return self.profile

    def build(self, description: str, **kw: object) -> int:
        self.write_profile(description, **kw)  # type: ignore[arg-type]
        r = self.genman("--root", self.root, "build", self.profile)
        assert r.code == 0, r.err  # type: ignore[attr-defined]
        return int(r.out.split()[-1])  # type: ignore[attr-defined]

    def build_many(self, count: int) -> list[int]:
        return [self.build(f"generation {i}") for i in range(count)]

    def opts(self, **kw: object) -> Options:
        return Options(Layout.for_root(self.root), **kw)  # type: ignore[arg-type]

    def set_link(self, name: str, number: int) -> None:
        layout = Layout.for_root(self.root)
        link = {"default": layout.default_link, "active": layout.active_link,
                "booted": layout.booted_link}[name]
        fsutil.atomic_symlink(str(layout.generation(number)), layout.host(link))

    def entries(self, esp: Path | None = None) -> list[str]:
        d = (esp or self.esp) / "loader/entries"
        return sorted(os.listdir(d)) if d.is_dir() else []

    def boot_files(self, d: Path) -> list[str]:
        return sorted(os.listdir(d)) if d.is_dir() else []


def grub_opts(sb: Sandbox) -> Options:
    return sb.opts(bootloader=BootloaderChoice.GRUB)


def snapshot(path: Path) -> dict[str, bytes | str]:
    """Every file and link below path with its content, to compare before/after."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(path))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "dir"
    return out


def can_mount_tmpfs(where: Path) -> str | None:
    """None when a tmpfs can be mounted here, else why not (probed by trying)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        return "no mount command"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"cannot mount a tmpfs here: {r.stderr.strip()}"
    subprocess.run(["umount", str(where)], check=True)
    return None


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    reason = can_mount_tmpfs(where)
    if reason is not None:
        pytest.skip(reason)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def find_bootctl() -> str | None:
    for cand in (BOOTCTL_CACHE / "usr/bin/bootctl", REPO / ".cache/systemd-boot/usr/bin/bootctl"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which("bootctl")
