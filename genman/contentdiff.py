"""What the content of /etc files changes: `genman diff A B --content` (two generations, read
from the store) and `switch --dry-run --diff` (the /etc of the target as it is now against
the profile about to be built). A [secrets] file's content is never shown, only that it
changes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from genman.etcwants import UNIT_DIR
from genman.layout import Layout
from genman.manifest import Manifest
from genman.services import names, unit_file_name
from genman.textdiff import FileDiff, file_diff

if TYPE_CHECKING:
    from genman.profile import Profile


def _read(path: os.PathLike[str] | str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _sources(m: Manifest) -> dict[str, tuple[str, bool]]:
    """/etc path -> (store or secret name, is a secret) of every file a generation puts."""
    out = {p: (e.store, False) for p, e in m.etc.items()}
    out.update({p: (s.name, True) for p, s in m.secrets.items()})
    for svc in m.services.values():
        if svc.unit_file:
            out[f"{UNIT_DIR}/{unit_file_name(svc)}"] = (svc.unit_file, False)
    return out


def between(layout: Layout, old: Manifest, new: Manifest) -> list[FileDiff]:
    """Every /etc file whose content differs from generation `old` to `new`."""
    a, b = _sources(old), _sources(new)
    out = []
    for path in sorted(a.keys() | b.keys()):
        x, y = a.get(path), b.get(path)
        if x is not None and y is not None and x[0] == y[0]:
            continue
        shown = f"/etc/{path}"
        if (x and x[1]) or (y and y[1]):
            out.append(file_diff(shown, b"" if x else None, b"" if y else None, secret=True))
            continue
        old_bytes = _read(layout.host(layout.store_path(x[0]))) if x else None
        new_bytes = _read(layout.host(layout.store_path(y[0]))) if y else None
        if old_bytes == new_bytes:
            continue  # the same content with another mode: the plan shows the mode
        out.append(file_diff(shown, old_bytes, new_bytes))
    return out


def _wanted(profile: Profile) -> dict[str, tuple[bytes | None, bool]]:
    """/etc path -> (content, is a secret) of what a profile puts in /etc."""
    out: dict[str, tuple[bytes | None, bool]] = {}
    for ef in profile.etc:
        out[ef.path] = (ef.content if ef.content is not None else
                        _read(ef.source) if ef.source is not None else None, False)
    for s in profile.secrets:
        out[s.path] = (s.content, True)
    for svc in profile.services:
        if svc.unit_file is not None:
            out[f"{UNIT_DIR}/{names.full_name(svc.unit)}"] = (_read(svc.unit_file), False)
    return out


def planned(layout: Layout, profile: Profile, live: Manifest | None) -> list[FileDiff]:
    """Every /etc path whose content the profile changes, against /etc as it is now (read
    through its links, as programs read it): paths it puts and paths of the live
    generation it drops."""
    want = _wanted(profile)
    dropped = set(_sources(live)) - set(want) if live is not None else set()
    out = []
    for path in sorted(want.keys() | dropped):
        try:
            now = _read(layout.resolve(f"/etc/{path}"))
        except OSError:
            now = None
        new, secret = want.get(path, (None, live is not None and path in live.secrets))
        if now == new:
            continue
        out.append(file_diff(f"/etc/{path}", now, new, secret=secret))
    return out
