"""The store as a read-only bind mount on a live system, as NixOS mounts /nix/store.

Every /etc link points into the store, so without this `echo x >> /etc/motd` as root edits
the store file every generation shares, and the next switch of the same profile sees no
change. The generation's init makes the store read-only at boot; genman itself opens it for
writing only while it adds or removes store paths (`writable`), and closes it after. Under
--root, or where the host does not allow bind mounts (a container), nothing is mounted and
debug output says why.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from genman.errors import GenmanError
from genman.layout import Layout
from genman.process import run

log = logging.getLogger(__name__)


def mount_state(path: str, mountinfo: str = "/proc/self/mountinfo") -> bool | None:
    """True: `path` is a read-only mount point; False: a writable one; None: not one."""
    state = None
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 5 and _unescape(fields[4]) == path:
                    state = "ro" in fields[5].split(",")  # the last mount on top wins
    except OSError:
        return None
    return state


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") \
        .replace("\\134", "\\")


def protect_path(path: str) -> bool:
    """Make `path` a read-only bind mount of itself; False (said in debug) where the host
    does not allow it."""
    if mount_state(path) is None:
        r = run(["mount", "-o", "bind", path, path], check=False)
        if not r.ok:
            log.debug("store stays writable: bind mount refused: %s", r.stderr.strip())
            return False
    r = run(["mount", "-o", "remount,ro,bind", path], check=False)
    if not r.ok:
        log.debug("store stays writable: read-only remount refused: %s", r.stderr.strip())
    return r.ok


@contextlib.contextmanager
def writable_path(path: str) -> Iterator[None]:
    """`path` writable for the block, read-only again after it (where mounts are allowed).
    The bind mount is taken away for the block rather than made writable: link(2) never
    crosses a mount point, and a kernel's modules are hard-linked into the store from
    /lib/modules on the same file system. Where it is busy, it is remounted writable."""
    if mount_state(path):
        r = run(["umount", path], check=False)
        if not r.ok:
            log.debug("store busy, remounted writable instead: %s", r.stderr.strip())
            r = run(["mount", "-o", "remount,rw,bind", path], check=False)
        if not r.ok:
            raise GenmanError(f"the store {path} is mounted read-only and cannot be remounted "
                              f"writable: {r.stderr.strip()}",
                              hint=f"run genman as root, or `mount -o remount,rw,bind {path}`")
    try:
        yield
    finally:
        protect_path(path)


@contextlib.contextmanager
def writable(layout: Layout) -> Iterator[None]:
    """The live store writable for the block; under --root nothing is mounted."""
    if layout.root != Path("/"):  # the real root, not whatever says it is live
        log.debug("store not remounted: --root %s", layout.root)
        yield
        return
    path = str(layout.host(layout.store_dir))
    with writable_path(path):
        yield
