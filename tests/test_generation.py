from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import generation, profile, store
from genman.layout import Layout
from genman.manifest import Manifest
from tests.conftest import Run
from tests.helpers import PROFILE


def build(path: Path, root: Path) -> generation.BuildResult:
    layout = Layout.for_root(root)
    return generation.build(profile.load(path, layout), layout)


def test_unchanged_profile_makes_one_generation(example: Path, root: Path,
                                                 genman: Callable[..., Run]) -> None:
    assert genman("--root", root, "build", example).out == "1\n"
    r = genman("--root", root, "build", example)
    assert (r.code, r.out) == (0, "1\n")
    assert "unchanged" in r.err
    assert generation.generation_numbers(Layout.for_root(root)) == [1]


def test_changed_variable_shares_every_unchanged_store_path(example: Path, root: Path) -> None:
    layout = Layout.for_root(root)
    first = build(example, root)
    names_before = set(os.listdir(root / "var/lib/genman/store"))
    example.write_text(PROFILE.replace("idx = 3", "idx = 4"))
    second = build(example, root)
    assert (first.number, second.number) == (1, 2)
    m1 = generation.manifest_of(layout, 1)
    m2 = generation.manifest_of(layout, 2)
    changed = {p for p in m1.etc if m1.etc[p] != m2.etc[p]}
    assert changed == {"bird/bird.conf"}
    for p in set(m1.etc) - changed:
        assert m1.etc[p].store == m2.etc[p].store
    assert m1.packages == m2.packages and m1.kernel == m2.kernel
    added = set(os.listdir(root / "var/lib/genman/store")) - names_before
    # Exactly the new bird.conf, the etc directory holding it, and the new toplevel.
    new_dir = {n for n in added if n.endswith("-etc-bird")}
    assert len(new_dir) == 1
    assert added == {m2.etc["bird/bird.conf"].store, second.toplevel, *new_dir}
    assert m1.services["bird"].digest != m2.services["bird"].digest


def test_generation_layout_names_target_paths(example: Path, root: Path) -> None:
    result = build(example, root)
    top = root / "var/lib/genman/store" / result.toplevel
    link = root / "var/lib/genman/generations/1"
    assert os.readlink(link) == f"/var/lib/genman/store/{result.toplevel}"
    motd = os.readlink(top / "etc/motd")
    assert motd.startswith("/var/lib/genman/store/") and str(root) not in motd
    assert (root / motd.lstrip("/")).read_text() == "hello\n"
    assert os.readlink(top / "etc/nginx/sites/a.conf").endswith("-a.conf")
    # Directories of the etc tree are store paths linked relatively, never via the root.
    assert os.readlink(top / "etc/nginx").startswith("../../")
    assert os.readlink(top / "etc/nginx").endswith("-etc-nginx")
    assert os.readlink(top / "sw/bin/hello").endswith("-tools/bin/hello")
    assert os.readlink(top / "sw/sbin/ctl").endswith("-tools/sbin/ctl")
    assert os.readlink(top / "kernel").endswith("-vmlinuz-6.1.0-28-amd64")
    assert os.readlink(top / "initrd").endswith("-initrd.img-6.1.0-28-amd64")
    assert os.readlink(top / "kernel-modules").endswith("-modules-6.1.0-28-amd64")
    assert (top / "kernel-params").read_text() == "console=ttyS0\n"
    assert os.access(top / "init", os.X_OK)
    manifest = Manifest.from_json((top / "manifest.json").read_text())
    assert manifest.etc["bird/bird.conf"].mode == 0o640
    assert manifest.etc["bird/bird.conf"].gid == 115
    refs = set((top / "references").read_text().split())
    etc_dirs = {r for r in refs if "-etc-" in r}
    assert {d.split("-etc-")[1] for d in etc_dirs} == {"bird", "nginx", "sites"}
    assert refs == manifest.references() | etc_dirs
    assert all((root / "var/lib/genman/store" / r).exists() for r in refs)
    summary = json.loads((top / "summary.json").read_text())
    assert summary["kernel_version"] == "6.1.0-28-amd64"


def test_secret_template_output_is_not_world_readable(example: Path, root: Path) -> None:
    build(example, root)
    m = generation.manifest_of(Layout.for_root(root), 1)
    st = os.stat(root / "var/lib/genman/store" / m.etc["bird/bird.conf"].store)
    assert st.st_mode & 0o007 == 0


def test_interrupted_build_leaves_no_generation(example: Path, root: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real_rename = os.rename
    calls = {"n": 0}

    def crash_midway(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as good as a kill for what is on disk
        real_rename(src, dst)

    monkeypatch.setattr(store.os, "rename", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        build(example, root)
    monkeypatch.undo()
    layout = Layout.for_root(root)
    assert generation.generation_numbers(layout) == []
    # What did reach its final name is complete content; no staging remains.
    store_dir = root / "var/lib/genman/store"
    assert not [n for n in os.listdir(store_dir) if n.startswith(".genman-tmp")]
    assert build(example, root).number == 1


def test_killed_build_staging_is_cleaned_by_the_next(example: Path, root: Path) -> None:
    stray = root / "var/lib/genman/store/.genman-tmp-deadbeef0000"
    (stray / "half-written").mkdir(parents=True)
    gens = root / "var/lib/genman/generations"
    gens.mkdir(parents=True)
    os.symlink("/nowhere", gens / ".genman-tmp-abcdef-1")
    assert build(example, root).number == 1
    assert not stray.exists()
    assert os.listdir(gens) == ["1"]


def test_manifest_round_trips(example: Path, root: Path) -> None:
    build(example, root)
    m = generation.manifest_of(Layout.for_root(root), 1)
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert Manifest.from_json(m.to_json()) == m
    from dataclasses import replace

    svc = next(iter(m.services.values()))
    for settle in (None, 0.0, 5.0):
        m2 = replace(m, services={"x": replace(svc, settle=settle, stop_if_changed=False)})
        assert Manifest.from_json(m2.to_json()) == m2


def test_rebuild_of_10000_files_reads_none_of_them_again(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genman import hashcache

    src = tmp_path / "p/files"
    for i in range(100):
        d = src / f"d{i:02}"
        d.mkdir(parents=True)
        for j in range(100):
            (d / f"f{j:02}.conf").write_text(f"{i} {j}\n")
    old = 1_600_000_000
    for dirpath, _, filenames in os.walk(src):  # older than the racy window
        for n in filenames:
            os.utime(os.path.join(dirpath, n), (old, old))
    (tmp_path / "p/profile.toml").write_text('[etc."big"]\nsource = "files/"\n')
    assert build(tmp_path / "p/profile.toml", root).number == 1
    reads: list[str] = []
    real = hashcache.sha256_file
    monkeypatch.setattr(hashcache, "sha256_file", lambda p: reads.append(str(p)) or real(p))
    again = build(tmp_path / "p/profile.toml", root)
    assert (again.number, again.new, reads) == (1, False, [])
    # One changed file is the only one read, and only the directories on its path are
    # new store paths: the file, etc/big/d07, etc/big, and the toplevel.
    (src / "d07/f42.conf").write_text("changed\n")
    third = build(tmp_path / "p/profile.toml", root)
    assert (third.number, reads) == (2, [str(src / "d07/f42.conf")])
    assert third.added == 4
    layout = Layout.for_root(root)
    top = root / "var/lib/genman/store" / third.toplevel
    store_file = os.readlink(top / "etc/big/d07/f42.conf")  # through the relative dir links
    assert (root / store_file.lstrip("/")).read_text() == "changed\n"
    assert generation.manifest_of(layout, 2).etc["big/d07/f42.conf"].store in store_file


def test_templates_compile_once_across_builds(example: Path, root: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    from genman import templating

    build(example, root)
    cache = Layout.for_root(root).build_cache / "jinja"
    assert list(cache.iterdir())
    assert not (root / "var/lib/genman/cache").exists()  # never inside the target tree
    templating.environment.cache_clear()  # as a new genman process starts
    compiled: list[object] = []
    real = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(a) or real(self, *a, **k))
    assert build(example, root).new is False
    # The profile's template file came from the cache; inline text and genman's own
    # init/activate scripts are compiled as before.
    assert not [a for a in compiled if len(a) > 1 and str(a[1]).endswith("/bird.conf.j2")]
    assert [a for a in compiled if a[0] == "hello\n"]  # the counter does count
