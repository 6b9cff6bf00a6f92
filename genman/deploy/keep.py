"""What the deployer's store keeps: the store paths the last N builds of each host need.

Every build records its toplevel in `hosts/<host>` beside the store (newest last). After a
deploy, `collect` removes every store path no recorded toplevel among each host's last N
needs (a toplevel's `references` list its whole closure, the shipped genman included).
Deploys from the same store hold it shared (`hold`); collecting needs it alone and is
skipped while another deploy runs, so it never removes what that one is about to copy.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from genman import fsutil
from genman.layout import is_store_name
from genman.store import Store, store_size

KEEP = 3  # builds per host, by default


@dataclass(frozen=True)
class Collected:
    removed: int
    freed: int  # bytes
    skipped: bool = False  # another deploy holds the store


def _record_file(directory: Path, host: str) -> Path:
    return directory / "hosts" / quote(host, safe="")


def recorded(directory: Path, host: str) -> list[str]:
    try:
        return _record_file(directory, host).read_text().split()
    except FileNotFoundError:
        return []


def record(directory: Path, host: str, toplevel: str, keep: int) -> None:
    """`toplevel` is the host's newest build; the record holds its last `keep` (at least
    one) distinct builds."""
    names = [n for n in recorded(directory, host) if n != toplevel] + [toplevel]
    file = _record_file(directory, host)
    file.parent.mkdir(parents=True, exist_ok=True)
    fsutil.atomic_write(file, "".join(f"{n}\n" for n in names[-max(keep, 1):]))


def live_names(directory: Path, store_dir: Path, keep: int) -> set[str]:
    live: set[str] = set()
    hosts = directory / "hosts"
    records = sorted(p.name for p in hosts.iterdir()) if hosts.is_dir() else []
    for name in records:
        for top in (hosts / name).read_text().split()[-keep:]:
            try:
                refs = (store_dir / top / "references").read_text().split()
            except OSError:
                continue  # gone already: nothing of it to keep
            live.add(top)
            live.update(refs)
    return live


def hold(directory: Path) -> int:
    """A shared hold on the store for one deploy (released when the fd is closed)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def collect(directory: Path, store: Store, keep: int, fd: int) -> Collected:
    """Remove what no host's last `keep` builds need; `fd` is this deploy's hold."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return Collected(0, 0, skipped=True)
    try:
        store.clean()
        live = live_names(directory, store.dir, keep)
        dead = [n for n in store.names() if is_store_name(n) and n not in live]
        freed = 0
        for name in dead:
            freed += store_size(store.host(name))
            fsutil.remove_tree(store.host(name))
        store.forget_listing()
        return Collected(len(dead), freed)
    finally:
        fcntl.flock(fd, fcntl.LOCK_SH)
