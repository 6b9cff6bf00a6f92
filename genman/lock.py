"""One genman at a time: an flock on the state directory's lock file.

A command waits a while for the lock rather than failing at once: genman's own background
work (the boot-time marker, a confirmed switch's watcher looking at its record) holds it
for moments, and a command that fails because of them has failed for nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from genman.channel import warn
from genman.context import LOCK_WAIT
from genman.errors import GenmanError, LockHeld
from genman.layout import Layout

_RETRY = 0.05  # seconds between tries: the holders that matter hold it for moments


def _holder(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip() or "unknown"
    except OSError:
        return "unknown"


def _acquire(fd: int, path: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockHeld(
                    f"another genman is running (pid {_holder(path)}) and holds {path}"
                    + (f"; waited {wait:g} s" if wait > 0 else ""),
                    hint="wait for it to finish (the lock is released when that process "
                         "exits), or wait longer: `genman --lock-wait SECONDS ...`",
                ) from None
            if not told:
                told = True
                warn(f"another genman is running (pid {_holder(path)}); waiting for the lock "
                     f"up to {wait:g} s")
            time.sleep(min(_RETRY, left))


@contextlib.contextmanager
def locked(layout: Layout, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the genman lock, waiting up to `wait` seconds for it. The file keeps the
    holder's pid so the messages can name it."""
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
        _acquire(fd, str(path), wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
