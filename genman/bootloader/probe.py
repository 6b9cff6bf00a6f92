"""Finding the ESP, /boot and the bootloader in use: the only place the bootloader code
asks the system (mount table, udev, sysfs).

Under `--root` other than `/`, nothing outside the root is probed: only mounts at or below
the root count, and the bootloader is recognised by its files inside the root (or the
directories given with --esp / --boot-dir).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from genman.bootloader.model import Kind
from genman.context import BootloaderChoice, Options
from genman.errors import GenmanError

log = logging.getLogger(__name__)

ESP_GUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
ESP_MOUNTS = ("/boot/efi", "/efi", "/boot")
# File systems GRUB reads kernels from (its ext2 module covers ext3/ext4).
GRUB_MODULE = {
    "ext2": "ext2", "ext3": "ext2", "ext4": "ext2", "btrfs": "btrfs", "xfs": "xfs",
    "vfat": "fat", "f2fs": "f2fs", "jfs": "jfs", "hfsplus": "hfsplus", "ntfs": "ntfs",
}
_UUID_OK = re.compile(r"^[0-9A-Za-z-]+$")
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Mount:
    point: Path
    fstype: str
    source: str
    dev: str  # "major:minor"
    # The directory of the file system mounted here: "/" for a whole file system; for a
    # bind mount (genman's read-only store) or a btrfs subvolume, the path inside it.
    fsroot: str = "/"


@dataclass(frozen=True)
class FsInfo:
    """The file system holding a path: where its root is (host path), what it is."""

    mount: Path
    fstype: str | None = None
    uuid: str | None = None
    # On a device-mapper (LUKS, LVM) or md RAID device: GRUB reads those only with modules
    # its core image may lack, so kernels are copied to /boot instead.
    layered: bool = False
    fsroot: str = "/"  # see Mount.fsroot: what the bootloader sees at `mount`

    @property
    def grub_module(self) -> str | None:
        """The GRUB module that reads it, or None when GRUB cannot (or it is unknown)."""
        if self.layered or self.fstype is None:
            return None
        return GRUB_MODULE.get(self.fstype)

    def loader_path(self, host_path: Path) -> str:
        """The path a bootloader reading this file system raw gives for host_path."""
        inside = str(host_path.relative_to(self.mount)).removeprefix(".").lstrip("/")
        return "/" + "/".join(p for p in (self.fsroot.strip("/"), inside) if p)


@dataclass(frozen=True)
class BootTarget:
    kind: Kind
    esp: Path | None = None  # host path of the ESP's root
    boot_dir: Path | None = None  # host path of the target's /boot
    machine_id: str | None = None
    reason: str = ""  # why kind is NONE
    installed: bool = False  # systemd-boot: its EFI binary is on the ESP


def _unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def read_mounts(path: str = "/proc/self/mountinfo") -> list[Mount]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 2:
            continue
        mounts.append(Mount(Path(_unescape(fields[4])), rfields[0], _unescape(rfields[1]),
                            fields[2], _unescape(fields[3])))
    return mounts


def _within(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


class Probe:
    """Answers about the target's file systems, honouring the --root rule."""

    def __init__(self, opts: Options, mounts: list[Mount] | None = None) -> None:
        self.opts = opts
        self.root = opts.layout.root
        all_mounts = read_mounts() if mounts is None else mounts
        if opts.layout.is_live:
            self.mounts = all_mounts
        else:
            self.mounts = [m for m in all_mounts if _within(m.point, self.root)]

    def mount_of(self, path: Path) -> Mount | None:
        path = Path(os.path.abspath(path))
        best: Mount | None = None
        for m in self.mounts:  # later entries over-mount earlier ones
            if _within(path, m.point) and (best is None or len(m.point.parts) >= len(
                    best.point.parts)):
                best = m
        return best

    def fs_of(self, path: Path) -> FsInfo:
        m = self.mount_of(path)
        if m is None:
            # Nothing known: the root is the file system's root, or a directory given
            # outside it (--boot-dir) is taken to be the root of its own file system.
            base = self.root if _within(path, self.root) else path
            return FsInfo(base)
        return FsInfo(m.point, m.fstype, self._uuid(m), self._is_layered(m.dev), m.fsroot)

    def _udev_props(self, dev: str) -> dict[str, str]:
        try:
            import pyudev

            major, minor = (int(x) for x in dev.split(":"))
            d = pyudev.Devices.from_device_number(pyudev.Context(), "block",
                                                  os.makedev(major, minor))
            return {str(k): str(d.properties[k]) for k in d.properties}
        except Exception as e:  # noqa: BLE001 - no udev (container, sandbox): fall back
            log.debug("udev has nothing for %s: %s", dev, e)
            return {}

    def _uuid(self, m: Mount) -> str | None:
        uuid = self._udev_props(m.dev).get("ID_FS_UUID")
        if not uuid:
            by_uuid = Path("/dev/disk/by-uuid")
            try:
                for link in by_uuid.iterdir():
                    st = os.stat(link)
                    if f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" == m.dev:
                        uuid = link.name
                        break
            except OSError:
                pass
        return uuid if uuid and _UUID_OK.match(uuid) else None

    def _is_layered(self, dev: str) -> bool:
        sys_dev = Path("/sys/dev/block") / dev
        return (sys_dev / "dm").is_dir() or (sys_dev / "md").is_dir()

    def _is_esp(self, path: Path) -> bool:
        if not path.is_dir():
            return False
        m = self.mount_of(path)
        if m is not None and m.point == path:
            props = self._udev_props(m.dev)
            if props.get("ID_PART_ENTRY_TYPE", "").lower() == ESP_GUID:
                return True
            if m.fstype in ("vfat", "msdos"):
                return (path / "EFI").is_dir()
        # A tree under --root (or a mount udev knows nothing of): one that looks like an ESP.
        return (path / "EFI").is_dir() or (path / "loader").is_dir()

    def find_esp(self) -> Path | None:
        if self.opts.esp is not None:
            return self.opts.esp
        for mp in ESP_MOUNTS:
            host = self.opts.layout.host(mp)
            if mp == "/boot" and not (host / "EFI").is_dir():
                continue
            if self._is_esp(host):
                return host
        return None

    def boot_dir(self) -> Path:
        return self.opts.boot_dir or self.opts.layout.host("/boot")

    def machine_id(self) -> str | None:
        try:
            mid = self.opts.layout.host("/etc/machine-id").read_text().strip()
        except OSError:
            return None
        return mid if _MACHINE_ID.match(mid) else None


def has_systemd_boot(esp: Path) -> bool:
    d = esp / "EFI/systemd"
    try:
        return any(n.startswith("systemd-boot") and n.lower().endswith(".efi")
                   for n in os.listdir(d))
    except OSError:
        return False


def has_grub(boot_dir: Path, esp: Path | None) -> bool:
    if (boot_dir / "grub/grub.cfg").is_file() or (boot_dir / "grub").is_dir():
        return True
    if esp is not None:
        try:
            return any((esp / "EFI" / d / "grubx64.efi").is_file()
                       for d in os.listdir(esp / "EFI"))
        except OSError:
            return False
    return False


def detect(opts: Options, probe: Probe | None = None) -> BootTarget:
    """Which bootloader gets the entries, and where its files are."""
    p = probe or Probe(opts)
    choice = opts.bootloader
    if choice is BootloaderChoice.NONE:
        return BootTarget(Kind.NONE, reason="--bootloader none")
    esp = p.find_esp()
    boot = p.boot_dir()
    mid = p.machine_id()
    if choice is BootloaderChoice.SYSTEMD_BOOT:
        if esp is None:
            raise GenmanError("--bootloader systemd-boot, but no EFI system partition found",
                              hint="mount it (e.g. at /boot/efi) or give --esp DIR")
        return BootTarget(Kind.SYSTEMD_BOOT, esp=esp, boot_dir=boot, machine_id=mid,
                          installed=has_systemd_boot(esp))
    if choice is BootloaderChoice.GRUB:
        return BootTarget(Kind.GRUB, esp=esp, boot_dir=boot, machine_id=mid)
    if esp is not None and has_systemd_boot(esp):
        return BootTarget(Kind.SYSTEMD_BOOT, esp=esp, boot_dir=boot, machine_id=mid,
                          installed=True)
    if has_grub(boot, esp):
        return BootTarget(Kind.GRUB, esp=esp, boot_dir=boot, machine_id=mid)
    where = f"under {opts.layout.root}" if not opts.layout.is_live else "on this system"
    return BootTarget(
        Kind.NONE,
        reason=f"no bootloader found {where} (no systemd-boot on an ESP, no {boot}/grub): "
               "no boot entries written; give --bootloader (and --esp/--boot-dir) to write them",
    )
