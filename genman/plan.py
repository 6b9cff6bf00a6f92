"""Pure: (SystemState, old, request) -> Plan. No I/O here.

A Plan is a tuple of small frozen actions; `execute.py` interprets them one by one and
`switch --dry-run` prints them. Tests build states by hand and compare plans with `==`.

The order of a switch (DESIGN rule 3, and what crash recovery relies on):

1. stop services that are gone;
2. the ledger grows to old ∪ new *before* anything in /etc changes, so an interruption
   never leaves a genman-made path the ledger does not name;
3. directories, backups, `/etc/static` flip (one rename), links and copies, then stale
   entries and empty directories genman made; the PATH snippet;
4. the ledger shrinks to exactly the new generation; `/run/genman/active` flips;
5. daemon-reload (when a unit file changed), reload / restart / start;
6. boot entries, then the default link.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum, StrEnum

from genman import drift
from genman.bootloader.model import BootPlan
from genman.etcwants import PATH_PROFILE, CopyWant, LinkWant, Want, desired_etc, static_target
from genman.layout import Layout, is_secret_name
from genman.ledger import Kind, Ledger
from genman.ledger import make as make_ledger
from genman.manifest import Manifest
from genman.services.decide import CheckRunning as CheckRunning
from genman.services.decide import DaemonReload as DaemonReload
from genman.services.decide import Service as Service
from genman.services.decide import service_actions
from genman.state import NodeKind, SystemState, ancestors


@dataclass(frozen=True)
class Target:
    """A generation to activate or make the default. `number` None: its generation link
    is gone (recovery can still bring back the /etc of a store path)."""

    number: int | None
    toplevel: str  # store name
    manifest: Manifest


# ---------------------------------------------------------------- actions


class StateLink(StrEnum):
    ACTIVE = "active"
    DEFAULT = "default"


@dataclass(frozen=True)
class WriteLedger:
    ledger: Ledger | None  # None: remove it (nothing is managed any more)
    final: bool

    def describe(self) -> str:
        if self.ledger is None:
            return "etc: remove the ledger /etc/genman/ledger.json"
        what = "the new generation's paths" if self.final else "old and new paths (until done)"
        return f"etc: ledger /etc/genman/ledger.json records {what}"


@dataclass(frozen=True)
class MakeDir:
    path: str

    def describe(self) -> str:
        return f"etc: mkdir /etc/{self.path}"


@dataclass(frozen=True)
class MoveAside:
    path: str
    to: str
    drifted: bool = False  # a managed path changed by hand, not an unmanaged one

    def describe(self) -> str:
        what = "changed by hand" if self.drifted else "unmanaged"
        return f"etc: move {what} /etc/{self.path} aside to /etc/{self.to}"


@dataclass(frozen=True)
class FlipStatic:
    target: str | None
    # Managed links whose content changes with the flip (shown, nothing else to do).
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.target is None:
            return "etc: remove /etc/static"
        return "\n".join([f"etc: /etc/static -> {self.target}"]
                         + [f"etc: ~ /etc/{p} (new content through /etc/static)"
                            for p in self.changed])


@dataclass(frozen=True)
class PutLink:
    path: str
    target: str
    replace: bool  # something genman manages is there already

    def describe(self) -> str:
        return f"etc: {'~' if self.replace else '+'} /etc/{self.path} -> {self.target}"


@dataclass(frozen=True)
class PutCopy:
    path: str
    store: str
    mode: int
    uid: int | None  # None: leave the owner (genman cannot chown here)
    gid: int | None
    replace: bool

    def describe(self) -> str:
        owner = f"{self.uid}:{self.gid}" if self.uid is not None else "unchanged (not root)"
        what = "secret" if is_secret_name(self.store) else "file"
        return (f"etc: {'~' if self.replace else '+'} /etc/{self.path} "
                f"({what}, mode {self.mode:04o}, owner {owner})")


@dataclass(frozen=True)
class Remove:
    path: str

    def describe(self) -> str:
        return f"etc: - /etc/{self.path}"


@dataclass(frozen=True)
class RemoveDir:
    path: str

    def describe(self) -> str:
        return f"etc: rmdir /etc/{self.path} (genman made it; now empty)"


@dataclass(frozen=True)
class WritePathProfile:
    text: str | None  # None: remove it

    def describe(self) -> str:
        if self.text is None:
            return "PATH: remove /etc/profile.d/genman.sh"
        return ("PATH: /etc/profile.d/genman.sh puts /run/genman/active/sw/bin and sw/sbin "
                "on PATH")


@dataclass(frozen=True)
class SetStateLink:
    which: StateLink
    number: int | None  # None: remove the link

    def describe(self) -> str:
        path = Layout.active_link if self.which is StateLink.ACTIVE else Layout.default_link
        if self.number is None:
            return f"{self.which.value}: remove {path}"
        return (f"{self.which.value}: {path} -> {Layout.generations_dir / str(self.number)}"
                + (" (PATH: its sw/bin and sw/sbin)" if self.which is StateLink.ACTIVE else ""))


@dataclass(frozen=True)
class BootEntries:
    plan: BootPlan

    def describe(self) -> str:
        lines = self.plan.describe()
        return "\n".join(f"boot: {line}" for line in lines) or "boot: entries unchanged"

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


PlanAction = (WriteLedger | MakeDir | MoveAside | FlipStatic | PutLink | PutCopy | Remove
              | RemoveDir | WritePathProfile | SetStateLink | DaemonReload | Service
              | CheckRunning | BootEntries)


@dataclass(frozen=True)
class Plan:
    actions: tuple[PlanAction, ...]

    def describe(self) -> list[str]:
        return [line for a in self.actions for line in a.describe().splitlines()] or [
            "nothing to do"]

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user must hear once, e.g. that no bootloader was found."""
        return tuple(w for a in self.actions if isinstance(a, BootEntries) for w in a.warnings)


# ---------------------------------------------------------------- planning /etc


def _matches(state: SystemState, path: str, want: Want) -> bool:
    n = state.node(path)
    match want:
        case LinkWant(target):
            return n.kind is NodeKind.LINK and n.target == target
        case CopyWant(store, mode, uid, gid):
            return (n.kind is NodeKind.FILE and n.digest == state.store_digests.get(store)
                    and n.mode == mode and (not state.can_chown or (n.uid, n.gid) == (uid, gid)))


def _kind(state: SystemState, gone: set[str], path: str) -> NodeKind:
    """What is at `path` once the paths in `gone` (and so their subtrees) are gone."""
    if any(a in gone for a in ancestors(path)):
        return NodeKind.ABSENT
    return state.node(path).kind


def _dirs(state: SystemState, needed: set[str], managed: frozenset[str]
          ) -> tuple[list[str], list[str], list[str], set[str]]:
    """Directories to make; managed files in their way (removed first); unmanaged things
    in their way (conflicts); and every path whose old subtree will not be there."""
    gone: set[str] = set()
    mkdirs: list[str] = []
    early: list[str] = []
    conflicts: list[str] = []
    for d in sorted(needed):
        kind = _kind(state, gone, d)
        if kind is NodeKind.DIR:
            continue
        if kind is NodeKind.ABSENT:
            pass
        elif d in managed and kind in (NodeKind.LINK, NodeKind.FILE):
            early.append(d)
        else:
            conflicts.append(d)
        gone.add(d)
        mkdirs.append(d)
    return mkdirs, early, conflicts, gone


def _puts(state: SystemState, want: dict[str, Want], managed: frozenset[str],
          gone: set[str], conflicts: list[str]) -> list[PlanAction]:
    """A link or copy for every wanted path not already right; unmanaged things in the
    way are added to `conflicts`."""
    puts: list[PlanAction] = []
    for path, w in sorted(want.items()):
        kind = _kind(state, gone, path)
        if kind is not NodeKind.ABSENT and _matches(state, path, w):
            continue
        replace = kind is not NodeKind.ABSENT
        if replace and (path not in managed or kind not in (NodeKind.LINK, NodeKind.FILE)):
            conflicts.append(path)
            replace = False
        match w:
            case LinkWant(t):
                puts.append(PutLink(path, t, replace))
            case CopyWant(store, mode, uid, gid):
                puts.append(PutCopy(path, store, mode, uid if state.can_chown else None,
                                    gid if state.can_chown else None, replace))
    return puts


def _rmdirs(state: SystemState, made: set[str], keep: set[str], removed: set[str]
            ) -> list[str]:
    """Directories genman made that nothing needs and that are left empty, deepest first."""
    rmdirs: list[str] = []
    for d in sorted(made, key=lambda d: (-d.count("/"), d)):
        if d in keep or state.node(d).kind is not NodeKind.DIR:
            continue
        left = {name for name in state.children.get(d, frozenset())
                if f"{d}/{name}" not in removed and f"{d}/{name}" not in rmdirs}
        if not left:
            rmdirs.append(d)
    return rmdirs


def _changed_through_static(target: Target | None, old_manifest: Manifest | None,
                            puts: list[PlanAction]) -> tuple[str, ...]:
    """Managed links whose content changes with the /etc/static flip (for the plan text)."""
    before = old_manifest.etc if old_manifest else {}
    relinked = {a.path for a in puts if isinstance(a, PutLink)}
    return tuple(sorted(
        p for p, e in (target.manifest.etc.items() if target else ())
        if not e.is_copy and p in before and before[p].store != e.store and p not in relinked))


def plan_etc(state: SystemState, target: Target | None, *, backup: bool,
             old_manifest: Manifest | None = None, guard: bool = False,
             force: bool = False) -> list[PlanAction]:
    """Make /etc hold exactly `target`'s files (None: no generation), touching nothing else.
    `old_manifest` is what is live now: with `guard`, what was changed by hand since is
    refused, moved aside (`backup`) or overwritten (`force`); see genman.drift."""
    old = state.ledger or Ledger()
    managed = old.files
    want = desired_etc(target.manifest) if target else {}
    needed = {a for p in want for a in ancestors(p)}
    mkdirs, early_removals, conflicts, gone = _dirs(state, needed, managed)
    puts = _puts(state, want, managed, gone, conflicts)
    if conflicts and not backup:
        raise drift.conflict_error(sorted(conflicts))
    stale = sorted(p for p in managed if p not in want and p not in early_removals
                   and state.node(p).kind in (NodeKind.LINK, NodeKind.FILE))
    touched = {a.path for a in puts if isinstance(a, PutLink | PutCopy) and a.replace}
    aside = drift.guard(state, old_manifest, touched | set(stale) | set(early_removals),
                        backup=backup, force=force) if guard else []
    puts = [dataclasses.replace(a, replace=False)
            if isinstance(a, PutLink | PutCopy) and a.path in aside else a for a in puts]
    stale, early_removals = ([p for p in ps if p not in aside] for ps in (stale, early_removals))
    made = set(old.dirs) | set(mkdirs)
    rmdirs = _rmdirs(state, made, needed | set(mkdirs), set(stale) | set(early_removals))
    kept_dirs = {d for d in made if d not in rmdirs
                 and (d in mkdirs or state.node(d).kind is NodeKind.DIR)}
    files = [(Kind.COPY if isinstance(w, CopyWant) else Kind.LINK, p) for p, w in want.items()]
    toplevel = str(Layout.store_dir / target.toplevel) if target else None
    final = make_ledger(toplevel, files, kept_dirs)
    static = static_target(target.toplevel) if target else None

    body: list[PlanAction] = [Remove(p) for p in early_removals]
    body += [MoveAside(c, f"{c}.genman-backup-{state.now}", c in aside)
             for c in sorted(conflicts + aside)]
    body += [MakeDir(d) for d in mkdirs]
    if state.static_target != static:
        body.append(FlipStatic(static, _changed_through_static(target, old_manifest, puts)))
    body += puts
    body += [Remove(p) for p in stale]
    body += [RemoveDir(d) for d in rmdirs]
    profile = PATH_PROFILE if target else None
    if state.path_profile != profile:
        body.append(WritePathProfile(profile))
    return _with_ledger(state, old, final, toplevel, body, final_gone=target is None)


def _with_ledger(state: SystemState, old: Ledger, final: Ledger, toplevel: str | None,
                 body: list[PlanAction], *, final_gone: bool) -> list[PlanAction]:
    """The ledger grows to old ∪ new before `body`, and is exactly the new one after."""
    if not body and state.ledger == (None if final_gone else final):
        return []
    actions: list[PlanAction] = []
    if body:
        pending = old.union(final, toplevel)
        if pending != state.ledger:
            actions.append(WriteLedger(pending, final=False))
    actions += body
    if final_gone and not final.dirs:
        actions.append(WriteLedger(None, final=True))
    else:
        actions.append(WriteLedger(final, final=True))
    return actions


# ---------------------------------------------------------------- the whole plan


class Keep(Enum):
    """Request.default: leave the default link as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class Request:
    """What a command wants. `activate`: make `target`'s /etc, PATH and services live
    (target None: no generation at all, used by recovery). `default`: the number the
    default link should name, or KEEP."""

    target: Target | None
    activate: bool
    default: int | Keep | None = Keep.KEEP
    backup: bool = False
    boot: BootPlan | None = None  # written before the default flips
    guard: bool = False  # refuse to replace what was changed by hand (genman.drift)
    force: bool = False  # ... or overwrite it


def plan_switch(state: SystemState, old: Manifest | None, request: Request) -> Plan:
    """Pure. `old` is the manifest whose /etc and services are live now (None: none)."""
    actions: list[PlanAction] = []
    target = request.target
    if request.activate:
        new = target.manifest if target else None
        before, after = service_actions(state, old, new)
        actions += before
        actions += plan_etc(state, target, backup=request.backup, old_manifest=old,
                            guard=request.guard, force=request.force)
        number = target.number if target else None
        if state.markers.active != number:
            actions.append(SetStateLink(StateLink.ACTIVE, number))
        actions += after
    if request.boot is not None:
        actions.append(BootEntries(request.boot))
    if request.default is not KEEP and state.markers.default != request.default:
        actions.append(SetStateLink(StateLink.DEFAULT, request.default))
    return Plan(tuple(actions))
