from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from genman import hashcache
from genman.errors import GenmanError
from genman.layout import Layout
from genman.store import Store, stored_mode


@pytest.fixture
def store(tmp_path: Path) -> Store:
    layout = Layout.for_root(tmp_path / "root")
    return Store(layout, hashcache.HashCache(tmp_path / "root/var/lib/genman/cache/h.sqlite"))


def test_same_content_is_stored_once(store: Store, tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_text("same\n")
    b.write_text("same\n")
    with store.batch() as batch:
        na = batch.add_file(a, "x.conf")
        nb = batch.add_file(b, "x.conf")
        assert batch.added == [na]
    assert na == nb
    with store.batch() as batch:
        assert batch.add_file(a, "x.conf") == na
        assert batch.added == []  # already there: nothing copied
    assert (store.dir / na).read_text() == "same\n"


def test_store_paths_are_read_only_and_keep_modes(store: Store, tmp_path: Path) -> None:
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    secret = tmp_path / "secret"
    secret.write_text("key\n")
    secret.chmod(0o600)
    with store.batch() as batch:
        ne = batch.add_file(exe, "tool")
        ns = batch.add_file(secret, "secret")
    assert stat.S_IMODE(os.stat(store.dir / ne).st_mode) == 0o555
    assert stat.S_IMODE(os.stat(store.dir / ns).st_mode) == 0o400  # others still can't read
    assert ne != ns


def test_mode_is_part_of_the_identity(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with store.batch() as batch:
        assert batch.add_file(f, "f", 0o644) != batch.add_file(f, "f", 0o640)
    assert stored_mode(0o4755) == 0o555


def test_tree_is_stored_read_only_with_links(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "pkg"
    (src / "bin").mkdir(parents=True)
    (src / "bin/tool").write_text("#!/bin/sh\n")
    (src / "bin/tool").chmod(0o755)
    os.symlink("tool", src / "bin/alias")
    with store.batch() as batch:
        name = batch.add_tree(src, "pkg")
    stored = store.dir / name
    assert os.readlink(stored / "bin/alias") == "tool"
    assert stat.S_IMODE(os.stat(stored / "bin").st_mode) == 0o555
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o555  # root bypasses it; others don't
    # Any change to the tree is a new identity.
    (src / "bin/tool").write_text("#!/bin/sh\necho 2\n")
    os.utime(src / "bin/tool", ns=(0, 10**18))
    assert store.tree_identity(src, "pkg") != name


def test_nothing_is_visible_before_commit(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(RuntimeError), store.batch() as batch:
        name = batch.add_file(f, "f")
        raise RuntimeError("crash before commit")
    assert not store.exists(name)
    assert os.listdir(store.dir) == []  # staging removed too


def test_stray_staging_from_a_killed_run_is_cleaned(store: Store) -> None:
    stray = store.dir / ".genman-tmp-0123abcd"
    (stray / "x").mkdir(parents=True)
    (stray / "x").chmod(0o555)
    assert store.clean() == [stray]
    assert not stray.exists()


def test_source_changing_during_copy_is_refused(store: Store, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "f"
    f.write_text("before")
    monkeypatch.setattr(store.cache, "file_hash", lambda *a, **k: "0" * 64)
    with pytest.raises(GenmanError, match="changed while genman was building"), \
            store.batch() as batch:
        batch.add_file(f, "f")


def test_hash_cache_avoids_rereading_unchanged_files(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 100_000)
    os.utime(f, ns=(10**18, 10**18 - 10**12))  # well in the past: not "racy"
    os.utime(f, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    db = tmp_path / "cache.sqlite"
    first = hashcache.HashCache(db)
    digest = first.file_hash(f)
    first.save()
    reads: list[str] = []
    real = hashcache.sha256_file
    monkeypatch.setattr(hashcache, "sha256_file", lambda p: reads.append(str(p)) or real(p))
    second = hashcache.HashCache(db)
    assert second.file_hash(f) == digest
    assert reads == []
    f.write_bytes(b"y" * 100_000)  # new size/mtime: read again
    assert second.file_hash(f) != digest
    assert reads == [str(f)]


def test_recently_modified_files_are_not_cached(tmp_path: Path) -> None:
    f = tmp_path / "fresh"
    f.write_text("x")
    cache = hashcache.HashCache(tmp_path / "c.sqlite")
    cache.file_hash(f)
    cache.save()
    assert not (tmp_path / "c.sqlite").exists()  # nothing safe to remember yet


def test_hardlinked_tree_shares_inodes_with_its_source(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "modules/6.1.0-28-amd64"
    (src / "kernel").mkdir(parents=True)
    (src / "kernel/veth.ko").write_bytes(b"\x7fELF module")
    (src / "modules.dep").write_text("kernel/veth.ko:\n")
    with store.batch() as batch:
        name = batch.add_tree(src, "modules-6.1.0-28-amd64", hardlink=True)
    stored = store.dir / name / "kernel/veth.ko"
    assert os.stat(stored).st_ino == os.stat(src / "kernel/veth.ko").st_ino
    # dpkg replaces by rename: the store keeps the content it hashed.
    (src / "kernel/veth.ko.new").write_bytes(b"new")
    os.rename(src / "kernel/veth.ko.new", src / "kernel/veth.ko")
    assert stored.read_bytes() == b"\x7fELF module"
