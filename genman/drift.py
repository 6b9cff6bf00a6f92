"""Pure: which managed /etc paths were changed by hand since the live generation put them
there, and what a switch may do about it.

A managed path *drifted* when it no longer is what the live generation made: its link was
replaced by a file (or retargeted, or removed), or its real file was edited, or had its
mode or owner changed. `switch` refuses to overwrite or remove a drifted path unless told:
`--backup` moves it aside first, `--force` overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from genman.errors import GenmanError
from genman.etcwants import CopyWant, LinkWant, desired_etc
from genman.manifest import Manifest
from genman.state import Node, NodeKind, SystemState


class DriftKind(StrEnum):
    MISSING = "missing"  # removed by hand
    REPLACED = "replaced"  # a link became a file, a file a link, or either a directory
    RETARGETED = "retargeted"  # a link points elsewhere
    EDITED = "edited"  # a real file's content changed
    MODE = "mode"  # a real file's permission bits changed
    OWNER = "owner"  # a real file's owner or group changed


@dataclass(frozen=True)
class Drift:
    path: str  # relative to /etc
    kinds: tuple[DriftKind, ...]
    detail: str  # one line for people
    managed_as: str  # "link" or "file"

    def to_dict(self) -> dict[str, object]:
        return {"path": f"/etc/{self.path}", "kinds": [k.value for k in self.kinds],
                "detail": self.detail, "managed_as": self.managed_as}


def _what(n: Node) -> str:
    return {NodeKind.LINK: f"a link to {n.target}", NodeKind.FILE: "a file",
            NodeKind.DIR: "a directory", NodeKind.OTHER: "a special file",
            NodeKind.ABSENT: "nothing"}[n.kind]


def _link_drift(path: str, n: Node, target: str) -> Drift | None:
    if n.kind is NodeKind.LINK:
        if n.target == target:
            return None
        return Drift(path, (DriftKind.RETARGETED,), f"link now points to {n.target} "
                     f"(genman made it point to {target})", "link")
    if n.kind is NodeKind.ABSENT:
        return Drift(path, (DriftKind.MISSING,), "removed (genman made a link)", "link")
    return Drift(path, (DriftKind.REPLACED,), f"the link was replaced by {_what(n)}", "link")


def _copy_drift(state: SystemState, path: str, n: Node, w: CopyWant) -> Drift | None:
    if n.kind is NodeKind.ABSENT:
        return Drift(path, (DriftKind.MISSING,), "removed (genman made a file)", "file")
    if n.kind is not NodeKind.FILE:
        return Drift(path, (DriftKind.REPLACED,), f"the file was replaced by {_what(n)}",
                     "file")
    kinds: list[DriftKind] = []
    details: list[str] = []
    expected = state.store_digests.get(w.store)
    if expected is not None and n.digest != expected:
        kinds.append(DriftKind.EDITED)
        details.append("content edited")
    if n.mode != w.mode:
        kinds.append(DriftKind.MODE)
        details.append(f"mode {n.mode or 0:04o} (genman set {w.mode:04o})")
    if state.can_chown and (n.uid, n.gid) != (w.uid, w.gid):
        kinds.append(DriftKind.OWNER)
        details.append(f"owner {n.uid}:{n.gid} (genman set {w.uid}:{w.gid})")
    if not kinds:
        return None
    return Drift(path, tuple(kinds), ", ".join(details), "file")


def find(state: SystemState, live: Manifest | None) -> tuple[Drift, ...]:
    """Drift of every path `live` (the generation whose /etc is live) manages. The state
    must hold those paths and the digests of their copies' sources."""
    if live is None:
        return ()
    out: list[Drift] = []
    for path, w in sorted(desired_etc(live).items()):
        n = state.node(path)
        match w:
            case LinkWant(target):
                d = _link_drift(path, n, target)
            case CopyWant():
                d = _copy_drift(state, path, n, w)
        if d is not None:
            out.append(d)
    return tuple(out)


def conflict_error(paths: list[str]) -> GenmanError:
    shown = ", ".join(f"/etc/{p}" for p in paths[:10]) + (" …" if len(paths) > 10 else "")
    return GenmanError(
        f"{len(paths)} /etc path(s) genman would manage already exist and are not genman's: "
        f"{shown}",
        hint="move them away, drop them from the profile, or run again with --backup to "
        "have genman move them aside (to <path>.genman-backup-<time>)",
    )


def refuse(drifted: list[Drift]) -> GenmanError:
    shown = "; ".join(f"/etc/{d.path}: {d.detail}" for d in drifted[:10]) + (
        " …" if len(drifted) > 10 else "")
    return GenmanError(
        f"{len(drifted)} managed /etc path(s) were changed by hand since the live "
        f"generation made them: {shown}",
        hint="`genman drift` shows the changes; put them into the profile, or run again with "
        "--backup (move them aside to <path>.genman-backup-<time>) or --force (overwrite)",
    )


def guard(state: SystemState, live: Manifest | None, touched: set[str], *, backup: bool,
          force: bool) -> list[str]:
    """The drifted paths among `touched` (paths a switch replaces or removes) to move aside
    first: all of them with `backup`, none with `force`; otherwise refused."""
    if force:
        return []
    drifted = [d for d in find(state, live) if d.path in touched]
    if drifted and not backup:
        raise refuse(drifted)
    return [d.path for d in drifted]
