"""prune and gc move what they remove into the trash under the lock and delete it after:
nothing is seen half-deleted, a crash leaves only trash, and the next run empties it."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import fsutil, generation, profile, trash
from genman.layout import Layout
from tests.conftest import Run
from tests.helpers import PROFILE, env, genman_cmd


def _generations(example: Path, root: Path, count: int,
                 monkeypatch: pytest.MonkeyPatch) -> Layout:
    """`count` generations of the example profile, each with its own /etc files, built
    in-process with the syncs off (setup, not what is tested)."""
    layout = Layout.for_root(root)
    with monkeypatch.context() as m:
        m.setattr(fsutil, "sync_filesystem", lambda path: None)
        m.setattr(fsutil, "fsync_dir", lambda path: None)
        for i in range(count):
            files = "".join(f'[etc."many/{j}.conf"]\ntext = "gen {i} file {j}\\n"\n'
                            for j in range(30))
            example.write_text(PROFILE.replace("idx = 3", f"idx = {i + 10}") + files)
            generation.build(profile.load(example, layout), layout)
    return layout


def test_prune_wait_leaves_no_trash_and_reports_the_space(
        example: Path, root: Path, genman: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _generations(example, root, 4, monkeypatch)
    r = genman("--root", root, "--bootloader", "none", "prune", "--keep", "1", "--wait")
    assert r.code == 0, r.err
    assert "removed 3 generations: 1-3" in r.out
    assert "freed 0 B" not in r.out and "freed " in r.out
    assert generation.generation_numbers(layout) == [4]
    assert not trash.pending(layout)


def test_a_crash_after_the_renames_leaves_trash_the_next_run_empties(
        example: Path, root: Path, genman: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _generations(example, root, 3, monkeypatch)
    doomed = generation.toplevel_of(layout, 1)
    with monkeypatch.context() as m:  # the process dies before it deletes anything
        m.setattr(trash, "dispose", lambda layout, wait: None)
        r = genman("--root", root, "--bootloader", "none", "prune", "--keep", "1")
    assert r.code == 0, r.err
    assert generation.generation_numbers(layout) == [3]
    assert not layout.host(layout.store_path(doomed)).exists()
    assert trash.pending(layout)
    left = [p for p in trash.trash_root(layout).rglob("*")]
    assert any(p.name == doomed for p in left)
    r = genman("--root", root, "--bootloader", "none", "gc", "--wait")
    assert r.code == 0, r.err
    assert not trash.pending(layout)
    r = genman("--root", root, "list-generations", "--json")
    assert r.code == 0 and '"number": 3' in r.out


def test_the_detached_emptier_empties_the_trash(
        example: Path, root: Path, genman: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _generations(example, root, 3, monkeypatch)
    r = genman("--root", root, "--bootloader", "none", "prune", "--keep", "1")
    assert r.code == 0, r.err
    trash.empty(trash.trash_root(layout))  # waits (flock) for the detached child's work
    assert not trash.pending(layout)
    assert trash.main(["/tmp/not-a-trash"]) == 2  # it deletes nothing but a trash dir


def test_a_concurrent_reader_never_sees_a_half_deleted_path(
        example: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _generations(example, root, 40, monkeypatch)
    gens = layout.host(layout.generations_dir)
    store = layout.host(layout.store_dir)
    tops = {n: generation.toplevel_of(layout, n) for n in generation.generation_numbers(layout)}
    torn: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            for n, top in tops.items():
                d = store / top
                whole = (d / "manifest.json").exists() and (d / "summary.json").exists()
                if not whole and d.exists():  # checked after: the name is still there
                    torn.append(f"store path {top} half-deleted")
                if not whole and os.path.lexists(gens / str(n)):
                    torn.append(f"generation {n} names a missing store path")

    t = threading.Thread(target=reader)
    t.start()
    try:
        r = subprocess.run(genman_cmd(root, "--bootloader", "none", "prune", "--keep", "1",
                                      "--wait"), env=env(), capture_output=True, text=True,
                           check=False)
    finally:
        done.set()
        t.join()
    assert r.returncode == 0, r.stderr
    assert generation.generation_numbers(layout) == [40]
    assert torn == []


def test_a_run_whose_trash_an_earlier_emptier_deleted_carries_on(tmp_path: Path) -> None:
    """The detached emptier of the run before deletes everything under the trash, this
    run's fresh directory included, while this run still moves paths into it."""
    (tmp_path / "var/lib/genman").mkdir(parents=True)
    bin_ = trash.Bin(Layout.for_root(tmp_path))
    for i, name in enumerate(("a", "b")):
        victim = tmp_path / name
        victim.mkdir()
        (victim / "f").write_text("x")
        assert bin_.move(victim, name)
        assert not victim.exists() and (bin_.dir / name / "f").is_file()
        if i == 0:
            fsutil.remove_tree(bin_.dir)  # the emptier of the run before, at work
