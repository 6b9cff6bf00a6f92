"""fsutil: atomic writes leave the old or the new file and no temp; strays are cleaned."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from genman import fsutil


def _temps(directory: Path) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(fsutil.TEMP_MARKER)]


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "a" / "b.conf"
    fsutil.atomic_write(f, "old\n")
    fsutil.atomic_write(f, b"new\n")
    assert f.read_bytes() == b"new\n"
    assert _temps(f.parent) == []


def test_failed_fill_keeps_old_content_and_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "x.conf"
    fsutil.atomic_write(f, "old\n")

    def fill(fh: object) -> None:
        fh.write(b"half")  # type: ignore[attr-defined]
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        fsutil.atomic_fill(f, fill)
    assert f.read_text() == "old\n"
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_mode_is_applied(tmp_path: Path, mode: int) -> None:
    f = tmp_path / "m"
    fsutil.atomic_write(f, "x", mode=mode)
    assert stat.S_IMODE(f.stat().st_mode) == mode


def test_mode_none_keeps_umask_default(tmp_path: Path) -> None:
    f = tmp_path / "m"
    with fsutil.umask(0o022):
        fsutil.atomic_write(f, "x", mode=None)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644


def test_temp_names_are_unique_and_marked(tmp_path: Path) -> None:
    final = tmp_path / "file.txt"
    names = {fsutil.temp_name(final) for _ in range(200)}
    assert len(names) == 200
    for n in names:
        assert n.parent == tmp_path
        assert n.name.startswith(fsutil.TEMP_MARKER)
        assert n.name.endswith("-file.txt")


def test_atomic_copy_copies_bytes_and_private_mode(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(bytes(range(256)) * 10)
    os.chmod(src, 0o600)
    dst = tmp_path / "out" / "dst"
    with fsutil.umask(0o022):
        fsutil.atomic_copy(src, dst, mode=None)
    assert dst.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(dst.stat().st_mode) == 0o600
    fsutil.atomic_copy(src, dst, mode=0o644)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o644


def test_atomic_symlink_replaces_link(tmp_path: Path) -> None:
    link = tmp_path / "d" / "current"
    fsutil.atomic_symlink("gen-1", link)
    assert os.readlink(link) == "gen-1"
    fsutil.atomic_symlink("gen-2", link)
    assert os.readlink(link) == "gen-2"
    assert sorted(os.listdir(link.parent)) == ["current"]


def test_atomic_symlink_over_directory_fails_and_cleans_temp(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep").write_text("k")
    with pytest.raises(OSError):
        fsutil.atomic_symlink("x", tmp_path / "dir")
    assert (tmp_path / "dir" / "keep").read_text() == "k"
    assert _temps(tmp_path) == []


def test_clean_stray_temps_removes_only_marked(tmp_path: Path) -> None:
    stray_file = tmp_path / f"{fsutil.TEMP_MARKER}abc-motd"
    stray_file.write_text("half")
    stray_tree = tmp_path / f"{fsutil.TEMP_MARKER}def-tree"
    (stray_tree / "sub").mkdir(parents=True)
    (stray_tree / "sub" / "f").write_text("x")
    os.chmod(stray_tree / "sub", 0o555)
    stray_link = tmp_path / f"{fsutil.TEMP_MARKER}123-link"
    os.symlink("nowhere", stray_link)
    keep = tmp_path / "motd"
    keep.write_text("real")
    lookalike = tmp_path / "x.genman-tmp-1"
    lookalike.write_text("not mine")
    removed = fsutil.clean_stray_temps(tmp_path)
    assert sorted(removed) == sorted([stray_file, stray_tree, stray_link])
    assert sorted(os.listdir(tmp_path)) == ["motd", "x.genman-tmp-1"]
    assert keep.read_text() == "real"


def test_clean_stray_temps_of_missing_dir(tmp_path: Path) -> None:
    assert fsutil.clean_stray_temps(tmp_path / "absent") == []


def test_remove_file_reports_whether_removed(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    assert fsutil.remove_file(f) is True
    assert not f.exists()
    assert fsutil.remove_file(f) is False


def test_remove_tree_read_only(tmp_path: Path) -> None:
    t = tmp_path / "t"
    (t / "a" / "b").mkdir(parents=True)
    (t / "a" / "b" / "f").write_text("x")
    os.chmod(t / "a" / "b", 0o555)
    os.chmod(t / "a", 0o555)
    fsutil.remove_tree(t)
    assert not t.exists()
    fsutil.remove_tree(t)  # absent is fine
    link = tmp_path / "l"
    os.symlink(tmp_path, link)
    fsutil.remove_tree(link)
    assert not os.path.lexists(link)
    assert tmp_path.is_dir()


def test_private_dir(tmp_path: Path) -> None:
    d = tmp_path / "a" / "b"
    assert fsutil.private_dir(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    os.chmod(d, 0o755)
    assert fsutil.private_dir(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    link = tmp_path / "link"
    os.symlink(d, link)
    assert not fsutil.private_dir(link)
    f = tmp_path / "file"
    f.write_text("x")
    assert not fsutil.private_dir(f)


def test_umask_is_restored(tmp_path: Path) -> None:
    before = os.umask(0o027)
    try:
        with fsutil.umask(0o077):
            fsutil.atomic_write(tmp_path / "f", "x", mode=None)
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o600
