"""The content-addressed store: /var/lib/genman/store/<hash>-<name>.

A store path's name is derived from what it holds (content and permission bits), so adding
content that is already there copies nothing, and two generations with the same file share
one path. Store paths are read-only once in place.

Durability without an fsync per file: everything a batch adds is first written into a
staging directory inside the store, the file system is synced once, and only then are the
paths renamed to their final names. A crash before that leaves only the staging directory,
which `clean` removes; a final name therefore always holds complete content.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

from genman import fsutil
from genman.errors import GenmanError
from genman.hashcache import CHUNK, HashCache
from genman.layout import Layout, is_store_name

HASH_LEN = 32
_NAME_OK = re.compile(r"[^A-Za-z0-9+._?=-]")


def stored_mode(mode: int) -> int:
    """Read-only, keeping who may read and execute; never setuid/setgid/sticky."""
    return stat.S_IMODE(mode) & 0o555


def clean_name(name: str) -> str:
    name = _NAME_OK.sub("_", name).lstrip(".") or "file"
    return name[:100]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_LEN]


class Store:
    def __init__(self, layout: Layout, cache: HashCache | None = None) -> None:
        self.layout = layout
        self.dir = layout.host(layout.store_dir)
        self.cache = cache or HashCache(None)
        self._listing: set[str] | None = None

    def target(self, name: str) -> PurePosixPath:
        return self.layout.store_dir / name

    def host(self, name: str) -> Path:
        return self.dir / name

    def exists(self, name: str) -> bool:
        # One listdir instead of a stat per lookup: a 10,000-file rebuild asks 10,000 times.
        if self._listing is None:
            try:
                self._listing = set(os.listdir(self.dir))
            except FileNotFoundError:
                self._listing = set()
        return name in self._listing

    def forget_listing(self) -> None:
        self._listing = None

    def names(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.dir) if is_store_name(n))
        except FileNotFoundError:
            return []

    def clean(self) -> list[Path]:
        """Remove staging directories a crashed batch left behind. One listdir, kept for
        `exists`: the store of a 10,000-file profile is read once per build, not twice."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            self._listing = set()
            return []
        removed = []
        for n in names:
            if n.startswith(fsutil.TEMP_MARKER):
                fsutil.remove_tree(self.dir / n)
                removed.append(self.dir / n)
        self._listing = set(names).difference(p.name for p in removed)
        return removed

    def batch(self) -> StoreBatch:
        return StoreBatch(self)

    # --- identities (no writes) ---

    def file_identity(
        self, src: Path | str, name: str, mode: int | None = None
    ) -> tuple[str, int, str]:
        """(store name, stored mode, content sha256) of a file."""
        st = os.stat(src)
        if not stat.S_ISREG(st.st_mode):
            raise GenmanError(f"{src} is not a regular file")
        smode = stored_mode(st.st_mode if mode is None else mode)
        content = self.cache.file_hash(src, st)
        return f"{_digest('file', oct(smode), content)}-{clean_name(name)}", smode, content

    def bytes_identity(self, data: bytes, name: str, mode: int) -> tuple[str, int]:
        smode = stored_mode(mode)
        content = hashlib.sha256(data).hexdigest()
        return f"{_digest('file', oct(smode), content)}-{clean_name(name)}", smode

    def tree_identity(self, src: Path, name: str) -> str:
        h = hashlib.sha256()
        for rel, kind, detail in walk_tree(src, self.cache):
            h.update(f"{kind}\0{rel}\0{detail}\n".encode())
        return f"{_digest('tree', h.hexdigest())}-{clean_name(name)}"


def damaged_files(layout: Layout, names: Iterable[str]) -> list[str]:
    """Store files among `names` that are missing or whose content or mode no longer matches
    their name (someone wrote through an /etc link into the store)."""
    store = Store(layout, HashCache(None))
    bad = []
    for name in sorted(set(names)):
        path = layout.host(layout.store_path(name))
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue  # trees and links are checked by content elsewhere
            found = store.file_identity(path, name.split("-", 1)[1])[0]
        except (OSError, IndexError):
            bad.append(name)
            continue
        if found != name:
            bad.append(name)
    return bad


def walk_tree(src: Path, cache: HashCache) -> Iterator[tuple[str, str, str]]:
    """(relative path, kind, detail) for every entry below src, in a stable order."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        base = src / rel_dir if rel_dir else src
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError as e:
            raise GenmanError(f"cannot read {base}: {e.strerror}") from None
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                yield rel, "l", os.readlink(entry.path)
            elif stat.S_ISDIR(st.st_mode):
                yield rel, "d", ""
                subdirs.append(rel)
            elif stat.S_ISREG(st.st_mode):
                yield rel, "f", f"{oct(stored_mode(st.st_mode))}:{cache.file_hash(entry.path, st)}"
            else:
                raise GenmanError(
                    f"{entry.path} is a device, socket or fifo",
                    hint="only regular files, directories and symlinks can go into the store",
                )
        stack.extend(reversed(subdirs))


def _copy_checked(src: Path | str, dst: Path | str, expect: str | None, mode: int) -> None:
    h = hashlib.sha256()
    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(CHUNK):
                h.update(chunk)
                fout.write(chunk)
            os.fchmod(fout.fileno(), mode)
    if expect is not None and h.hexdigest() != expect:
        raise GenmanError(
            f"{src} changed while genman was building",
            hint="run the build again once the file is no longer being written",
        )


UNWRITTEN_MAX = 256 * 1024  # unit files and init scripts are far smaller


class StoreBatch:
    """Adds paths to the store; nothing is visible under a final name until `commit`."""

    def __init__(self, store: Store, *, write: bool = True) -> None:
        """`write` False: compute every store name and write nothing (a dry run's build);
        `sources` then names the file each new file path would be copied from."""
        self.store = store
        self.write = write
        self.sources: dict[str, Path] = {}
        # Not writing: the content sha256 of each file path it names, so a dry run can tell
        # an /etc file that already holds that content (nothing to do) from one that differs.
        self.digests: dict[str, str] = {}
        # Not writing: what a rendered file (a template, `text`) would hold, for the small
        # ones not stored yet, so a dry run reads a unit file as the switch will.
        self.unwritten: dict[str, bytes] = {}
        self._staging: Path | None = None
        self._pending: dict[str, Path] = {}

    def __enter__(self) -> StoreBatch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    @property
    def added(self) -> list[str]:
        return list(self._pending)

    def _stage(self, name: str) -> Path | None:
        """Where to write `name`, or None when it is already stored or staged."""
        if name in self._pending or self.store.exists(name) or not self.write:
            return None
        if self._staging is None:
            self.store.dir.mkdir(parents=True, exist_ok=True)
            self._staging = self.store.dir / f"{fsutil.TEMP_MARKER}{secrets.token_hex(6)}"
            self._staging.mkdir(mode=0o755)
        dest = self._staging / name
        self._pending[name] = dest
        return dest

    def add_file(self, src: Path | str, name: str, mode: int | None = None) -> str:
        store_name, smode, content = self.store.file_identity(src, name, mode)
        if not self.write and not self.store.exists(store_name):
            self.sources.setdefault(store_name, Path(src))
            self.digests[store_name] = content
        dest = self._stage(store_name)
        if dest is not None:
            _copy_checked(src, dest, content, smode)
        return store_name

    def add_bytes(self, data: bytes, name: str, mode: int = 0o444) -> str:
        store_name, smode = self.store.bytes_identity(data, name, mode)
        if not self.write:
            self.digests[store_name] = hashlib.sha256(data).hexdigest()
            if len(data) <= UNWRITTEN_MAX and not self.store.exists(store_name):
                self.unwritten[store_name] = data
        dest = self._stage(store_name)
        if dest is not None:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                os.fchmod(f.fileno(), smode)
        return store_name

    def add_tree(self, src: Path, name: str, hardlink: bool = False) -> str:
        """Add a directory tree. With `hardlink`, files on the store's file system are
        linked rather than copied: only for trees whose owner replaces files by rename and
        never rewrites them in place (dpkg's /lib/modules), so the store's inode stays as
        it was hashed and a kernel's 400 MB of modules cost no space twice."""
        store_name = self.store.tree_identity(src, name)
        dest = self._stage(store_name)
        if dest is not None:
            dest.mkdir()
            link = hardlink and os.stat(src).st_dev == os.stat(dest).st_dev
            dirs = [dest]
            for rel, kind, detail in walk_tree(src, self.store.cache):
                target = dest / rel
                if kind == "d":
                    target.mkdir()
                    dirs.append(target)
                elif kind == "l":
                    os.symlink(detail, target)
                else:
                    mode_s, content = detail.split(":", 1)
                    if link:
                        try:
                            os.link(src / rel, target)
                            continue
                        except OSError:
                            link = False  # e.g. protected_hardlinks: copy from here on
                    _copy_checked(src / rel, target, content, int(mode_s, 8))
            for d in reversed(dirs):
                os.chmod(d, 0o555)
        return store_name

    def add_generated(self, key: str, name: str, populate: Callable[[Path], None]) -> str:
        """A directory whose content is a function of `key` (e.g. a generation's toplevel):
        `populate` is called only when no path with that key exists yet."""
        store_name = f"{_digest('generated', key)}-{clean_name(name)}"
        dest = self._stage(store_name)
        if dest is not None:
            dest.mkdir()
            populate(dest)
            for dirpath, dirnames, _ in os.walk(dest, topdown=False):
                for d in dirnames:
                    p = os.path.join(dirpath, d)
                    if not os.path.islink(p):
                        os.chmod(p, 0o555)
            os.chmod(dest, 0o555)
        return store_name

    def commit(self) -> None:
        if self._staging is None:
            return
        fsutil.sync_filesystem(self._staging)
        try:
            # Content is durable now: whatever reaches its final name is complete.
            for name, staged in self._pending.items():
                os.rename(staged, self.store.dir / name)
            fsutil.fsync_dir(self.store.dir)
        finally:
            self.store.forget_listing()
            self.abort()

    def abort(self) -> None:
        """Drop whatever is still staged (all of it, unless commit got under way)."""
        if self._staging is not None:
            fsutil.remove_tree(self._staging)
            self._staging = None
        self._pending.clear()


def store_size(path: Path) -> int:
    """Bytes removing a store path frees: files counted once per inode, and not at all
    while another link outside the path keeps them (hard-linked kernel modules)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        return st.st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            s = os.lstat(os.path.join(dirpath, n))
            if stat.S_ISREG(s.st_mode) and s.st_nlink > 1:
                continue
            if (s.st_dev, s.st_ino) not in seen:
                seen.add((s.st_dev, s.st_ino))
                total += s.st_blocks * 512
    return total
