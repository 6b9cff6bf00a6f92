"""The deployer's local store keeps what the last N builds of each host need, and no more;
never while another deploy holds it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from genman.deploy import keep
from genman.deploy.build import LocalStore
from genman.deploy.facts import Facts
from genman.deploy.hosts import Host

FACTS = Facts("fra1", "x86_64", "6.1.0", {"root": 0}, {"root": 0}, None, None, None, None,
              True)


@pytest.fixture(autouse=True)
def _tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped genman is copied through a temporary directory: inside the test's."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def profile(tmp: Path) -> Path:
    p = tmp / "profile.toml"
    p.write_text('[vars]\nn = 0\n[etc.motd]\ntext = "build {{ n }}\\n"\n'
                 '[etc.issue]\ntext = "Debian GNU/Linux\\n"\n')
    return p


def build(store: LocalStore, host: str, p: Path, n: int) -> tuple[str, ...]:
    b = store.build(Host(host, host, p, vars={"n": n}), FACTS, store.shipped().name)
    return b.closure


def names(store: LocalStore) -> set[str]:
    return set(os.listdir(store.dir))


def test_keeps_the_last_n_builds_of_every_host(tmp_path: Path) -> None:
    p = profile(tmp_path)
    store = LocalStore(tmp_path / "cache", keep=2)
    try:
        fra = [build(store, "fra1", p, n) for n in range(4)]
        ams = [build(store, "ams1", p, 100)]
        result = store.collect()
        assert result is not None and not result.skipped
        kept = names(store)
        # fra1's last two builds and ams1's only one, with everything they reference
        assert kept == set(fra[2]) | set(fra[3]) | set(ams[0])
        assert result.removed == len((set(fra[0]) | set(fra[1])) - kept) == 4
        assert store.shipped().name in kept  # referenced by every toplevel
        issue = [n for n in kept if n.endswith("-issue")]
        assert len(issue) == 1  # shared by all, kept once
        assert keep.recorded(tmp_path / "cache", "fra1") == [fra[2][0], fra[3][0]]
        # the same build again moves to the end of the record, it is not there twice
        build(store, "fra1", p, 2)
        assert keep.recorded(tmp_path / "cache", "fra1") == [fra[3][0], fra[2][0]]
    finally:
        store.close()


def test_not_while_another_deploy_holds_the_store(tmp_path: Path) -> None:
    p = profile(tmp_path)
    other = LocalStore(tmp_path / "cache", keep=1)
    store = LocalStore(tmp_path / "cache", keep=1)
    try:
        first = build(store, "fra1", p, 1)
        build(store, "fra1", p, 2)
        result = store.collect()
        assert result is not None and result.skipped
        assert set(first) <= names(store)
        other.close()
        result = store.collect()
        assert result is not None and result.removed > 0
        assert first[0] not in names(store)
    finally:
        other.close()
        store.close()


def test_keep_zero_and_dry_runs_remove_nothing(tmp_path: Path) -> None:
    p = profile(tmp_path)
    store = LocalStore(tmp_path / "cache", keep=0)
    try:
        first = build(store, "fra1", p, 1)
        build(store, "fra1", p, 2)
        assert store.collect() is None
        assert set(first) <= names(store)
    finally:
        store.close()
    dry = LocalStore(tmp_path / "dry", write=False)
    try:
        build(dry, "fra1", p, 1)
        assert dry.collect() is None
        assert not (tmp_path / "dry").exists()  # a dry run writes nothing
    finally:
        dry.close()
