"""The summary index of generations: list-generations reads one file, not one
`summary.json` per generation.

It is a cache and never the truth. The generations are the links under
/var/lib/genman/generations, read every time; the index maps a toplevel's store name to
its summary, with the (inode, size, mtime) of the `summary.json` it came from. An entry is
used only while that file still stats the same, so a damaged or removed store path shows
as it is, and a missing, torn or stale index costs only the reads it would have saved.
Whoever lists the generations (every writer does, after it changed them: build, prune,
gc) rewrites the index when it learned something and may write there: a temp file renamed
in, no fsync (a crash loses a cache, and a torn file reads as none).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from typing import Any

from genman.layout import Layout

_VERSION = 1
_DAMAGED = {"description": "(damaged: summary unreadable)"}
Key = tuple[int, int, int]


def _load(path: str) -> dict[str, list[Any]]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _read_summary(path: str) -> tuple[Key | None, dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            summary = json.loads(f.read())
    except (OSError, ValueError):
        return None, _DAMAGED
    if not isinstance(summary, dict):
        return None, _DAMAGED
    return (st.st_ino, st.st_size, st.st_mtime_ns), summary


def _save(path: str, entries: dict[str, list[Any]]) -> None:
    tmp = f"{os.path.dirname(path)}/.genman-tmp-{os.getpid()}-{os.path.basename(path)}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w") as f:
            f.write(json.dumps({"version": _VERSION, "entries": entries},
                               separators=(",", ":")))
        os.rename(tmp, path)
    except OSError:  # a read-only root, another user: the index waits for a writer
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def summaries(layout: Layout, toplevels: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The summary of each toplevel (a placeholder for a damaged one), from the index
    where it is still valid, else from the store; the index is rewritten to hold exactly
    these toplevels when it did not."""
    store = os.fspath(layout.host(layout.store_dir))
    index = os.fspath(layout.host(layout.generations_index))
    old = _load(index)
    out: dict[str, dict[str, Any]] = {}
    new: dict[str, list[Any]] = {}
    changed = False
    for top in toplevels:
        if top in out:
            continue
        path = f"{store}/{top}/summary.json"
        entry = old.get(top)
        if isinstance(entry, list) and len(entry) == 4 and isinstance(entry[3], dict):
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None and [st.st_ino, st.st_size, st.st_mtime_ns] == entry[:3]:
                out[top] = entry[3]
                new[top] = entry
                continue
        key, summary = _read_summary(path)
        out[top] = summary
        changed = True
        if key is not None:
            new[top] = [*key, summary]
    if changed or len(new) != len(old):
        _save(index, new)
    return out
