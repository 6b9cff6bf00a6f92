"""Build-once directories outside the checkout, keyed by what went into them.

Every cached thing is built in a temp dir next to its final name and renamed into place
only when complete, so an interrupted build is redone, never reused half-made.
A lock file serialises concurrent builders of the same key (parallel pytest workers,
a background prebuild and a test run).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    root = Path(os.environ.get("GENMAN_VM_CACHE", "/var/cache/genman-vmtests"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def key_of(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def hash_files(paths: list[Path]) -> str:
    """Content hash of files (and directories, recursively): a cache key for inputs."""
    h = hashlib.sha256()
    for top in paths:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(top.parent)).encode() + b"\0")
            h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def log(msg: str) -> None:
    print(f"[vm-cache {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build_once(name: str, builder: Callable[[Path], None]) -> Path:
    """Return cache_root()/name, calling builder(tmpdir) first if it is not there yet."""
    root = cache_root()
    final = root / name
    if final.is_dir():
        return final
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_dir():  # someone else built it while we waited
            return final
        tmp = root / f".{name}.tmp-{os.getpid()}"
        # Leftovers of interrupted builds of this key are garbage now that we hold the lock.
        for stale in root.glob(f".{name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp.mkdir()
        started = time.monotonic()
        log(f"building {name} ...")
        try:
            builder(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        os.replace(tmp, final)
        log(f"built {name} in {time.monotonic() - started:.0f}s")
        prune_siblings(name)
        return final


def prune_siblings(name: str, keep: int = 2) -> None:
    """Each input change makes a new ~1 GB tree under a new key; keep only the newest
    `keep` of one kind (name minus its key), so the cache does not grow without bound."""
    root = cache_root()
    kind = name.rsplit("-", 1)[0]
    siblings = sorted(
        (p for p in root.glob(f"{kind}-*") if p.is_dir() and p.name.rsplit("-", 1)[0] == kind),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in siblings[keep:]:
        log(f"removing stale {old.name}")
        shutil.rmtree(old, ignore_errors=True)
        (root / f".{old.name}.lock").unlink(missing_ok=True)
