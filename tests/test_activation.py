"""switch / test / boot / switch-generation / rollback / status / --dry-run, end to end in a
--root sandbox: after each step every managed /etc path resolves to that generation's
content, unmanaged files are byte-for-byte untouched and no stale managed path remains."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genman.layout import Layout
from tests.helpers import (
    check_generation,
    make_root,
    snapshot,
    tree_hash,
    write_profiles,
)

# ---------------------------------------------------------------- tests


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[int, Path]]:
    return make_root(tmp_path), write_profiles(tmp_path)


Genman = Callable[..., Any]


def test_switch_rollback_switch_generation_sequence(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    for n in (1, 2, 3):
        r = genman("--root", root, "switch", profiles[n])
        assert r.code == 0, r.err
        assert r.out.strip() == f"switched to generation {n}"
        check_generation(root, n)
        assert os.readlink(root / "var/lib/genman/default") == f"/var/lib/genman/generations/{n}"
    # generation 1's nested dirs are gone with generation 2; d1 came back with 3.
    assert not (root / "etc/d1/d2").exists()
    assert (root / "etc/systemd/system/api.service").is_symlink()

    r = genman("--root", root, "rollback")
    assert r.code == 0, r.err
    check_generation(root, 2)
    assert not (root / "etc/systemd/system").exists()  # genman made it, now empty
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/2"

    r = genman("--root", root, "switch-generation", "1")
    assert r.code == 0, r.err
    check_generation(root, 1)
    assert not (root / "etc/new").exists()
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/1"
    assert (root / "etc/app").is_dir()  # the admin's local.conf keeps it


def test_services_are_planned_not_run_under_root(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    r = genman("--root", root, "switch", profiles[2])
    assert r.code == 0
    assert "not run under --root: reload web" in r.err
    assert "restart app" not in r.err  # app.conf did not change


def test_dry_run_changes_nothing_and_prints_the_plan(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    assert genman("--root", root, "switch", profiles[1]).code == 0
    before = tree_hash(root)
    r = genman("--root", root, "switch", "--dry-run", profiles[2])
    assert r.code == 0, r.err
    assert tree_hash(root) == before
    out = r.out
    assert "plan for generation 2:" in out
    assert "etc: ~ /etc/secret.conf (file, mode 0640" in out
    assert "etc: + /etc/new/x -> /etc/static/new/x" in out
    assert "etc: ~ /etc/motd (new content through /etc/static)" in out
    assert "etc: - /etc/d1/d2/f1" in out
    assert "etc: rmdir /etc/d1/d2 (genman made it; now empty)" in out
    assert "services: reload web (web): changed: web.conf" in out
    assert "services: app (app)" not in out
    assert "unchanged app (app): nothing it uses changed" in out
    assert "default: /var/lib/genman/default -> /var/lib/genman/generations/2" in out
    # The same for a generation that exists already, and for rollback.
    genman("--root", root, "build", profiles[2])
    before = tree_hash(root)
    assert genman("--root", root, "switch", "--dry-run", profiles[2]).code == 0
    assert genman("--root", root, "switch-generation", "--dry-run", "2").code == 0
    assert tree_hash(root) == before


def test_dry_run_plan_is_the_plan_that_runs(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    genman("--root", root, "build", profiles[2])
    dry = genman("--root", root, "switch-generation", "--dry-run", "2").out.splitlines()[1:]
    from genman import activation
    from genman.context import Options

    result = activation.switch_generation(Options(Layout.for_root(root)), 2, lambda _: None)
    assert [f"  {line}" for line in result.plan.describe()] == dry


def test_unmanaged_file_in_the_way_is_refused_then_backed_up(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    (root / "etc/motd").write_text("the admin's motd\n")
    before = snapshot(root)
    r = genman("--root", root, "switch", profiles[1])
    assert r.code == 1
    assert "/etc/motd" in r.err and "--backup" in r.err
    after = snapshot(root)
    assert after == before  # refused before anything changed
    r = genman("--root", root, "switch", "--backup", profiles[1])
    assert r.code == 0, r.err
    check_generation(root, 1)
    backups = list((root / "etc").glob("motd.genman-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == "the admin's motd\n"


def test_test_keeps_default_and_boot_does_not_activate(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    assert genman("--root", root, "switch", profiles[1]).code == 0
    assert genman("--root", root, "test", profiles[2]).code == 0
    check_generation(root, 2)
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/1"
    r = genman("--root", root, "status", "--json")
    st = json.loads(r.out)
    assert (st["default"], st["active"]) == (1, 2)
    assert any("differs from the default" in w for w in st["warnings"])

    etc_before = {k: v for k, v in snapshot(root).items() if k.startswith("etc")}
    assert genman("--root", root, "boot", profiles[3]).code == 0
    assert {k: v for k, v in snapshot(root).items() if k.startswith("etc")} == etc_before
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/3"
    r = genman("--root", root, "status")
    assert "default: 3" in r.out and "active:  2" in r.out


def test_rollback_without_older_generation_is_a_clear_error(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    r = genman("--root", root, "rollback")
    assert r.code == 1
    assert "oldest" in r.err
    r = genman("--root", root, "switch-generation", "9")
    assert r.code == 1 and "generation 9 does not exist" in r.err
