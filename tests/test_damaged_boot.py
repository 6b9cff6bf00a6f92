"""A damaged generation's boot entry stays until the generation is removed explicitly: an
ordinary switch warns, keeps the entry and its boot files byte for byte, and the real
`bootctl` and `grub-script-check` still read the result. Removing the generation's link and
running `gc` is the explicit way out, and it works."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import generation
from genman.layout import Layout, store_names_in
from tests.bootsandbox import Sandbox, find_bootctl, snapshot, tmpfs
from tests.conftest import Run


def _toplevel(root: Path, number: int) -> Path:
    layout = Layout.for_root(root)
    return layout.host(layout.store_dir) / generation.toplevel_of(layout, number)


def _writable(path: Path) -> None:
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR)


def _damage(root: Path, number: int, how: str) -> None:
    top = _toplevel(root, number)
    _writable(top.parent)
    _writable(top)
    manifest = top / "manifest.json"
    match how:
        case "truncated manifest":
            _writable(manifest)
            manifest.write_bytes(b"")
        case "title that would break an entry":  # a manifest edited, or from an older genman
            data = json.loads(manifest.read_text())
            data["description"] = "edge\ninit=/bin/sh"
            _writable(manifest)
            manifest.write_text(json.dumps(data))
        case "generation gone from the store":
            for dirpath, dirnames, _ in os.walk(top):
                for d in dirnames:
                    _writable(Path(dirpath) / d)
            shutil.rmtree(top)


DAMAGES = ["truncated manifest", "title that would break an entry",
           "generation gone from the store"]


def _bootctl(esp: Path) -> list[str]:
    bootctl = find_bootctl()
    assert bootctl is not None, "bootctl is missing: run tools/fetch-bootctl.sh"
    env = {**os.environ, "SYSTEMD_RELAX_ESP_CHECKS": "1"}
    r = subprocess.run([bootctl, f"--esp-path={esp}", "--no-variables", "--no-pager", "list",
                        "--json=short"], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for e in entries:  # every entry bootctl lists still has its kernel and initrd
        assert (esp / str(e["linux"]).lstrip("/")).is_file(), e
        assert all((esp / str(i).lstrip("/")).is_file() for i in e["initrd"]), e
    return sorted(str(e["id"]) for e in entries)


def _grub_check(menu: Path) -> None:
    exe = shutil.which("grub-script-check")
    assert exe is not None, "grub-script-check is missing: apt install grub-common"
    r = subprocess.run([exe, str(menu)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def _switch(sb: Sandbox, description: str, *args: str | Path) -> Run:
    sb.write_profile(description)
    return sb.genman("--root", sb.root, *args, "switch", sb.profile)  # type: ignore[return-value]


@pytest.mark.parametrize("how", DAMAGES)
def test_switch_keeps_a_damaged_generations_systemd_boot_entry(
        how: str, tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sb.install_systemd_boot(esp)
        for i in (1, 2):
            sb.set_kernel(b"K%d" % i * 3000, b"I%d" % i * 2000, f"6.1.{i}-amd64")
            assert _switch(sb, f"g{i}", "--esp", esp).code == 0
        entry = esp / "loader/entries/genman-1.conf"
        kept = snapshot(esp / "EFI/genman")
        before = entry.read_bytes()
        _damage(root, 1, how)

        sb.set_kernel(b"K3" * 3000, b"I3" * 2000, "6.1.3-amd64")
        r = _switch(sb, "g3", "--esp", esp)
        assert r.code == 0, r.err
        assert "generation 1 cannot be read" in r.err, r.err
        assert "remove /var/lib/genman/generations/1" in r.err and "genman gc" in r.err, r.err
        assert entry.read_bytes() == before
        after = snapshot(esp / "EFI/genman")
        assert {k: v for k, v in after.items() if k in kept} == kept  # nothing deleted
        assert _bootctl(esp) == ["genman-1.conf", "genman-2.conf", "genman-3.conf"]
        assert "default genman-*" in (esp / "loader/loader.conf").read_text()
        assert "sort-key genman-1-default" in (esp / "loader/entries/genman-3.conf").read_text()

        # The explicit way out the warning names.
        os.unlink(root / "var/lib/genman/generations/1")
        r = genman("--root", root, "--esp", esp, "gc")
        assert r.code == 0, r.err
        assert _bootctl(esp) == ["genman-2.conf", "genman-3.conf"]
        assert len(os.listdir(esp / "EFI/genman")) == 4  # kernel + initrd of 2 and 3


@pytest.mark.parametrize("how", DAMAGES)
def test_switch_keeps_a_damaged_generations_grub_entry(
        how: str, tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    grub = ("--bootloader", "grub")
    for i in (1, 2):
        sb.set_kernel(b"K%d" % i * 3000, b"I%d" % i * 2000, f"6.1.{i}-amd64")
        assert _switch(sb, f"g{i}", *grub).code == 0
    menu = root / "boot/genman/grub.cfg"
    lines = menu.read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if "--id genman-1 {" in ln)
    block = lines[start:lines.index("\t}", start) + 1]
    own = store_names_in("\n".join(block))  # generation 1's kernel and initrd copies
    kept = {k: v for k, v in snapshot(root / "boot/genman").items() if k in own}
    assert len(kept) == 2
    _damage(root, 1, how)

    sb.set_kernel(b"K3" * 3000, b"I3" * 2000, "6.1.3-amd64")
    r = _switch(sb, "g3", *grub)
    assert r.code == 0, r.err
    assert "generation 1 cannot be read" in r.err and "genman gc" in r.err, r.err
    _grub_check(menu)
    text = menu.read_text()
    assert "\n".join(block) in text  # the entry, byte for byte, in the older submenu
    assert [ln.split("--id ")[1] for ln in text.splitlines() if "menuentry" in ln] == [
        "genman-3 {", "genman-2 {", "genman-1 {"]
    assert {k: v for k, v in snapshot(root / "boot/genman").items() if k in own} == kept

    os.unlink(root / "var/lib/genman/generations/1")
    r = genman("--root", root, *grub, "gc")
    assert r.code == 0, r.err
    _grub_check(menu)
    assert "genman-1" not in menu.read_text()
    assert not any(k in os.listdir(root / "boot/genman") for k in kept)


def test_a_switch_refused_for_esp_space_leaves_no_generation_in_the_way(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    with tmpfs(tmp_path / "esp", "256k") as esp:
        sb.install_systemd_boot(esp)
        assert _switch(sb, "small", "--esp", esp).code == 0
        sb.set_kernel(os.urandom(600 * 1024), b"i" * 1000, "6.9.0-1-amd64")
        esp_before, etc_before = snapshot(esp), snapshot(root / "etc")
        r = _switch(sb, "big kernel", "--esp", esp)
        assert r.code == 1 and r.err.count("error: ") == 1, r.err
        assert "not enough space on the ESP" in r.err and "Traceback" not in r.err
        assert snapshot(esp) == esp_before and snapshot(root / "etc") == etc_before
        layout = Layout.for_root(root)
        assert generation.generation_numbers(layout) == [1]  # the refused one is gone
        assert os.readlink(root / "var/lib/genman/default").endswith("/1")

        # A later switch with a kernel that fits works without a prune first; the refused
        # generation was never live nor in a menu, so its number is given again.
        sb.set_kernel(b"k" * 20 * 1024, b"i" * 1000, "6.1.1-amd64")
        r = _switch(sb, "small again", "--esp", esp)
        assert r.code == 0, r.err
        assert generation.generation_numbers(layout) == [1, 2]
        assert _bootctl(esp) == ["genman-1.conf", "genman-2.conf"]

        # Once the ESP has room, the big kernel goes on too.
        subprocess.run(["mount", "-o", "remount,size=4m", str(esp)], check=True)
        sb.set_kernel(os.urandom(600 * 1024), b"i" * 1000, "6.9.0-1-amd64")
        r = _switch(sb, "big kernel", "--esp", esp)
        assert r.code == 0, r.err
        assert _bootctl(esp) == ["genman-1.conf", "genman-2.conf", "genman-3.conf"]
        assert "default genman-*" in (esp / "loader/loader.conf").read_text()
        assert "sort-key genman-1-default" in (esp / "loader/entries/genman-3.conf").read_text()


def test_a_kept_grub_entry_moves_from_the_top_into_the_submenu(tmp_path: Path) -> None:
    """The damaged generation was the default (the menu's first entry); kept, it goes into
    the older-generations submenu, re-indented, and the menu still parses."""
    from genman.bootloader.grub import kept_entry, render_menu
    from genman.bootloader.model import BootEntry

    def entry(n: int) -> BootEntry:
        return BootEntry(number=n, title=f"fra1 generation {n}", version=f"{n}",
                         linux=f"/boot/genman/{'a' * 32}-vmlinuz-{n}", initrd=None,
                         params=(f"genman.generation={n}",), modules=("ext2",))

    old = render_menu(entry(2), [entry(1)], "fra1")
    kept = kept_entry(old, 2)
    assert kept is not None and kept_entry(old, 3) is None
    assert kept.kept.splitlines()[0].startswith("\tmenuentry 'fra1 generation 2'")
    assert kept.kept.splitlines()[-1] == "\t}"
    new = render_menu(entry(3), [kept, entry(1)], "fra1")
    (tmp_path / "grub.cfg").write_text(new)
    _grub_check(tmp_path / "grub.cfg")
    assert [ln.split("--id ")[1] for ln in new.splitlines() if "menuentry" in ln] == [
        "genman-3 {", "genman-2 {", "genman-1 {"]
    assert kept_entry(new, 2) == kept  # kept again by the next switch, unchanged
