"""What a boot plan is made of: the entries genman wants, and small file actions.

A BootPlan is computed without changing anything (`genman.bootloader.planner`) and carried
out by `genman.bootloader.execute`; `--dry-run` prints `describe()` of the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Kind(StrEnum):
    SYSTEMD_BOOT = "systemd-boot"
    GRUB = "grub"
    NONE = "none"


class Phase(StrEnum):
    """Execution order (DESIGN rule 3): boot files, entries, default, deletions last."""

    CLEAN = "clean"  # files no entry on disk names (left by a crash): nothing boots from them
    FILES = "files"
    ENTRIES = "entries"
    DEFAULT = "default"
    DELETE = "delete"


PHASE_ORDER = tuple(Phase)


@dataclass(frozen=True)
class BootEntry:
    """One generation's entry, with paths as the bootloader sees them (loader paths)."""

    number: int
    title: str
    version: str
    linux: str  # loader path of the kernel
    initrd: str | None
    params: tuple[str, ...]  # the kernel command line, one item per parameter
    machine_id: str | None = None
    sort_key: str = "genman-3"  # systemd-boot: the menu's order, and so the default
    fs_uuid: str | None = None  # GRUB: the file system holding linux/initrd
    modules: tuple[str, ...] = ()  # GRUB: file system modules to insmod

    @property
    def options(self) -> str:
        return " ".join(self.params)


@dataclass(frozen=True)
class CopyFile:
    src: Path
    dst: Path
    size: int
    where: str  # "ESP" or "/boot", for messages
    phase: Phase = Phase.FILES

    def describe(self) -> str:
        return f"copy {self.src} -> {self.dst} ({human(self.size)} on {self.where})"


@dataclass(frozen=True)
class WriteFile:
    path: Path
    text: str
    what: str  # "entry", "menu", "default", "hook"
    phase: Phase = Phase.ENTRIES
    mode: int | None = None  # None: leave it to the file system (FAT refuses chmod)

    def describe(self) -> str:
        return f"write {self.path} ({self.what})"


@dataclass(frozen=True)
class DeleteFile:
    path: Path
    size: int
    where: str
    phase: Phase = Phase.DELETE

    def describe(self) -> str:
        return f"delete {self.path} ({human(self.size)} on {self.where})"


@dataclass(frozen=True)
class RunCommand:
    """A bootloader tool run once (bootctl set-oneshot, update-grub): live roots only."""

    argv: tuple[str, ...]
    why: str
    phase: Phase = Phase.DEFAULT

    def describe(self) -> str:
        return f"run {' '.join(self.argv)} ({self.why})"


Action = CopyFile | WriteFile | DeleteFile | RunCommand


@dataclass(frozen=True)
class BootPlan:
    kind: Kind
    actions: tuple[Action, ...] = ()
    entries: tuple[int, ...] = ()  # generations that have an entry once the plan ran
    default: int | None = None
    warnings: tuple[str, ...] = ()
    # Directories whose stray temp files (from a crashed run) are removed first, and the
    # file systems synced at the end.
    dirs: tuple[Path, ...] = ()
    sync: tuple[Path, ...] = field(default=())

    def describe(self) -> list[str]:
        """The actions; `warnings` are told apart (the command warns them when planned)."""
        if self.kind is Kind.NONE:
            return ["boot entries: none (no bootloader)"]
        if not self.actions:
            return [f"boot entries ({self.kind}): up to date"]
        return [f"boot entries ({self.kind}):", *(f"  {a.describe()}" for a in self.actions)]

    def freed(self) -> dict[str, int]:
        """Bytes the deletions free, by where."""
        out: dict[str, int] = {}
        for a in self.actions:
            if isinstance(a, DeleteFile):
                out[a.where] = out.get(a.where, 0) + a.size
        return out


def human(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"
