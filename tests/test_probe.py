"""probe reads /etc into a frozen SystemState: nodes, the ledger's directories, store
digests, and nothing below a link."""

from __future__ import annotations

import hashlib
from pathlib import Path

from genman.layout import Layout
from genman.probe import node_at, probe
from genman.services import InitSystem
from genman.state import ABSENT, NodeKind, ancestors


def test_ancestors() -> None:
    assert ancestors("a/b/c") == ["a", "a/b"]
    assert ancestors("motd") == []


def test_node_at(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "f").chmod(0o640)
    (tmp_path / "l").symlink_to("/etc/static/f")
    (tmp_path / "d").mkdir()
    f = node_at(str(tmp_path / "f"))
    assert (f.kind, f.mode, f.digest) == (NodeKind.FILE, 0o640, hashlib.sha256(b"x").hexdigest())
    assert node_at(str(tmp_path / "l")).target == "/etc/static/f"
    assert node_at(str(tmp_path / "d")).kind is NodeKind.DIR
    assert node_at(str(tmp_path / "nothing")) == ABSENT
    assert node_at(str(tmp_path / "f/below-a-file")) == ABSENT


def test_probe_reads_paths_and_stops_below_links(root: Path) -> None:
    (root / "etc/app").mkdir()
    (root / "etc/app/app.conf").write_text("threads = 1\n")
    (root / "etc/ln").symlink_to("/etc/app")
    store = root / "var/lib/genman/store"
    store.mkdir(parents=True)
    (store / ("a" * 32 + "-f")).write_bytes(b"copy")
    state = probe(Layout.for_root(root), ["app/app.conf", "ln/x", "gone/y"], ["a" * 32 + "-f"],
                  InitSystem.SYSVINIT)
    assert state.node("app").kind is NodeKind.DIR
    assert state.node("app/app.conf").kind is NodeKind.FILE
    assert state.node("ln").kind is NodeKind.LINK
    assert state.node("ln/x") == ABSENT  # not followed through the link
    assert state.node("gone/y") == ABSENT
    assert state.store_digests == {"a" * 32 + "-f": hashlib.sha256(b"copy").hexdigest()}
    assert state.ledger is None and state.static_target is None and not state.live
