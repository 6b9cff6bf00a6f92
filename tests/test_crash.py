"""Crash consistency: a real `genman switch` killed with SIGKILL at every step boundary of
its plan and at random moments; after the next genman run the sandbox is exactly the old
or exactly the new generation, and the next switch succeeds.

The step hook is GENMAN_TEST_CRASH_AFTER=<k> (genman.execute.CRASH_ENV): the process kills
itself right after step k (0: just after the journal was written)."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from genman.context import Options
from genman.execute import CRASH_ENV
from genman.layout import Layout
from genman.lock import locked
from genman.transaction import recover
from tests.helpers import (
    REPO,
    check_generation,
    copy_root,
    env,
    genman_cmd,
    make_root,
    snapshot,
    write_profiles,
)

RANDOM_RUNS = 30


def stray_temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".genman-tmp-" in p.name]


def recover_and_check(work: Path, old: dict[str, Any], new: dict[str, Any], profile: Path,
                      genman: Any) -> str:
    """Run genman again; the tree must be old or new; then the next switch must work."""
    layout = Layout.for_root(work)
    with locked(layout):
        recover(Options(layout))
    snap = snapshot(work)
    assert snap in (old, new), "neither the old nor the new generation"
    assert not stray_temps(work / "etc"), stray_temps(work / "etc")
    assert not (work / "var/lib/genman/journal.json").exists()
    which = "old" if snap == old else "new"
    r = genman("--root", work, "switch", profile)
    assert r.code == 0, r.err
    assert snapshot(work) == new
    return which


@pytest.fixture
def scenario(tmp_path: Path, genman: Any) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    """A sandbox on generation 1 (base), the profile of generation 2, and the snapshots of
    the tree before and after `switch` to it."""
    base = make_root(tmp_path / "b")
    profiles = write_profiles(tmp_path)
    assert genman("--root", base, "switch", profiles[1]).code == 0
    old = snapshot(base)
    ref = copy_root(base, tmp_path / "ref")
    r = subprocess.run(genman_cmd(ref, "switch", profiles[2]), env=env(), cwd=REPO,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    check_generation(ref, 2)
    new = snapshot(ref)
    assert new != old
    return base, profiles[2], old, new


def test_sigkill_at_every_step_boundary(
    scenario: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path, genman: Any
) -> None:
    base, profile, old, new = scenario
    outcomes = []
    for k in range(60):
        work = copy_root(base, tmp_path / f"k{k}")
        r = subprocess.run(genman_cmd(work, "switch", profile), env=env(**{CRASH_ENV: str(k)}),
                           cwd=REPO, capture_output=True, text=True, check=False)
        if r.returncode == 0:
            break  # k is past the last step: the switch completed
        assert r.returncode == -signal.SIGKILL, r.stderr
        assert (work / "var/lib/genman/journal.json").exists()
        outcomes.append(recover_and_check(work, old, new, profile, genman))
    else:
        pytest.fail("the switch never completed")
    # Every boundary was hit: the journal, the ledger, the /etc steps, the links.
    assert len(outcomes) >= 10, outcomes
    assert set(outcomes) == {"old"}  # uncommitted switches are undone


def test_sigkill_at_random_moments(
    scenario: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path, genman: Any
) -> None:
    base, profile, old, new = scenario
    end, window = _switch_window(copy_root(base, tmp_path / "timing"), profile)
    print(f"switch {end:.3f}s, journal lived {window:.3f}s")
    rng = random.Random(20240611)
    seen = []
    for i in range(RANDOM_RUNS):
        work = copy_root(base, tmp_path / f"r{i}")
        proc = subprocess.Popen(genman_cmd(work, "switch", profile), env=env(), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Every other kill once the journal is there, within the measured time the journal
        # lives (the switch's execution); the rest anywhere from start-up to the end.
        if i % 2:
            journal = work / "var/lib/genman/journal.json"
            while not journal.exists() and proc.poll() is None:
                time.sleep(0.0002)
            time.sleep(rng.uniform(0, window))
        else:
            time.sleep(rng.uniform(0.2 * end, 1.05 * end))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        interrupted = (work / "var/lib/genman/journal.json").exists()
        seen.append((interrupted, recover_and_check(work, old, new, profile, genman)))
    # Kills landed inside a switch (a journal left), and recovery then brought back the old
    # generation every time: the journal goes only after the last step.
    print(f"{sum(i for i, _ in seen)} of {len(seen)} kills landed inside a switch")
    assert any(interrupted for interrupted, _ in seen), "no kill landed inside a switch"
    assert all(which == "old" for interrupted, which in seen if interrupted)


def _switch_window(work: Path, profile: Path) -> tuple[float, float]:
    """Seconds from start to the end of a switch, and how long its journal lived (the
    execution: from the journal written to the journal removed)."""
    journal = work / "var/lib/genman/journal.json"
    t0 = time.monotonic()
    proc = subprocess.Popen(genman_cmd(work, "switch", profile), env=env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = gone = None
    while proc.poll() is None:
        there = journal.exists()
        now = time.monotonic() - t0
        if first is None and there:
            first = now
        elif first is not None and gone is None and not there:
            gone = now
        time.sleep(0.0002)
    end = time.monotonic() - t0
    assert proc.returncode == 0
    assert first is not None, "the journal was never seen: the switch executed nothing"
    return end, (gone if gone is not None else end) - first
