"""execute_boot: carry out a BootPlan in DESIGN rule 3 order (the plan is ordered): boot
files, entries and menu, the default, deletions last. Every file is written under a unique
temp name, fsynced and renamed; the file systems are synced at the end.

Files on the ESP are written without chmod (mode=None): a FAT ESP refuses most mode
changes, its modes come from the mount options."""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from genman import fsutil, process
from genman.bootloader.model import BootPlan, CopyFile, DeleteFile, RunCommand, WriteFile


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    fsutil.atomic_write(path, text, mode)


def copy_file(src: Path, dst: Path) -> None:
    fsutil.atomic_copy(src, dst, mode=None)


def execute_boot(plan: BootPlan) -> None:
    for d in plan.dirs:
        fsutil.clean_stray_temps(d)
    try:
        for action in plan.actions:
            match action:
                case CopyFile():
                    copy_file(action.src, action.dst)
                case WriteFile():
                    write_text(action.path, action.text, action.mode)
                case DeleteFile():
                    fsutil.remove_file(action.path)
                case RunCommand():
                    process.run(list(action.argv), check=True)
                case _:
                    assert_never(action)
    finally:
        for root in plan.sync:
            if root.is_dir():
                fsutil.sync_filesystem(root)
