"""`genman drift` and the drift section of `genman status`: the managed /etc paths changed by
hand since the live generation made them (genman.drift decides), with what changed in
their content (from the store, or the secrets directory: a secret's content is never
shown)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from genman.drift import Drift, DriftKind, find
from genman.etcwants import UNIT_DIR, copy_sources, touched_paths
from genman.layout import Layout
from genman.manifest import Manifest
from genman.probe import probe
from genman.services import unit_file_name
from genman.textdiff import FileDiff, file_diff


@dataclass(frozen=True)
class Found:
    drift: Drift
    diff: FileDiff | None  # content edited (or a link replaced by a file): what changed

    def to_dict(self) -> dict[str, Any]:
        d = self.drift.to_dict()
        if self.diff is not None:
            d["diff"] = list(self.diff.lines)
        return d


def _read(path: os.PathLike[str] | str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def expected_source(layout: Layout, live: Manifest, path: str) -> str | None:
    """The store (or secrets) name whose content the live generation put at /etc/<path>."""
    if path in live.secrets:
        return live.secrets[path].name
    if path in live.etc:
        return live.etc[path].store
    for svc in live.services.values():
        if svc.unit_file and f"{UNIT_DIR}/{unit_file_name(svc)}" == path:
            return svc.unit_file
    return None


def _content_diff(layout: Layout, live: Manifest, d: Drift) -> FileDiff | None:
    if not {DriftKind.EDITED, DriftKind.REPLACED} & set(d.kinds):
        return None
    now = layout.host(layout.etc) / d.path
    if os.path.islink(now) or not os.path.isfile(now):
        return None
    name = expected_source(layout, live, d.path)
    if name is None:
        return None
    shown = f"/etc/{d.path}"
    if d.path in live.secrets:
        return file_diff(shown, None, None, secret=True)
    return file_diff(shown, _read(layout.host(layout.copy_source(name))), _read(now))


def check(layout: Layout, live: Manifest | None) -> list[Found]:
    """What drifted from `live` (the generation whose /etc is live; None: nothing)."""
    if live is None:
        return []
    state = probe(layout, touched_paths(live), copy_sources(live))
    return [Found(d, _content_diff(layout, live, d)) for d in find(state, live)]


def check_live(layout: Layout) -> list[Found]:
    from genman.transaction import live_manifest

    return check(layout, live_manifest(layout))


def drift_lines(found: list[Found], colour: bool) -> list[str]:
    """`genman drift` and status: each drifted path, then its diff (text only)."""
    from genman.textdiff import paint

    lines = []
    for f in found:
        lines.append(f"/etc/{f.drift.path}: {f.drift.detail}")
        if f.diff is not None:
            lines.extend(f"  {paint(line, colour)}" for line in f.diff.lines)
    return lines
