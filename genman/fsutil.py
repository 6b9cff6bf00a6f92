"""Atomic, durable file-system primitives.

Every write is: a unique temp name in the same directory (O_EXCL), fsync, rename, fsync the
directory. A crash leaves the old or the new file, never half of one; the temp names carry a
marker so the next run can find and remove strays (`clean_stray_temps`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

TEMP_MARKER = ".genman-tmp-"


def temp_name(final: Path) -> Path:
    return final.with_name(f"{TEMP_MARKER}{secrets.token_hex(6)}-{final.name}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes | str,
    mode: int = 0o644,
    uid: int | None = None,
    gid: int | None = None,
    durable: bool = True,
) -> None:
    if isinstance(data, str):
        data = data.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if uid is not None or gid is not None:
                os.fchown(f.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(f.fileno(), mode)
            if durable:
                os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_copy(
    src: Path, dst: Path, mode: int, uid: int | None = None, gid: int | None = None
) -> None:
    """Copy src over dst atomically (for /etc files that must be real files)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(dst)
    try:
        with open(src, "rb") as fin:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                if uid is not None or gid is not None:
                    os.fchown(
                        fout.fileno(), -1 if uid is None else uid, -1 if gid is None else gid
                    )
                os.fchmod(fout.fileno(), mode)
                os.fsync(fout.fileno())
        os.rename(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(dst.parent)


def atomic_symlink(target: str, link: Path, durable: bool = True) -> None:
    """Point `link` at `target`, replacing whatever link was there in one rename."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(link)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(link.parent)


def remove_file(path: Path, durable: bool = True) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    if durable:
        fsync_dir(path.parent)
    return True


def make_writable_tree(path: Path) -> None:
    """Store directories are read-only; deleting their entries needs write permission back."""
    for dirpath, dirnames, _ in os.walk(path):
        os.chmod(dirpath, 0o755)
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)


def remove_tree(path: Path) -> None:
    """Remove a file, link or (read-only) directory tree; absent is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        make_writable_tree(path)
        shutil.rmtree(path)
    else:
        os.unlink(path)


def clean_stray_temps(directory: Path) -> list[Path]:
    """Remove temp files or trees left in `directory` by a crashed run."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if entry.name.startswith(TEMP_MARKER):
            p = Path(entry.path)
            remove_tree(p)
            removed.append(p)
    return removed


def sync_filesystem(path: Path) -> None:
    """Flush the file system holding `path` (syncfs where available, else sync)."""
    libc_syncfs = _syncfs()
    if libc_syncfs is not None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if libc_syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    os.sync()


_SYNCFS: Callable[[int], int] | bool | None = None


def _syncfs() -> Callable[[int], int] | None:
    global _SYNCFS
    if _SYNCFS is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            _SYNCFS = cast(Callable[[int], int], libc.syncfs)
        except (OSError, AttributeError):
            _SYNCFS = False
    return _SYNCFS if callable(_SYNCFS) else None


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)
