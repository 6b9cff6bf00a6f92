"""gc: store paths nothing references go; those of generations, the active/booted system
and a pending journal stay; boot files no entry needs go."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import generation
from genman.bootloader import execute_boot, plan_boot
from genman.gc import plan_store
from genman.layout import Layout
from tests.bootsandbox import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path, root: Path, genman: Callable[..., object]) -> Sandbox:
    sb = Sandbox(tmp_path, root, genman)
    sb.install_systemd_boot()
    return sb


def test_gc_removes_unreferenced_store_paths_and_boot_files(sandbox: Sandbox) -> None:
    n = sandbox.build("one")
    layout = Layout.for_root(sandbox.root)
    store = sandbox.root / "var/lib/genman/store"
    orphan = store / ("0" * 32 + "-orphan")
    orphan.mkdir()
    (orphan / "f").write_text("x")
    orphan.chmod(0o555)
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=n, retained=[n]))
    stale = sandbox.esp / "EFI/genman" / ("2" * 32 + "-vmlinuz-old")
    stale.write_bytes(b"old")
    r = sandbox.genman("--root", sandbox.root, "gc")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert not orphan.exists() and not stale.exists()
    top = generation.toplevel_of(layout, n)
    refs = (store / top / "references").read_text().split()
    assert (store / top).is_dir() and all((store / ref).exists() for ref in refs)
    assert sandbox.entries() == [f"genman-{n}.conf"]


def test_gc_dry_run_and_active_link_into_the_store(sandbox: Sandbox) -> None:
    sandbox.build("one")
    store = sandbox.root / "var/lib/genman/store"
    layout = Layout.for_root(sandbox.root)
    top = generation.toplevel_of(layout, 1)
    (sandbox.root / "var/lib/genman/generations/1").unlink()  # only the active link is left
    active = sandbox.root / "run/genman/active"
    active.parent.mkdir(parents=True)
    active.symlink_to(f"/var/lib/genman/store/{top}")
    r = sandbox.genman("--root", sandbox.root, "gc", "--dry-run")
    assert r.code == 0 and "nothing to collect" in r.out  # type: ignore[attr-defined]
    r = sandbox.genman("--root", sandbox.root, "gc")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert "removed 0 store paths" in r.out  # type: ignore[attr-defined]
    assert (store / top).is_dir()


def test_store_paths_a_pending_journal_names_are_kept(sandbox: Sandbox) -> None:
    # `genman gc` first lets recovery finish or undo the journal; the plan itself still
    # keeps whatever a journal names, in case one is there.
    sandbox.build("one")
    store = sandbox.root / "var/lib/genman/store"
    in_flight = store / ("1" * 32 + "-in-flight")
    in_flight.write_text("y")
    unnamed = store / ("2" * 32 + "-unnamed")
    unnamed.write_text("z")
    (sandbox.root / "var/lib/genman/journal.json").write_text(
        json.dumps({"new_toplevel": in_flight.name}))
    plan = plan_store(sandbox.opts(), [1])
    assert [name for name, _ in plan.paths] == [unnamed.name]
