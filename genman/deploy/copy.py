"""Store paths from the deploying machine to a target: a tar stream over ssh's stdin.

The stream starts with an index (each path's digest over its content, modes and links),
then the paths. The target extracts into a staging directory inside its store, checks
every digest, syncs, and only then renames the paths to their final names: a cut
connection leaves a path complete or absent, and a staging directory the next genman run
removes (Store.clean).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from genman import fsutil
from genman.errors import GenmanError
from genman.hashcache import CHUNK
from genman.layout import is_store_name

INDEX = "genman-index.json"


def path_digest(path: Path) -> str:
    """sha256 over a store path: every entry's relative name, kind, mode, content or
    link target, in a stable order."""
    h = hashlib.sha256()

    def entry(rel: str, p: str) -> None:
        st = os.lstat(p)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            h.update(f"l\0{rel}\0{os.readlink(p)}\n".encode())
        elif stat.S_ISDIR(st.st_mode):
            h.update(f"d\0{rel}\0{mode:o}\n".encode())
            for name in sorted(os.listdir(p)):
                entry(f"{rel}/{name}", f"{p}/{name}")
        elif stat.S_ISREG(st.st_mode):
            fh = hashlib.sha256()
            with open(p, "rb") as f:
                while chunk := f.read(CHUNK):
                    fh.update(chunk)
            h.update(f"f\0{rel}\0{mode:o}\0{fh.hexdigest()}\n".encode())
        else:
            raise GenmanError(f"{p} is not a file, directory or link")

    entry(".", os.fspath(path))
    return h.hexdigest()


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def pack(store_dir: Path, names: Iterable[str], out: IO[bytes]) -> None:
    """Write the index and the named store paths as one tar stream."""
    names = list(names)
    index = json.dumps({n: path_digest(store_dir / n) for n in names}).encode()
    with tarfile.open(fileobj=out, mode="w|") as tar:
        info = tarfile.TarInfo(INDEX)
        info.size = len(index)
        tar.addfile(info, io.BytesIO(index))
        for n in names:
            tar.add(store_dir / n, arcname=n, recursive=True, filter=_root_owned)


def _checked(member: tarfile.TarInfo, index: dict[str, str]) -> tarfile.TarInfo:
    top = member.name.split("/", 1)[0]
    parts = member.name.split("/")
    if top not in index or ".." in parts or member.name.startswith("/"):
        raise GenmanError(f"the copy holds {member.name!r}, which is not a path it announced")
    if not (member.isfile() or member.isdir() or member.issym()):
        raise GenmanError(f"the copy holds {member.name!r}, which is no file, dir or link")
    member.mode &= 0o755  # never setuid/setgid, never writable: store paths are read-only
    return member


def receive(store_dir: Path, stream: IO[bytes]) -> list[str]:
    """Take a tar stream (the caller holds the lock); the names that became visible."""
    store_dir.mkdir(parents=True, exist_ok=True)
    staging = store_dir / f"{fsutil.TEMP_MARKER}{secrets.token_hex(6)}"
    staging.mkdir(mode=0o755)
    try:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                first = tar.next()
                if first is None or first.name != INDEX:
                    raise GenmanError("the copy does not start with genman's index")
                f = tar.extractfile(first)
                if f is None:
                    raise GenmanError("the copy's index is not a regular file")
                index = json.loads(f.read())
                if not all(is_store_name(n) and "/" not in n for n in index):
                    raise GenmanError("the copy's index names something not a store path")
                members = (_checked(m, index) for m in tar if m is not first)
                if hasattr(tarfile, "fully_trusted_filter"):  # members are checked above
                    tar.extractall(staging, members=members, filter="fully_trusted")
                else:  # Python before 3.11.4 has no filters
                    tar.extractall(staging, members=members)
        except (tarfile.TarError, EOFError, OSError, ValueError) as e:
            raise GenmanError(f"the copy broke off: {e}",
                              hint="nothing of it was kept; deploy again") from None
        for name, digest in index.items():
            got = staging / name
            if not os.path.lexists(got) or path_digest(got) != digest:
                raise GenmanError(f"store path {name} arrived damaged (digest mismatch)",
                                  hint="nothing of the copy was kept; deploy again")
        fsutil.sync_filesystem(staging)
        made = []
        for name in index:
            if not os.path.lexists(store_dir / name):
                os.rename(staging / name, store_dir / name)
                made.append(name)
        fsutil.fsync_dir(store_dir)
        return made
    finally:
        fsutil.remove_tree(staging)
