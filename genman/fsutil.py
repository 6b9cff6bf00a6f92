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
from typing import BinaryIO, cast

TEMP_MARKER = ".genman-tmp-"


def temp_name(final: Path) -> Path:
    return final.with_name(f"{TEMP_MARKER}{secrets.token_hex(6)}-{final.name}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_fill(
    path: Path,
    fill: Callable[[BinaryIO], object],
    mode: int | None = 0o644,
    uid: int | None = None,
    gid: int | None = None,
    durable: bool = True,
    create_mode: int = 0o644,
) -> None:
    """Write `path` through `fill(file)` under a unique temp name, then rename it in.

    The temp file is created 0600 and given `mode` once written, so a secret is never
    readable by others on its way in. mode=None leaves the mode alone (created with
    `create_mode` under the umask): FAT, the ESP's file system, refuses most mode changes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    created = create_mode if mode is None else 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, created)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            if uid is not None or gid is not None:
                os.fchown(f.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            if mode is not None:
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


def atomic_write(
    path: Path,
    data: bytes | str,
    mode: int | None = 0o644,
    uid: int | None = None,
    gid: int | None = None,
    durable: bool = True,
) -> None:
    payload = data.encode() if isinstance(data, str) else data
    atomic_fill(path, lambda f: f.write(payload), mode, uid, gid, durable)


def atomic_copy(
    src: Path, dst: Path, mode: int | None, uid: int | None = None, gid: int | None = None
) -> None:
    """Copy src over dst atomically (/etc files that must be real files, boot files).
    mode=None: the copy is created with src's read/write bits (where the file system keeps
    modes at all), so a private initrd stays private on /boot."""
    own = stat.S_IMODE(os.stat(src).st_mode) & 0o666

    def fill(f: BinaryIO) -> None:
        with open(src, "rb") as fin:
            shutil.copyfileobj(fin, f, 1 << 20)

    atomic_fill(dst, fill, mode, uid, gid, create_mode=own | (0o200 if own else 0))


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
        try:  # root may delete from read-only directories: try before chmod-ing them all
            shutil.rmtree(path)
        except PermissionError:
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


def private_dir(path: Path) -> bool:
    """Make `path` (and missing parents) 0700 and say whether it can be trusted: a real
    directory, not a link, owned by us and closed to everyone else. A cache read from a
    directory that fails this could have been planted by someone else."""
    try:
        missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
        for p in reversed(missing):  # the directories we make are ours alone
            p.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    if st.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return False
    return True
