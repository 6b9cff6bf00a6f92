"""prune and pin: what goes, what must stay (default, active, booted, pinned), one plan
with the boot entries, and the bytes freed."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from genman import generation
from genman.bootloader import execute_boot, plan_boot
from genman.errors import GenmanError
from genman.layout import Layout
from genman.prune import parse_age
from tests.bootsandbox import Sandbox, snapshot


@pytest.fixture
def sandbox(tmp_path: Path, root: Path, genman: Callable[..., object]) -> Sandbox:
    sb = Sandbox(tmp_path, root, genman)
    sb.install_systemd_boot()
    return sb


def remaining(sb: Sandbox) -> list[int]:
    return generation.generation_numbers(Layout.for_root(sb.root))


def setup(sb: Sandbox, count: int, default: int) -> None:
    numbers = sb.build_many(count)
    sb.set_link("default", default)
    opts = sb.opts()
    execute_boot(opts, plan_boot(opts, default=default, retained=numbers))


def prune(sb: Sandbox, *args: str) -> object:
    r = sb.genman("--root", sb.root, "prune", *args)
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    return r


def test_default_older_than_newest_is_kept(sandbox: Sandbox) -> None:
    setup(sandbox, 4, default=2)
    r = prune(sandbox, "--keep", "1")
    assert remaining(sandbox) == [2, 4]
    assert "kept generation 2: default" in r.err  # type: ignore[attr-defined]
    assert sandbox.entries() == ["genman-2.conf", "genman-4.conf"]
    assert "default genman-*" in (sandbox.esp / "loader/loader.conf").read_text()
    assert "sort-key genman-1-default" in (sandbox.esp / "loader/entries/genman-2.conf").read_text()


def test_booted_and_active_differ_from_default_and_are_kept(sandbox: Sandbox) -> None:
    setup(sandbox, 5, default=4)
    sandbox.set_link("booted", 1)
    sandbox.set_link("active", 2)
    prune(sandbox, "--keep", "1")
    assert remaining(sandbox) == [1, 2, 4, 5]
    assert sandbox.entries() == [f"genman-{n}.conf" for n in (1, 2, 4, 5)]


def test_pinned_is_kept_until_unpinned(sandbox: Sandbox) -> None:
    setup(sandbox, 3, default=3)
    assert sandbox.genman("--root", sandbox.root, "pin", "1").code == 0  # type: ignore[attr-defined]
    assert (sandbox.root / "var/lib/genman/pins/1").is_file()
    prune(sandbox, "--keep", "1")
    assert remaining(sandbox) == [1, 3]
    rows = sandbox.genman("--root", sandbox.root, "list-generations", "--json")
    assert '"pinned": true' in rows.out  # type: ignore[attr-defined]
    assert sandbox.genman("--root", sandbox.root, "unpin", "1").code == 0  # type: ignore[attr-defined]
    prune(sandbox, "--keep", "1")
    assert remaining(sandbox) == [3]


def test_keep_1_keeps_only_the_newest_and_the_default(sandbox: Sandbox) -> None:
    setup(sandbox, 4, default=4)
    r = prune(sandbox, "--keep", "1")
    assert remaining(sandbox) == [4]
    assert sandbox.entries() == ["genman-4.conf"]
    out = r.out  # type: ignore[attr-defined]
    assert "removed 3 generations: 1-3" in out
    assert "on the store" in out


def test_keep_0_is_a_usage_error(sandbox: Sandbox) -> None:
    setup(sandbox, 2, default=2)
    r = sandbox.genman("--root", sandbox.root, "prune", "--keep", "0")
    assert r.code == 2  # type: ignore[attr-defined]
    assert remaining(sandbox) == [1, 2]


def test_dry_run_changes_nothing(sandbox: Sandbox) -> None:
    setup(sandbox, 3, default=3)
    before = snapshot(sandbox.root)
    r = prune(sandbox, "--keep", "1", "--dry-run")
    assert "remove generations 1, 2" in r.out  # type: ignore[attr-defined]
    assert "delete " in r.out  # type: ignore[attr-defined]
    assert snapshot(sandbox.root) == before


def test_older_than(sandbox: Sandbox) -> None:
    setup(sandbox, 3, default=3)
    old = (sandbox.root / "var/lib/genman/generations/1")
    t = old.lstat().st_mtime - 40 * 86400
    os.utime(old, (t, t), follow_symlinks=False)
    prune(sandbox, "--older-than", "30d")
    assert remaining(sandbox) == [2, 3]
    # with --keep too: only what is both old and outside the newest N goes
    t2 = t - 86400
    for n in (2, 3):
        os.utime(sandbox.root / f"var/lib/genman/generations/{n}", (t2, t2),
                 follow_symlinks=False)
    prune(sandbox, "--older-than", "30d", "--keep", "2")
    assert remaining(sandbox) == [2, 3]


def test_parse_age() -> None:
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age("2w") == timedelta(weeks=2)
    with pytest.raises(GenmanError):
        parse_age("soon")


def test_prune_removes_the_store_paths_only_the_pruned_generations_used(
        sandbox: Sandbox) -> None:
    setup(sandbox, 1, default=1)
    sandbox.set_kernel(b"second kernel" * 500, b"second initrd", "6.2.0-1-amd64")
    setup(sandbox, 1, default=2)
    layout = Layout.for_root(sandbox.root)
    old_top = generation.toplevel_of(layout, 1)
    old_kernel = generation.manifest_of(layout, 1).kernel
    assert old_kernel is not None
    prune(sandbox, "--keep", "1")
    store = sandbox.root / "var/lib/genman/store"
    assert not (store / old_top).exists() and not (store / old_kernel.image).exists()
    assert (store / generation.toplevel_of(layout, 2)).is_dir()
    files = sandbox.boot_files(sandbox.esp / "EFI/genman")
    assert len(files) == 2 and all("6.2.0-1" in f for f in files)
