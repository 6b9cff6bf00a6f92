"""plan_switch is pure: hand-built states in, plans compared with == out. No disk, no mocks."""

from __future__ import annotations

import pytest

from genman.errors import GenmanError
from genman.ledger import Kind, Ledger
from genman.manifest import EtcEntry, Manifest, ServiceEntry
from genman.plan import (
    PATH_PROFILE,
    DaemonReload,
    FlipStatic,
    MakeDir,
    MoveAside,
    Plan,
    PutCopy,
    PutLink,
    Remove,
    RemoveDir,
    Request,
    Service,
    SetStateLink,
    StateLink,
    Target,
    WriteLedger,
    WritePathProfile,
    plan_switch,
)
from genman.services import Action, InitSystem, ServiceChange
from genman.state import Markers, Node, NodeKind, SystemState

STORE = "/var/lib/genman/store"


def state(nodes: dict[str, Node] | None = None, ledger: Ledger | None = None,
          static: str | None = None, active: int | None = None, default: int | None = None,
          children: dict[str, frozenset[str]] | None = None, profile: str | None = PATH_PROFILE,
          live: bool = False, digests: dict[str, str] | None = None) -> SystemState:
    return SystemState(
        live=live, init_system=InitSystem.SYSTEMD, can_chown=True, boot_id="b", now="T",
        markers=Markers(default, active, None, frozenset()), ledger=ledger,
        static_target=static, path_profile=profile, nodes=nodes or {},
        children=children or {}, store_digests=digests or {},
    )


def manifest(etc: dict[str, EtcEntry], services: dict[str, ServiceEntry] | None = None
             ) -> Manifest:
    return Manifest("h", "", None, None, etc=etc, services=services or {})


def link(p: str) -> Node:
    return Node(NodeKind.LINK, target=f"/etc/static/{p}")


def ledger(top: str, *entries: tuple[Kind, str]) -> Ledger:
    return Ledger(f"{STORE}/{top}", frozenset(entries))


M1 = manifest({"motd": EtcEntry("aaa-motd"), "a/b/conf": EtcEntry("bbb-conf")})
M2 = manifest({"motd": EtcEntry("ccc-motd"), "secret": EtcEntry("ddd-secret", 0o600, 0, 42)})
L1 = ledger("t1", (Kind.LINK, "motd"), (Kind.LINK, "a/b/conf"), (Kind.DIR, "a"),
            (Kind.DIR, "a/b"))
S1 = state(
    nodes={"motd": link("motd"), "a": Node(NodeKind.DIR), "a/b": Node(NodeKind.DIR),
           "a/b/conf": link("a/b/conf")},
    ledger=L1, static=f"{STORE}/t1/etc", active=1, default=1,
    children={"a": frozenset({"b"}), "a/b": frozenset({"conf"})},
)


def test_first_switch() -> None:
    s = state(nodes={}, profile=None)
    plan = plan_switch(s, None, Request(Target(1, "t1", M1), activate=True, default=1))
    final = ledger("t1", (Kind.LINK, "motd"), (Kind.LINK, "a/b/conf"), (Kind.DIR, "a"),
                   (Kind.DIR, "a/b"))
    assert plan == Plan((
        WriteLedger(final, final=False),
        MakeDir("a"), MakeDir("a/b"),
        FlipStatic(f"{STORE}/t1/etc"),
        PutLink("a/b/conf", "/etc/static/a/b/conf", False),
        PutLink("motd", "/etc/static/motd", False),
        WritePathProfile(PATH_PROFILE),
        WriteLedger(final, final=True),
        SetStateLink(StateLink.ACTIVE, 1),
        SetStateLink(StateLink.DEFAULT, 1),
    ))


def test_switch_removes_stale_paths_and_the_dirs_genman_made() -> None:
    plan = plan_switch(S1, M1, Request(Target(2, "t2", M2), activate=True, default=2))
    final = ledger("t2", (Kind.LINK, "motd"), (Kind.COPY, "secret"))
    assert plan == Plan((
        WriteLedger(L1.union(final, f"{STORE}/t2"), final=False),
        FlipStatic(f"{STORE}/t2/etc", changed=("motd",)),  # aaa-motd -> ccc-motd
        PutCopy("secret", "ddd-secret", 0o600, 0, 42, False),
        Remove("a/b/conf"),
        RemoveDir("a/b"),
        RemoveDir("a"),
        WriteLedger(final, final=True),
        SetStateLink(StateLink.ACTIVE, 2),
        SetStateLink(StateLink.DEFAULT, 2),
    ))


def test_dir_with_foreign_files_is_kept() -> None:
    s = state(nodes=dict(S1.nodes), ledger=L1, static=f"{STORE}/t1/etc", active=1, default=1,
              children={"a": frozenset({"b", "admin.conf"}), "a/b": frozenset({"conf"})})
    plan = plan_switch(s, M1, Request(Target(2, "t2", M2), activate=True, default=2))
    assert RemoveDir("a/b") in plan.actions
    assert RemoveDir("a") not in plan.actions
    final = next(a for a in plan.actions if isinstance(a, WriteLedger) and a.final)
    assert final.ledger is not None and final.ledger.dirs == {"a"}


def test_same_generation_is_a_no_op() -> None:
    assert plan_switch(S1, M1, Request(Target(1, "t1", M1), activate=True, default=1)) == Plan(())


def test_unmanaged_file_is_refused_with_its_name() -> None:
    s = state(nodes={"motd": Node(NodeKind.FILE, digest="x", mode=0o644, uid=0, gid=0)})
    with pytest.raises(GenmanError, match=r"/etc/motd") as e:
        plan_switch(s, None, Request(Target(1, "t1", M2), activate=True, default=1))
    assert "--backup" in (e.value.hint or "")


def test_backup_moves_it_aside_first() -> None:
    s = state(nodes={"motd": Node(NodeKind.FILE, digest="x", mode=0o644, uid=0, gid=0)})
    plan = plan_switch(s, None, Request(Target(1, "t1", M2), activate=True, default=1,
                                        backup=True))
    acts = list(plan.actions)
    aside = acts.index(MoveAside("motd", "motd.genman-backup-T"))
    put = acts.index(PutLink("motd", "/etc/static/motd", False))
    assert aside < put


def test_matching_copy_is_left_alone_and_wrong_mode_is_fixed() -> None:
    good = Node(NodeKind.FILE, digest="h", mode=0o600, uid=0, gid=42)
    base = dict(nodes={"motd": link("motd"), "secret": good}, static=f"{STORE}/t2/etc",
                ledger=ledger("t2", (Kind.LINK, "motd"), (Kind.COPY, "secret")),
                digests={"ddd-secret": "h"}, active=2, default=2)
    req = Request(Target(2, "t2", M2), activate=True, default=2)
    assert plan_switch(state(**base), M2, req) == Plan(())  # type: ignore[arg-type]
    base["nodes"] = {"motd": link("motd"), "secret": Node(NodeKind.FILE, digest="h",
                                                          mode=0o644, uid=0, gid=42)}
    plan = plan_switch(state(**base), M2, req)  # type: ignore[arg-type]
    assert PutCopy("secret", "ddd-secret", 0o600, 0, 42, True) in plan.actions


def test_boot_does_not_activate() -> None:
    plan = plan_switch(S1, None, Request(Target(2, "t2", M2), activate=False, default=2,
                                         boot="BOOTPLAN"))
    from genman.plan import BootEntries

    assert plan == Plan((BootEntries("BOOTPLAN"), SetStateLink(StateLink.DEFAULT, 2)))


def test_service_actions_are_ordered_around_etc() -> None:
    old = manifest(dict(M1.etc), {"gone": ServiceEntry("gone", None, (), "restart", "1"),
                                  "app": ServiceEntry("app", "u1-app.service", (), "restart",
                                                      "1")})
    new = manifest(dict(M1.etc), {"app": ServiceEntry("app", "u2-app.service", (), "restart",
                                                      "2")})
    s = state(nodes=dict(S1.nodes), ledger=L1, static=f"{STORE}/t1/etc", active=1, default=1,
              children=dict(S1.children))
    plan = plan_switch(s, old, Request(Target(2, "t2", new), activate=True, default=2))
    kinds = [type(a).__name__ for a in plan.actions]
    why = "unit file changed (content not built yet)"
    assert plan.actions[:2] == (
        Service(ServiceChange("gone", "gone", Action.STOP, "no longer in the profile", True),
                False),
        Service(ServiceChange("app", "app", Action.STOP,
                              f"{why}: stopped with its old definition"), False))
    assert kinds.index("DaemonReload") > kinds.index("SetStateLink")
    assert plan.actions[kinds.index("DaemonReload") + 1] == Service(
        ServiceChange("app", "app", Action.START, why), False)
    assert DaemonReload(False) in plan.actions
    assert PutLink("systemd/system/app.service", f"{STORE}/u2-app.service", True) \
        not in plan.actions  # the unit link was not in the old ledger: it is new
    assert PutLink("systemd/system/app.service", f"{STORE}/u2-app.service", False) \
        in plan.actions


def test_quotes_in_paths_are_refused() -> None:
    bad = manifest({'a"b': EtcEntry("x")})
    with pytest.raises(GenmanError, match="cannot manage"):
        plan_switch(state(), None, Request(Target(1, "t", bad), activate=True))


def test_recovery_to_no_generation_removes_everything_genman_made() -> None:
    plan = plan_switch(S1, M1, Request(None, activate=True, default=None))
    assert plan.actions[-1] == SetStateLink(StateLink.DEFAULT, None)
    assert FlipStatic(None) in plan.actions
    assert WritePathProfile(None) in plan.actions
    assert WriteLedger(None, final=True) in plan.actions
    assert {Remove("motd"), Remove("a/b/conf"), RemoveDir("a"), RemoveDir("a/b")} <= set(
        plan.actions)


def test_drift_is_refused_moved_aside_or_overwritten() -> None:
    from genman.drift import DriftKind, find

    edited = Node(NodeKind.FILE, digest="by-hand", mode=0o600, uid=0, gid=42)
    s = state(nodes={"motd": Node(NodeKind.FILE, digest="x", mode=0o644, uid=0, gid=0),
                     "secret": edited},
              ledger=ledger("t2", (Kind.LINK, "motd"), (Kind.COPY, "secret")),
              static=f"{STORE}/t2/etc", active=2, default=2, digests={"ddd-secret": "orig"})
    assert [(d.path, d.kinds) for d in find(s, M2)] == [
        ("motd", (DriftKind.REPLACED,)), ("secret", (DriftKind.EDITED,))]
    back = Request(Target(1, "t1", M1), activate=True, default=1, guard=True)
    with pytest.raises(GenmanError, match="changed by hand") as e:
        plan_switch(s, M2, back)
    assert "/etc/motd: the link was replaced by a file" in e.value.message
    assert "/etc/secret: content edited" in e.value.message
    aside = plan_switch(s, M2, Request(Target(1, "t1", M1), activate=True, default=1,
                                       guard=True, backup=True)).actions
    assert MoveAside("motd", "motd.genman-backup-T", drifted=True) in aside
    assert MoveAside("secret", "secret.genman-backup-T", drifted=True) in aside
    assert Remove("secret") not in aside
    assert PutLink("motd", "/etc/static/motd", replace=False) in aside
    forced = plan_switch(s, M2, Request(Target(1, "t1", M1), activate=True, default=1,
                                        guard=True, force=True)).actions
    assert not [a for a in forced if isinstance(a, MoveAside)]
    assert Remove("secret") in forced and PutLink("motd", "/etc/static/motd", True) in forced
    # Without the guard (recovery), the plan is the one it always was.
    assert plan_switch(s, M2, Request(Target(1, "t1", M1), activate=True, default=1)) == \
        Plan(tuple(forced))
