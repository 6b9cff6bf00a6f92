"""Drift: managed /etc paths changed by hand are reported (`drift`, `status`) and a switch
refuses to overwrite them unless given --backup or --force."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run

PROFILE = """
[etc.motd]
text = "{motd}\\n"
[etc."app/app.conf"]
text = "threads = {threads}\\n"
mode = "0640"
group = "bird"
[etc.keep]
text = "unchanged\\n"
"""


def _profiles(tmp_path: Path) -> tuple[Path, Path]:
    one, two = tmp_path / "one.toml", tmp_path / "two.toml"
    one.write_text(PROFILE.format(motd="hello", threads=1))
    two.write_text(PROFILE.format(motd="hello again", threads=2))
    return one, two


def _relink(p: Path) -> None:
    p.unlink()
    p.symlink_to("/etc/keep")


def _replace(p: Path) -> None:
    p.unlink()
    p.write_text("my own motd\n")


def _edit(p: Path) -> None:
    with open(p, "a") as f:
        f.write("threads = 8\n")


def _chown(p: Path) -> None:
    os.chown(p, 108, 115)


CASES = {
    # name: (path, change, kind, detail)
    "link replaced by a file": ("motd", _replace, "replaced", "the link was replaced by a file"),
    "link retargeted": ("motd", _relink, "retargeted", "link now points to /etc/keep"),
    "file edited": ("app/app.conf", _edit, "edited", "content edited"),
    "mode changed": ("app/app.conf", lambda p: p.chmod(0o644), "mode",
                     "mode 0644 (genman set 0640)"),
    "owner changed": ("app/app.conf", _chown, "owner", "owner 108:115 (genman set 0:115)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_drift_is_reported_and_refused(
        tmp_path: Path, root: Path, genman: Callable[..., Run], case: str) -> None:
    path, change, kind, detail = CASES[case]
    one, two = _profiles(tmp_path)
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    assert json.loads(genman("--root", root, "drift", "--json").out) == []
    target = root / "etc" / path
    change(target)
    before = (os.readlink(target) if target.is_symlink() else target.read_bytes(),
              os.lstat(target).st_mode, os.lstat(target).st_uid)

    found = json.loads(genman("--root", root, "drift", "--json").out)
    assert [(f["path"], f["kinds"]) for f in found] == [(f"/etc/{path}", [kind])]
    assert detail in found[0]["detail"]
    status = genman("--root", root, "status")
    assert f"/etc/{path}: {found[0]['detail']}" in status.out, status.out
    assert json.loads(genman("--root", root, "status", "--json").out)["drift"] == found

    for args in ((), ("--dry-run",)):
        r = genman("--root", root, "--bootloader", "none", "switch", *args, two)
        assert r.code == 1, r.out
        assert f"/etc/{path}: {detail}" in r.err and "--backup" in r.err and "--force" in r.err
    after = (os.readlink(target) if target.is_symlink() else target.read_bytes(),
             os.lstat(target).st_mode, os.lstat(target).st_uid)
    assert after == before, "a refused switch changed nothing"

    r = genman("--root", root, "--bootloader", "none", "switch", "--backup", two)
    assert r.code == 0, r.err
    backups = list(target.parent.glob(f"{target.name}.genman-backup-*"))
    assert len(backups) == 1
    moved = backups[0]
    assert (os.readlink(moved) if moved.is_symlink() else moved.read_bytes()) == before[0]
    assert json.loads(genman("--root", root, "drift", "--json").out) == []


def test_force_overwrites_and_an_untouched_drift_is_left_alone(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, two = _profiles(tmp_path)
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    _edit(root / "etc/app/app.conf")
    _replace(root / "etc/keep")
    # `keep` is the same in both generations, but its link would be put back: refused too.
    r = genman("--root", root, "--bootloader", "none", "switch", two)
    assert r.code == 1 and "/etc/keep" in r.err and "/etc/app/app.conf" in r.err
    r = genman("--root", root, "--bootloader", "none", "switch", "--force", two)
    assert r.code == 0, r.err
    assert (root / "etc/app/app.conf").read_text() == "threads = 2\n"
    assert os.readlink(root / "etc/keep") == "/etc/static/keep"
    assert not list((root / "etc").rglob("*.genman-backup-*"))
    # Removed by hand: reported, and put back by the next switch without asking.
    (root / "etc/motd").unlink()
    found = json.loads(genman("--root", root, "drift", "--json").out)
    assert [(f["path"], f["kinds"]) for f in found] == [("/etc/motd", ["missing"])]
    assert genman("--root", root, "--bootloader", "none", "switch", two).code == 0
    assert os.readlink(root / "etc/motd") == "/etc/static/motd"


def test_a_drifted_path_the_new_generation_drops_is_not_removed_silently(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, _ = _profiles(tmp_path)
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    _edit(root / "etc/app/app.conf")
    (tmp_path / "three.toml").write_text('[etc.motd]\ntext = "hello\\n"\n')
    r = genman("--root", root, "--bootloader", "none", "switch", tmp_path / "three.toml")
    assert r.code == 1 and "/etc/app/app.conf: content edited" in r.err
    r = genman("--root", root, "--bootloader", "none", "switch", "--backup",
               tmp_path / "three.toml")
    assert r.code == 0, r.err
    assert not (root / "etc/app/app.conf").exists()
    [kept] = (root / "etc/app").glob("app.conf.genman-backup-*")
    assert kept.read_text() == "threads = 1\nthreads = 8\n"


def test_drift_shows_a_unified_diff_for_text(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, _ = _profiles(tmp_path)
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    _edit(root / "etc/app/app.conf")
    r = genman("--root", root, "drift")
    assert r.out.splitlines() == [
        "/etc/app/app.conf: content edited",
        "  --- /etc/app/app.conf",
        "  +++ /etc/app/app.conf",
        "  @@ -1 +1,2 @@",
        "   threads = 1",
        "  +threads = 8",
    ]
    assert "\033[" not in r.out  # no colours off a terminal


def test_rollback_and_switch_generation_refuse_drift_too(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, two = _profiles(tmp_path)
    for p in (one, two):
        assert genman("--root", root, "--bootloader", "none", "switch", p).code == 0
    _edit(root / "etc/app/app.conf")
    for args in (("rollback",), ("switch-generation", "1"), ("test", str(one))):
        r = genman("--root", root, "--bootloader", "none", *args)
        assert r.code == 1 and "/etc/app/app.conf: content edited" in r.err, (args, r.err)
    assert (root / "etc/app/app.conf").read_text() == "threads = 2\nthreads = 8\n"
    r = genman("--root", root, "--bootloader", "none", "rollback", "--force")
    assert r.code == 0, r.err
    assert (root / "etc/app/app.conf").read_text() == "threads = 1\n"
