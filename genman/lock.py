"""One genman at a time: an flock on the state directory's lock file."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from genman.errors import GenmanError, LockHeld
from genman.layout import Layout


def _holder(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip() or "unknown"
    except OSError:
        return "unknown"


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """Hold the genman lock. The file keeps the holder's pid so the message can name it."""
    layout.check_contained()
    path = layout.host(layout.lock_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # never through a link: its target would be truncated
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise GenmanError(f"cannot open the lock file {path}: {e.strerror}",
                          hint=f"remove {path} if it is a link or a directory; genman makes "
                          "a new one") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(str(path))
            raise LockHeld(
                f"another genman is running (pid {holder}) and holds {path}",
                hint="wait for it to finish; the lock is released when that process exits",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
