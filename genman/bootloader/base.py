"""The interface every bootloader backend implements, and the data it plans from.

A backend is one module (systemd_boot, grub, none) that owns its files. Planning is pure:
`probe.read_state` first reads everything the backend named in `files()` into a frozen
BootState, then the backend's `plan_*` methods decide from it alone; `execute_boot` writes.
Boot counting (tries left per entry) belongs in the backends too: systemd-boot by the
`+tries` suffix of the entry name it plans, GRUB by grubenv variables it plans with the
default; both are file actions like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from genman.bootloader.entries import GenBoot
from genman.bootloader.model import Action, DeleteFile, Kind, Phase, WriteFile
from genman.bootloader.probe import BootTarget, FsInfo
from genman.context import Options
from genman.health.counting import fallback_of
from genman.state import Markers


@dataclass(frozen=True)
class BootFiles:
    """Where a backend's files live for one target: what the probe must read."""

    files_dir: Path | None  # store-named kernels and initrds copied here (None: none)
    where: str  # "ESP" or "/boot", for messages
    texts: tuple[Path, ...] = ()  # files whose current text the plan compares or edits
    entries_dir: Path | None = None  # every file in it is read (entries on disk)
    fs_paths: tuple[Path, ...] = ()  # paths whose file system (type, UUID) matters
    dirs: tuple[Path, ...] = ()  # stray temps of a crashed run are removed here first


@dataclass(frozen=True)
class BootOnceRecord:
    """/var/lib/genman/boot-once: a file-based one-shot boot (systemd-boot under --root)."""

    path: Path
    size: int
    entry: int | None
    default: int | None
    boot_id: str | None


@dataclass(frozen=True)
class BootState:
    """Everything a boot plan is decided from, read once by `probe.read_state`."""

    target: BootTarget
    files: BootFiles
    live: bool
    store: Path  # host path of the store directory
    boot_once_file: Path  # host path of the one-shot record
    markers: Markers
    boot_id: str | None
    texts: Mapping[Path, str | None] = field(default_factory=dict)  # None: absent
    executable: frozenset[Path] = frozenset()  # those of `texts` that may be run
    entry_files: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # name -> text, size
    existing: Mapping[str, int] = field(default_factory=dict)  # boot files in files_dir
    sizes: Mapping[Path, int] = field(default_factory=dict)  # store files that exist
    fs: Mapping[Path, FsInfo] = field(default_factory=dict)
    block: int = 4096
    free: int = 0
    boot_once: BootOnceRecord | None = None
    gens: tuple[GenBoot, ...] = ()  # the generations to plan entries for (with a kernel)
    gen_warnings: tuple[str, ...] = ()  # generations that get no entry, and why
    damaged: tuple[int, ...] = ()  # retained but unreadable: their entries on disk stay
    update_grub: tuple[str, ...] = ("update-grub",)  # what regenerates the host's grub.cfg
    good: frozenset[int] = frozenset()  # generations marked good (genman.health.state)
    failed: frozenset[int] = frozenset()  # generations marked failed

    def fallback(self, default: int | None) -> int | None:
        """Where the loader should go when `default` runs out of boot tries."""
        return fallback_of(default, self.good, self.failed, self.markers.booted,
                           self.markers.active)

    def text(self, path: Path) -> str | None:
        return self.texts.get(path)


@dataclass
class Draft:
    """What a backend wants; `planner.finish` turns it into a BootPlan."""

    kind: Kind
    files_dir: Path
    where: str
    fs_root: Path  # the file system checked for space and synced at the end
    wanted: dict[str, Path] = field(default_factory=dict)  # boot file name -> source
    file_of: Callable[[GenBoot], set[str]] = lambda g: set()
    writes: list[WriteFile] = field(default_factory=list)
    deletes: list[DeleteFile] = field(default_factory=list)
    current_refs: set[str] = field(default_factory=set)  # files named by entries on disk
    kept: set[str] = field(default_factory=set)  # files of damaged generations' kept entries
    entries: tuple[int, ...] = ()
    dirs: tuple[Path, ...] = ()
    warnings: list[str] = field(default_factory=list)

    def write_if_changed(self, state: BootState, path: Path, text: str, what: str,
                         phase: Phase) -> None:
        if state.text(path) != text:
            self.writes.append(WriteFile(path, text, what, phase))


def kernel_files(g: GenBoot) -> set[str]:
    return {g.kernel} | ({g.initrd} if g.initrd else set())


class Bootloader(Protocol):
    kind: Kind

    def files(self, opts: Options, target: BootTarget) -> BootFiles:
        """Which files this backend owns and reads for `target` (pure)."""
        ...

    def plan(self, state: BootState, gens: list[GenBoot], default: int | None) -> Draft:
        """Entries for `gens`, `default` as the boot default (None: leave it)."""
        ...

    def entry_numbers(self, state: BootState) -> set[int]:
        """Generations that have an entry on disk now."""
        ...

    def plan_boot_once(self, state: BootState, number: int) -> tuple[list[Action], str]:
        """Actions that boot generation `number` at the next boot only, and a message."""
        ...

    def plan_finish_boot_once(self, state: BootState) -> list[Action]:
        """After the one-shot boot: the default is the default again."""
        ...

    def plan_install(self, state: BootState) -> tuple[list[Action], tuple[str, ...]]:
        """`genman bootloader install`: hook files, commands, and notes for the user."""
        ...
