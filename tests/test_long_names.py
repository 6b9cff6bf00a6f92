"""Over-long names (longer than NAME_MAX, or too long to leave room for genman's temp and
backup names) are refused with one `error:` line and exit 1, before anything is written:
as an /etc key, as a file in a source directory, as the profile's path and as --root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from genman.layout import ETC_NAME_MAX, NAME_MAX, Layout
from tests.bootsandbox import snapshot
from tests.conftest import Run

HEAD = '[system]\nhostname = "fra1"\n'


def _refused(r: Run, *words: str) -> None:
    assert r.code == 1, r.out + r.err
    assert r.err.startswith("error: ") and r.err.count("error: ") == 1, r.err
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    for w in words:
        assert w in r.err, r.err


# A source directory cannot hold a name over NAME_MAX: no file system stores one.
CASES = [(where, length) for where in ("key", "directory in the key", "source directory")
         for length in (ETC_NAME_MAX + 1, NAME_MAX, NAME_MAX + 1, 4000)
         if where != "source directory" or length <= NAME_MAX]


@pytest.mark.parametrize(("where", "length"), CASES)
def test_an_over_long_etc_name_is_refused_before_anything_is_written(
        length: int, where: str, tmp_path: Path, root: Path,
        genman: Callable[..., Run]) -> None:
    name = "n" * length
    profile = tmp_path / "long-names.toml"
    if where == "source directory":
        (tmp_path / "files").mkdir()
        (tmp_path / "files" / name).write_text("x\n")
        profile.write_text(HEAD + f'[etc.app]\nsource = "{tmp_path / "files"}"\n')
    else:
        key = name if where == "key" else f"{name}/motd"
        profile.write_text(HEAD + f'[etc."{key}"]\ntext = "x"\n')
    before = snapshot(root)
    for cmd in (("build",), ("switch", "--dry-run"), ("switch",), ("boot",), ("test",)):
        r = genman("--root", root, *cmd, profile)
        # The file is named as the user can reach it (relative where that is shorter).
        _refused(r, profile.name, "too long" if length > NAME_MAX else str(ETC_NAME_MAX))
    assert snapshot(root) == before


def test_the_longest_etc_name_allowed_switches_and_is_backed_up(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    """The limit leaves room for what genman adds: temp names, and an unmanaged file's
    backup name."""
    name = "m" * ETC_NAME_MAX
    (root / "etc" / name).write_text("the admin's\n")
    profile = tmp_path / "p.toml"
    profile.write_text(HEAD + f'[etc."{name}"]\ntext = "x"\n[etc."d{name[1:]}/{name}"]\n'
                       'text = "y"\n')
    r = genman("--root", root, "switch", "--backup", profile)
    assert r.code == 0, r.err
    layout = Layout.for_root(root)
    assert layout.resolve(f"/etc/{name}").read_text() == "x"
    assert layout.resolve(f"/etc/d{name[1:]}/{name}").read_text() == "y"
    backups = [p for p in (root / "etc").iterdir() if ".genman-backup-" in p.name]
    assert [p.read_text() for p in backups] == ["the admin's\n"]
    r = genman("--root", root, "switch", tmp_path / "p.toml")
    assert r.code == 0, r.err


def test_over_long_profile_path_and_root_are_one_error(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    long = "p" * (NAME_MAX + 1)
    for profile in (tmp_path / f"{long}.toml", tmp_path / long / "profile.toml"):
        for cmd in ("build", "switch"):
            _refused(genman("--root", root, cmd, profile), "shorten")
    (tmp_path / "p.toml").write_text(HEAD)
    for cmd in (("status",), ("list-generations",), ("switch", tmp_path / "p.toml"),
                ("gc",), ("prune", "--keep", "1")):
        r = genman("--root", tmp_path / long, *cmd)
        assert r.code == 1 and r.err.count("error: ") == 1, r.err
        assert "Traceback" not in r.err and "internal error" not in r.err, r.err
