"""The journal, recovery and the lock around every mutating command."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from pytest_mock import MockerFixture

from genman.context import Options
from genman.layout import Layout
from genman.ledger import Kind, Ledger
from genman.lock import locked
from genman.transaction import Journal, read_journal, recover
from tests.helpers import REPO, env, genman_cmd, make_root, snapshot, write_profiles


def test_journal_round_trips() -> None:
    j = Journal("switch", 42, "boot", True, "aaa-genman-h", 1, 1, "bbb-genman-h", 2)
    assert Journal.from_json(j.to_json()) == j


def test_ledger_round_trips_and_is_one_entry_per_line() -> None:
    led = Ledger("/var/lib/genman/store/x", frozenset({(Kind.LINK, "motd"), (Kind.DIR, "a"),
                                                       (Kind.COPY, "a/ü b")}))
    text = led.render()
    assert Ledger.parse(text) == led
    assert text.splitlines()[1:] == ['["copy", "a/ü b"],', '["dir", "a"],', '["link", "motd"],',
                                     "null]}"]


def test_recover_without_journal_only_cleans_stray_temps(tmp_path: Path, genman: Any) -> None:
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    assert genman("--root", root, "switch", profiles[1]).code == 0
    stray = root / "etc/.genman-tmp-0123456789ab-motd"
    stray.symlink_to("/etc/static/motd")
    before = snapshot(root)
    layout = Layout.for_root(root)
    with locked(layout):
        assert recover(Options(layout)) is False
    assert not os.path.lexists(stray)
    assert snapshot(root) == {k: v for k, v in before.items() if "genman-tmp" not in k}


def test_interrupted_first_switch_is_undone_to_nothing(tmp_path: Path, genman: Any) -> None:
    """A journal with no old generation: recovery removes everything genman made."""
    import signal
    import subprocess

    root = make_root(tmp_path)
    (root / "etc/profile.d").mkdir(exist_ok=True)
    profiles = write_profiles(tmp_path)
    before = snapshot(root)
    r = subprocess.run(genman_cmd(root, "switch", profiles[1]),
                       env=env(GENMAN_TEST_CRASH_AFTER="7"), cwd=REPO, capture_output=True,
                       text=True, check=False)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert read_journal(Layout.for_root(root)) is not None
    assert snapshot(root) != before
    r2 = genman("--root", root, "status")
    assert "interrupted" in r2.err
    layout = Layout.for_root(root)
    with locked(layout):
        assert recover(Options(layout)) is True
    assert snapshot(root) == before


def test_lock_names_the_holder(tmp_path: Path, genman: Any) -> None:
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    lock = root / "var/lib/genman/lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        r = genman("--root", root, "--lock-wait", "0", "switch", profiles[1])
        assert r.code == 1
        assert "another genman is running (pid 4242)" in r.err
        assert "waiting" not in r.err
        r = genman("--root", root, "--lock-wait", "0.2", "rollback")
        assert r.code == 1
        assert r.err.splitlines()[:2] == [
            "warning: another genman is running (pid 4242); waiting for the lock up to 0.2 s",
            f"error: another genman is running (pid 4242) and holds {lock}; waited 0.2 s"]
        assert "--lock-wait SECONDS" in r.err
    finally:
        os.close(fd)
    assert not os.path.lexists(root / "etc/motd")


def test_a_command_waits_out_a_short_holder(tmp_path: Path, genman: Any,
                                            mocker: MockerFixture) -> None:
    """genman's own background work (the boot-time marker, a watcher's look at its record)
    holds the lock for moments: a command waits for it rather than failing."""
    from genman import lock as lock_module

    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    lock = root / "var/lib/genman/lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242\n")
    told = lock_module.warn

    def release_once_told(message: str) -> None:
        told(message)
        os.close(fd)  # the holder is done the moment the command starts waiting

    mocker.patch.object(lock_module, "warn", side_effect=release_once_told)
    r = genman("--root", root, "switch", profiles[1])
    assert r.code == 0, r.err
    assert "another genman is running (pid 4242); waiting for the lock up to 30 s" in r.err
    assert os.path.lexists(root / "etc/motd")
