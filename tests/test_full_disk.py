"""A full disk is an error with the way out, never a traceback or a half-done switch: the
file system holding the store and state, the ESP, or /etc is filled up (bytes and inodes),
`switch` says `error:` once with a hint and exits 1, /etc and the boot default are as they
were, and once space is freed the same switch works."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from genman import generation
from genman.layout import Layout
from tests.bootsandbox import can_mount_tmpfs, snapshot
from tests.conftest import Run

PROFILE = ('[system]\nhostname = "fra1"\n[etc.motd]\ntext = "{text}"\n'
           '[etc."app/{text}.conf"]\ntext = "{text}"\n'
           '[kernel]\nimage = "{k}"\n')
FILLER = ".filler"


@contextmanager
def _small_fs(where: Path) -> Iterator[None]:
    """A 2 MiB tmpfs with 300 inodes mounted over `where`, keeping what was there."""
    keep = where.parent / (where.name + ".before")
    if where.exists():
        shutil.copytree(where, keep, symlinks=True)
        shutil.rmtree(where)
    reason = can_mount_tmpfs(where)
    if reason is not None:
        pytest.fail(f"the full-disk tests mount a tmpfs: {reason}")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,nr_inodes=300", "tmpfs",
                    str(where)], check=True)
    try:
        if keep.exists():
            shutil.copytree(keep, where, symlinks=True, dirs_exist_ok=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, *, data: bool = True) -> Path:
    """Use up every inode, and unless `data` is False every byte, of the file system
    holding `where`."""
    filler = where / FILLER
    filler.mkdir()
    with open(filler / "bytes", "wb", buffering=0) as f:
        for size in (65536, 4096, 1) if data else ():
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    for i in range(100000):
        try:
            (filler / str(i)).touch()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
            break
    return filler


def _tree(p: Path) -> dict[str, bytes | str]:
    return {k: v for k, v in snapshot(p).items() if not k.startswith(FILLER)}


def _state(root: Path, esp: Path) -> dict[str, object]:
    """What a refused switch must leave as it was. On the ESP, the files there stay as they
    were (the undo may add the entry of the generation the switch built, as any later run
    does for every retained generation; the default stays)."""
    return {"etc": _tree(root / "etc"), "loader.conf": (esp / "loader/loader.conf").read_text(),
            "default": os.readlink(root / "var/lib/genman/default"),
            "active": os.readlink(root / "run/genman/active"),
            "journal": (root / "var/lib/genman/journal.json").exists()}


# "ESP inodes": bytes are free, so the space check passes and the ESP fills up while the
# switch writes (as when something else writes to it meanwhile).
@pytest.mark.parametrize("full", ["store and state", "ESP", "ESP inodes", "/etc"])
def test_a_full_file_system_refuses_the_switch_and_freeing_space_lets_it_run(
        full: str, tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    esp = root / "boot/efi"
    where = {"store and state": root / "var/lib/genman", "ESP": esp, "ESP inodes": esp,
             "/etc": root / "etc"}[full]
    profile = tmp_path / "p.toml"
    with _small_fs(where):
        (esp / "EFI/systemd").mkdir(parents=True, exist_ok=True)
        (esp / "EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")
        for i, text in enumerate(("one", "two")):
            kernel = tmp_path / f"vmlinuz-6.1.{i}-amd64"
            kernel.write_bytes(text.encode() * 30000)
            profile.write_text(PROFILE.format(text=text, k=kernel))
            if i == 0:
                r = genman("--root", root, "--esp", esp, "switch", profile)
                assert r.code == 0, r.err
                filler = _fill(where, data=full != "ESP inodes")
                before, esp_before = _state(root, esp), _tree(esp)

        r = genman("--root", root, "--esp", esp, "switch", profile)
        assert r.code == 1, r.out + r.err
        assert "Traceback" not in r.err and r.err.count("error: ") == 1, r.err
        assert "No space left on device" in r.err or "not enough space" in r.err, r.err
        assert "hint: " in r.err and "free" in r.err, r.err
        assert _state(root, esp) == before, r.err  # nothing half-done, no journal to undo
        esp_after = _tree(esp)
        assert {k: esp_after.get(k) for k in esp_before} == esp_before

        shutil.rmtree(filler)
        r = genman("--root", root, "--esp", esp, "switch", profile)
        assert r.code == 0, r.err
        layout = Layout.for_root(root)
        assert layout.resolve("/etc/motd").read_text() == "two"
        assert not os.path.lexists(root / "etc/app/one.conf")
        default = generation.link_number(layout, layout.host(layout.default_link))
        assert default == generation.generation_numbers(layout)[-1]
        assert "default genman-*" in (esp / "loader/loader.conf").read_text()
        assert "sort-key genman-1-default" in (
            esp / f"loader/entries/genman-{default}.conf").read_text()
        assert genman("--root", root, "status").err == ""
