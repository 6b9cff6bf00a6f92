"""Damaged state is an error, never a traceback: each state file in turn is truncated,
filled with garbage, given the wrong JSON type or made a link out of the root, and every
command runs against it."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import generation
from genman.layout import Layout
from tests.conftest import Run

PROFILE = '[system]\nhostname = "fra1"\n[etc.motd]\ntext = "{text}"\n[kernel]\nimage = "{k}"\n'
GARBAGE = b"\xff\xfe{garbage\x00\n"


def _commands(profile: Path) -> list[tuple[str, ...]]:
    p = str(profile)
    return [("list-generations",), ("list-generations", "--json"), ("status",),
            ("diff", "1", "2"), ("build", p), ("switch", p), ("test", p), ("boot", p),
            ("switch-generation", "1"), ("rollback",), ("boot-once", "1"), ("pin", "1"),
            ("unpin", "1"), ("prune", "--keep", "1"), ("gc",)]


def _make_pristine(tmp_path: Path, bootloader: str) -> Path:
    """A root with two switched generations and systemd-boot entries or a GRUB menu."""
    from genman.bootloader.grub import render_env
    from genman.cli import main

    base = tmp_path / "pristine"
    root = base / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    if bootloader == "grub":
        (root / "boot/grub").mkdir(parents=True)
        (root / "boot/grub/grubenv").write_text(render_env({}))
    else:
        (root / "boot/efi/EFI/systemd").mkdir(parents=True)
        (root / "boot/efi/EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")
    (base / "vmlinuz-6.1.0-28-amd64").write_bytes(b"K" * 4000)
    for text in ("one", "two"):
        (base / "p.toml").write_text(PROFILE.format(text=text, k=base / "vmlinuz-6.1.0-28-amd64"))
        with pytest.raises(SystemExit) as e:
            main(["--root", str(root), "switch", str(base / "p.toml")])
        assert e.value.code in (0, None)
    return base


@pytest.fixture
def pristine(tmp_path: Path) -> Path:
    return _make_pristine(tmp_path, "systemd-boot")


@pytest.fixture
def pristine_grub(tmp_path: Path) -> Path:
    return _make_pristine(tmp_path, "grub")


def _state_files(root: Path) -> dict[str, Path]:
    layout = Layout.for_root(root)
    top = layout.host(layout.store_dir) / generation.toplevel_of(layout, 2)
    manifest = json.loads((top / "manifest.json").read_text())
    motd = manifest["etc"]["motd"]["store"]
    return {
        "journal": root / "var/lib/genman/journal.json",
        "ledger": root / "etc/genman/ledger.json",
        "manifest": top / "manifest.json",
        "references": top / "references",
        "summary": top / "summary.json",
        "boot-once": root / "var/lib/genman/boot-once",
        "default": root / "var/lib/genman/default",
        "generation link": root / "var/lib/genman/generations/2",
        "active": root / "run/genman/active",
        "loader.conf": root / "boot/efi/loader/loader.conf",
        "entry": root / "boot/efi/loader/entries/genman-2.conf",
        "store file": layout.host(layout.store_path(motd)),
        "lock": root / "var/lib/genman/lock",
        "grubenv": root / "boot/grub/grubenv",
        "grub menu": root / "boot/genman/grub.cfg",
    }


def _damage(path: Path, how: str, outside: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)  # store directories are read-only
    was = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    match how:
        case "truncated":
            path.write_bytes(b"")
        case "garbage":
            path.write_bytes(GARBAGE)
        case "non-UTF-8":  # the real content with bytes no UTF-8 decoder accepts inside
            path.write_bytes(was[:len(was) // 2] + b"\xff\xfe\xc3(" + was[len(was) // 2:])
        case "wrong type":
            path.write_text('{"genman_ledger": 1, "toplevel": 5, "entries": [["link", 7]], '
                            '"etc": null, "kernel": [], "generation": "x"}\n')
        case "null":
            path.write_text("null\n")
        case "link out of the root":
            os.symlink(outside, path)
        case "directory":
            path.mkdir()
        case "missing":
            pass


DAMAGES = ["truncated", "garbage", "non-UTF-8", "wrong type", "null", "link out of the root",
           "directory", "missing"]
FILES = ["journal", "ledger", "manifest", "references", "summary", "boot-once", "default",
         "generation link", "active", "loader.conf", "entry", "store file", "lock"]
GRUB_FILES = ["grubenv", "grub menu"]


@pytest.mark.parametrize("name", FILES)
def test_every_command_on_damaged_state_says_error_never_traceback(
        name: str, pristine: Path, tmp_path: Path, genman: Callable[..., Run]) -> None:
    _every_command(name, pristine, tmp_path, genman)


@pytest.mark.parametrize("name", GRUB_FILES)
def test_every_command_on_damaged_grub_state_says_error_never_traceback(
        name: str, pristine_grub: Path, tmp_path: Path, genman: Callable[..., Run]) -> None:
    _every_command(name, pristine_grub, tmp_path, genman)


def _every_command(name: str, pristine: Path, tmp_path: Path,
                   genman: Callable[..., Run]) -> None:
    failures = []
    for how in DAMAGES:
        root = tmp_path / how.replace(" ", "-") / "root"
        shutil.copytree(pristine / "root", root, symlinks=True)
        outside = tmp_path / "outside-file"
        outside.write_text("precious\n")
        _damage(_state_files(root)[name], how, outside)
        profile = tmp_path / "p.toml"
        profile.write_text(PROFILE.format(text="three", k=pristine / "vmlinuz-6.1.0-28-amd64"))
        for cmd in _commands(profile):
            r = genman("--root", root, *cmd)
            ok = r.code in (0, 1, 4, 5) and "Traceback" not in r.err
            ok = ok and (r.code != 1 or r.err.count("error: ") == 1)
            if not ok:
                failures.append(f"{how}: genman {' '.join(cmd[:1])} -> {r.code}: "
                                f"{r.err.strip()[-300:]}")
        assert outside.read_text() == "precious\n", how
        for dirpath, dirnames, _ in os.walk(root):  # let tmp_path cleanup remove it
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    assert not failures, "\n".join(failures)


def test_missing_store_file_refuses_the_switch_and_the_way_out_works(
        pristine: Path, genman: Callable[..., Run]) -> None:
    root = pristine / "root"
    layout = Layout.for_root(root)
    motd = generation.manifest_of(layout, 1).etc["motd"].store
    store = layout.host(layout.store_dir)
    os.chmod(store, 0o755)
    os.unlink(store / motd)
    before = os.readlink(root / "etc/static")
    r = genman("--root", root, "switch-generation", "1")
    assert r.code == 1 and f"its store path {motd} is missing" in r.err, r.err
    assert os.readlink(root / "etc/static") == before
    assert genman("--root", root, "switch-generation", "2").code == 0  # the hint's way out
    r = genman("--root", root, "rollback")
    assert r.code == 1 and "is damaged" in r.err, r.err


def test_status_reports_a_store_file_changed_through_etc(
        pristine: Path, genman: Callable[..., Run]) -> None:
    root = pristine / "root"
    layout = Layout.for_root(root)
    motd = layout.host(layout.store_path(generation.manifest_of(layout, 2).etc["motd"].store))
    assert genman("--root", root, "status").err == ""
    os.chmod(motd, 0o644)
    with open(motd, "a") as f:  # what `echo x >> /etc/motd` does as root
        f.write("x\n")
    os.chmod(motd, 0o444)
    r = genman("--root", root, "status")
    assert r.code == 0 and "no longer matches its name" in r.err, r.err
    os.chmod(motd.parent, 0o755)
    os.unlink(motd)  # the way out the warning gives
    assert genman("--root", root, "switch", pristine / "p.toml").code == 0
    assert genman("--root", root, "status").err == ""
    assert layout.resolve("/etc/motd").read_text() == "two"
