"""Content hashes of source files, remembered by (device, inode, size, mtime, ctime).

Rebuilding an unchanged 10,000-file profile must not read 10,000 files again: a file whose
stat identity matches the cache is taken at its cached hash. Files modified within the last
two seconds are never cached, so a write landing in the same timestamp tick as our read
cannot hide behind a stale entry (git's "racy clean" rule).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from pathlib import Path

from genman import fsutil

CHUNK = 1 << 20
RACY_SECONDS = 2


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _trusted(path: Path) -> bool:
    """Ours and private: a hash cache someone else could write could hide a change."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


class HashCache:
    """A sqlite-backed cache; loaded whole on first use, written back in one transaction."""

    def __init__(self, db_path: Path | None) -> None:
        self.db_path = db_path
        self._entries: dict[str, tuple[tuple[int, int, int, int, int], str]] | None = None
        self._dirty: dict[str, tuple[tuple[int, int, int, int, int], str]] = {}
        self.hits = 0
        self.misses = 0

    def _load(self) -> dict[str, tuple[tuple[int, int, int, int, int], str]]:
        if self._entries is not None:
            return self._entries
        self._entries = {}
        if self.db_path is not None and _trusted(self.db_path):
            import sqlite3  # here: status checks the store with no cache, and stays light

            try:
                con = sqlite3.connect(self.db_path)
                try:
                    for row in con.execute(
                        "SELECT path, dev, ino, size, mtime, ctime, sha256 FROM hashes"
                    ):
                        self._entries[row[0]] = ((row[1], row[2], row[3], row[4], row[5]), row[6])
                finally:
                    con.close()
            except sqlite3.DatabaseError:
                # A damaged cache only costs time: start over.
                self._entries = {}
        return self._entries

    def file_hash(self, path: Path | str, st: os.stat_result | None = None) -> str:
        key = os.fspath(path)
        if st is None:
            st = os.stat(key)
        ident = _identity(st)
        entries = self._entries if self._entries is not None else self._load()
        cached = entries.get(key)
        if cached is not None and cached[0] == ident:
            self.hits += 1
            return cached[1]
        self.misses += 1
        digest = sha256_file(key)
        if time.time_ns() - st.st_mtime_ns > RACY_SECONDS * 1_000_000_000 and stat.S_ISREG(
            st.st_mode
        ):
            entry = (ident, digest)
            self._load()[key] = entry
            self._dirty[key] = entry
        return digest

    def save(self) -> None:
        if not self._dirty or self.db_path is None:
            return
        # Hashes of private files are private too: a 0700 directory, a 0600 database.
        if not fsutil.private_dir(self.db_path.parent):
            return
        import sqlite3

        try:
            os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
            con = sqlite3.connect(self.db_path)
        except (OSError, sqlite3.Error):
            return
        try:
            with con:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, dev INTEGER,"
                    " ino INTEGER, size INTEGER, mtime INTEGER, ctime INTEGER, sha256 TEXT)"
                )
                con.executemany(
                    "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(k, *ident, digest) for k, (ident, digest) in self._dirty.items()],
                )
        except sqlite3.DatabaseError:
            # The cache is an optimisation; a broken database is replaced next time.
            with contextlib.suppress(OSError):
                self.db_path.unlink()
        finally:
            con.close()
        self._dirty.clear()
