"""execute_boot: carry out a BootPlan in DESIGN rule 3 order (the plan is ordered): boot
files, entries and menu, the default, deletions last. Every file is written under a unique
temp name, fsynced and renamed; the file systems are synced at the end.

Files are written without chmod: a FAT ESP refuses most mode changes (its modes come from
the mount options), so the temp file is simply created with 0644 under the umask."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, assert_never

from genman import fsutil
from genman.bootloader.model import BootPlan, CopyFile, DeleteFile, WriteFile


def _atomic(dst: Path, fill: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = fsutil.temp_name(dst)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsutil.fsync_dir(dst.parent)


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    _atomic(path, lambda f: f.write(text.encode()), mode)


def copy_file(src: Path, dst: Path) -> None:
    def fill(f: BinaryIO) -> None:
        with open(src, "rb") as fin:
            shutil.copyfileobj(fin, f, 1 << 20)

    _atomic(dst, fill)


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
                case _:
                    assert_never(action)
    finally:
        for root in plan.sync:
            if root.is_dir():
                fsutil.sync_filesystem(root)
