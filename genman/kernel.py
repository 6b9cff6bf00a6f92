"""Finding a generation's kernel: "current", "latest" or a path, and its version."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from genman.errors import GenmanError
from genman.layout import Layout

_VMLINUZ = re.compile(r"^vmlinu[xz]-(.+)$")


def version_key(version: str) -> list[tuple[int, object]]:
    """Sort key like `sort -V`: numbers compare as numbers."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", version) if p]


def bzimage_version(path: Path) -> str | None:
    """The version string an x86 bzImage carries in its setup header, if any."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x4000)
    except OSError:
        return None
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        return None
    offset = int.from_bytes(head[0x20E:0x210], "little")
    if offset == 0:
        return None
    start = 0x200 + offset
    chunk = head[start : start + 256]
    text = chunk.split(b"\0", 1)[0].decode("ascii", errors="replace")
    return text.split(" ", 1)[0] or None


def image_version(path: Path) -> str:
    m = _VMLINUZ.match(path.name)
    if m:
        return m.group(1)
    return bzimage_version(path) or "unknown"


def _installed(layout: Layout) -> list[tuple[str, Path]]:
    """The target's /boot/vmlinuz-* as (version, host path), links followed inside the root."""
    try:
        names = os.listdir(layout.resolve("/boot"))
    except OSError:
        return []
    found = []
    for n in names:
        m = _VMLINUZ.match(n)
        path = layout.resolve(f"/boot/{n}")
        if m and path.is_file():
            found.append((m.group(1), path))
    return sorted(found, key=lambda vp: version_key(vp[0]))


def target_initrd(layout: Layout, version: str) -> Path | None:
    """The target's initrd for `version` in /boot, links followed inside the root."""
    for name in (f"initrd.img-{version}", f"initramfs-{version}.img", f"initrd-{version}"):
        candidate = layout.resolve(f"/boot/{name}")
        if candidate.is_file():
            return candidate
    return None


def resolve_image(layout: Layout, value: str, declared_in: Path) -> tuple[Path, str, bool]:
    """(host path of the image, kernel version, whether it was looked up on the target)."""
    boot = layout.host("/boot")
    if value == "latest":
        installed = _installed(layout)
        if not installed:
            raise GenmanError(
                f"{declared_in}: [kernel] image: \"latest\" found no vmlinuz-* in {boot}",
                hint="install a kernel on the target or give the image's path",
            )
        version, path = installed[-1]
        return path, version, True
    if value == "current":
        release = platform.release()
        path = layout.resolve(f"/boot/vmlinuz-{release}")
        if not path.is_file():
            raise GenmanError(
                f"{declared_in}: [kernel] image: \"current\" is {release}, but {path} is missing",
                hint='use "latest" or the path of the kernel image',
            )
        return path, release, True
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = declared_in.parent / path
    if not path.is_file():
        raise GenmanError(
            f"{declared_in}: [kernel] image: {path} does not exist",
            hint='fix the path, or use "current" / "latest" to take it from the target\'s /boot',
        )
    return path, image_version(path), False


def matching_initrd(image: Path, version: str) -> Path | None:
    for name in (f"initrd.img-{version}", f"initramfs-{version}.img", f"initrd-{version}"):
        candidate = image.parent / name
        if candidate.is_file():
            return candidate
    return None
