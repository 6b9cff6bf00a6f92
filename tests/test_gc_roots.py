"""prune and gc fail closed, written as the attacks that once deleted what was live: the
live /etc without /run/genman/active, an empty references file, a truncated manifest, a
one-shot boot, and a generation number handed out twice."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from genman import generation
from genman.layout import Layout
from tests.conftest import Run

PROFILE = ('[system]\nhostname = "fra1"\ndescription = "{d}"\n[etc.motd]\ntext = "{d}"\n'
           '[etc."app/a.conf"]\ntext = "{d}"\n[kernel]\nimage = "{k}"\n')


def _setup(tmp_path: Path, root: Path) -> Callable[[str], Path]:
    (tmp_path / "vmlinuz-6.1.0-28-amd64").write_bytes(b"K" * 4000)
    (root / "boot/efi/EFI/systemd").mkdir(parents=True)
    (root / "boot/efi/EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")

    def profile(d: str) -> Path:
        p = tmp_path / f"{d}.toml"
        p.write_text(PROFILE.format(d=d, k=tmp_path / "vmlinuz-6.1.0-28-amd64"))
        return p
    return profile


def _needed_paths_exist(root: Path, number: int) -> None:
    """Every store path generation `number`'s links name is still there."""
    layout = Layout.for_root(root)
    store = layout.host(layout.store_dir)
    top = store / generation.toplevel_of(layout, number)
    todo, seen = [top], set()
    while todo:
        d = todo.pop()
        for dirpath, dirnames, filenames in os.walk(d):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if os.path.islink(p):
                    t = os.readlink(p)
                    if t.startswith(str(layout.store_dir) + "/"):
                        host = root / t.lstrip("/")
                        assert os.path.lexists(host), (p, t)
                        name = t[len(str(layout.store_dir)) + 1:].split("/")[0]
                        if name not in seen and (store / name).is_dir():
                            seen.add(name)
                            todo.append(store / name)


def test_prune_keeps_the_live_etc_without_run_genman_active(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    profile = _setup(tmp_path, root)
    assert genman("--root", root, "switch", profile("one")).code == 0
    assert genman("--root", root, "boot", profile("two")).code == 0  # default 2, /etc of 1
    os.unlink(root / "run/genman/active")  # booted through the distribution's own entry
    r = genman("--root", root, "prune", "--keep", "1")
    assert r.code == 0, r.err
    assert generation.generation_numbers(Layout.for_root(root)) == [1, 2]
    _needed_paths_exist(root, 1)
    assert genman("--root", root, "switch", profile("three")).code == 0


def test_gc_keeps_the_default_when_its_references_file_is_empty(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    profile = _setup(tmp_path, root)
    assert genman("--root", root, "switch", profile("one")).code == 0
    layout = Layout.for_root(root)
    refs = layout.host(layout.store_dir) / generation.toplevel_of(layout, 1) / "references"
    os.chmod(refs.parent, 0o755)
    os.chmod(refs, 0o644)
    refs.write_text("")
    r = genman("--root", root, "gc")
    assert r.code == 0, r.err
    _needed_paths_exist(root, 1)
    assert genman("--root", root, "switch", profile("two")).code == 0


def test_truncated_manifest_stops_prune_and_keeps_its_boot_entry(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    profile = _setup(tmp_path, root)
    for d in ("one", "two", "three"):
        assert genman("--root", root, "switch", profile(d)).code == 0
    layout = Layout.for_root(root)
    manifest = layout.host(layout.store_dir) / generation.toplevel_of(layout, 3) / "manifest.json"
    os.chmod(manifest.parent, 0o755)
    os.chmod(manifest, 0o644)
    manifest.write_text(manifest.read_text()[:40])
    before = sorted(os.listdir(root / "boot/efi/loader/entries"))
    store_before = sorted(os.listdir(layout.host(layout.store_dir)))
    for cmd in (("prune", "--keep", "1"), ("gc",)):
        r = genman("--root", root, *cmd)
        assert r.code == 1 and "generation 3 cannot be read" in r.err, r.err
        assert "Traceback" not in r.err
    assert sorted(os.listdir(root / "boot/efi/loader/entries")) == before
    assert sorted(os.listdir(layout.host(layout.store_dir))) == store_before
    entry = root / "boot/efi/loader/entries/genman-3.conf"
    assert "sort-key genman-1-default" in entry.read_text()
    # The way out the error names: another default, the damaged link removed, then gc.
    assert genman("--root", root, "switch-generation", "2").code == 0
    assert layout.resolve("/etc/motd").read_text() == "two"
    assert layout.resolve("/etc/app/a.conf").read_text() == "two"
    os.unlink(layout.host(layout.generation(3)))
    r = genman("--root", root, "gc")
    assert r.code == 0, r.err
    _needed_paths_exist(root, 2)


def test_prune_keeps_a_generation_named_for_a_one_shot_grub_boot(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    profile = _setup(tmp_path, root)
    for d in ("one", "two"):
        assert genman("--root", root, "--bootloader", "grub", "switch", profile(d)).code == 0
    r = genman("--root", root, "--bootloader", "grub", "boot-once", "1")
    assert r.code == 0, r.err
    assert "next_entry=" in (root / "boot/grub/grubenv").read_text()
    r = genman("--root", root, "--bootloader", "grub", "prune", "--keep", "1")
    assert r.code == 0, r.err
    assert generation.generation_numbers(Layout.for_root(root)) == [1, 2]
    _needed_paths_exist(root, 1)


def test_a_pruned_generations_number_is_never_handed_out_again(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    profile = _setup(tmp_path, root)
    for d in ("one", "two", "three"):
        assert genman("--root", root, "switch", profile(d)).code == 0
    assert genman("--root", root, "rollback").code == 0
    r = genman("--root", root, "prune", "--older-than", "0s")
    assert r.code == 0, r.err
    layout = Layout.for_root(root)
    assert 3 not in generation.generation_numbers(layout)
    r = genman("--root", root, "build", profile("four"))
    assert r.code == 0 and r.out.split()[-1] == "4", r.out + r.err
