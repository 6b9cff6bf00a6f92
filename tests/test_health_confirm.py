"""Confirmed switches in a --root sandbox: the watcher's decision with a fake clock, the
revert through the rollback path, `genman confirm`, a failed required check (exit 5 at
once), and one real detached watcher that outlives the session that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import status
from genman.context import BootloaderChoice, Options
from genman.health import confirm, state
from genman.health.confirm import Step, decide
from genman.health.pending import Pending
from genman.layout import Layout
from tests.conftest import Run

Genman = Callable[..., Run]

P1 = '[system]\nhostname = "sandbox"\ndescription = "one"\n[etc."app.conf"]\ntext = "v = 1\\n"\n'
P2 = """[system]
hostname = "sandbox"
description = "two"
[etc."app.conf"]
text = "v = 2\\n"
[health]
tries = 2
[health.checks.ok]
command = ["sh", "-c", "echo fine"]
timeout = "5s"
[health.checks.wanted]
command = ["sh", "-c", "echo meh; exit 3"]
required = false
"""
BAD = P2.replace('description = "two"', 'description = "bad"').replace(
    '"echo fine"', '"echo line1; echo port 22 closed >&2; exit 1"')


@pytest.fixture
def sandbox(root: Path, tmp_path: Path, genman: Genman) -> tuple[Path, dict[str, Path]]:
    profiles = {}
    for name, text in (("p1", P1), ("p2", P2), ("bad", BAD)):
        profiles[name] = tmp_path / f"{name}.toml"
        profiles[name].write_text(text)
    r = genman("--root", root, "--bootloader", "none", "switch", profiles["p1"])
    assert r.code == 0, r.err
    return root, profiles


def opts(root: Path) -> Options:
    return Options(Layout.for_root(root), bootloader=BootloaderChoice.NONE)


def etc_text(root: Path, rel: str) -> str:
    """The content /etc/<rel> has inside the target (its links are target paths)."""
    from pathlib import PurePosixPath

    from genman.profile import resolve_in_root

    return (root / str(resolve_in_root(root, PurePosixPath("etc") / rel)).lstrip("/")).read_text()


def pending(deadline: float, token: str = "t") -> Pending:
    return Pending(2, 1, 1, deadline, "b", token, "switch")


def no_watcher(token: str) -> int:
    """begin's watcher starter in tests that drive `confirm.watch` themselves."""
    return 0


def test_decide_waits_until_the_deadline_then_reverts() -> None:
    assert decide(pending(100.0), "t", 99.9) is Step.WAIT
    assert decide(pending(100.0), "t", 100.0) is Step.REVERT
    assert decide(pending(100.0), "t", 1e9) is Step.REVERT


def test_decide_is_done_once_confirmed_or_superseded() -> None:
    assert decide(None, "t", 0.0) is Step.DONE
    assert decide(pending(100.0, token="other"), "t", 1e9) is Step.DONE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.1)


def test_unconfirmed_switch_is_reverted_by_the_watcher(
        sandbox: tuple[Path, dict[str, Path]], genman: Genman) -> None:
    root, profiles = sandbox
    o = opts(root)
    clock = FakeClock()
    from genman import generation, profile
    from genman.activation import Flags

    prof = profile.load(profiles["p2"], o.layout)
    result = confirm.begin(o, lambda: generation.build(prof, o.layout).number, 30.0,
                           Flags(), lambda _: None, "switch", no_watcher, clock=clock)
    assert result.outcome is confirm.Outcome.PENDING
    m = status.markers(o.layout)
    assert (m.active, m.default) == (2, 1)  # live, but not the boot default
    assert etc_text(root, "app.conf") == "v = 2\n"
    assert state.read(o.layout, 2).state is state.GenState.PENDING  # type: ignore[union-attr]
    token = confirm.token_of(o.layout)
    assert token is not None
    said: list[str] = []
    step = confirm.watch(o, token, Flags(), said.append, clock=clock, sleep=clock.sleep)
    assert step is Step.REVERT
    assert clock.now >= 1030.0  # it waited for the whole deadline
    m = status.markers(o.layout)
    assert (m.active, m.default) == (1, 1)
    assert etc_text(root, "app.conf") == "v = 1\n"
    rec = state.read(o.layout, 2)
    assert rec is not None and rec.state is state.GenState.FAILED
    assert "not confirmed" in (rec.failure or "")
    assert confirm.read_pending(o.layout) is None
    r = genman("--root", root, "--bootloader", "none", "status")
    assert r.out.splitlines()[0].startswith("FAILED: generation 2: not confirmed")
    rows = json.loads(genman("--root", root, "--bootloader", "none", "list-generations",
                             "--json").out)
    assert [(x["state"], x["tries_left"]) for x in rows] == [(None, None), ("failed", None)]
    assert "not confirmed" in rows[1]["failure"]


def test_output_lost_mid_checks_still_ends_reverted(
        sandbox: tuple[Path, dict[str, Path]]) -> None:
    """The deployer's connection is cut while the required checks run: the next line
    written to it fails (BrokenPipeError) and the switching process dies there. The
    confirmation was recorded and its watcher started before anything changed, so the
    generation is reverted at the deadline and recorded failed, not left live and pending."""
    root, _ = sandbox
    o = opts(root)
    clock = FakeClock()
    from genman import generation, profile
    from genman.activation import Flags

    def say(line: str) -> None:
        if line.startswith("running health check"):
            raise BrokenPipeError(32, "Broken pipe")

    started: list[str] = []
    prof = profile.load(sandbox[1]["p2"], o.layout)
    with pytest.raises(BrokenPipeError):
        confirm.begin(o, lambda: generation.build(prof, o.layout).number, 30.0, Flags(), say,
                      "switch", lambda token: started.append(token) or 0, clock=clock)
    assert etc_text(root, "app.conf") == "v = 2\n"  # it died with generation 2 live
    token = confirm.token_of(o.layout)
    assert token is not None and started == [token]
    assert confirm.watch(o, token, Flags(), lambda _: None, clock=clock,
                         sleep=clock.sleep) is Step.REVERT
    assert etc_text(root, "app.conf") == "v = 1\n"
    m = status.markers(o.layout)
    assert (m.active, m.default) == (1, 1)
    rec = state.read(o.layout, 2)
    assert rec is not None and rec.state is state.GenState.FAILED


def pending_2(sandbox: tuple[Path, dict[str, Path]], clock: FakeClock) -> tuple[Options, str]:
    """Generation 2 switched to with a confirmation pending (no watcher): opts, token."""
    from genman import generation, profile
    from genman.activation import Flags

    root, profiles = sandbox
    o = opts(root)
    prof = profile.load(profiles["p2"], o.layout)
    confirm.begin(o, lambda: generation.build(prof, o.layout).number, 30.0, Flags(),
                  lambda _: None, "switch", no_watcher, clock=clock)
    token = confirm.token_of(o.layout)
    assert token is not None
    return o, token


def test_the_watcher_looks_once_the_switching_command_lets_go_of_the_lock(
        sandbox: tuple[Path, dict[str, Path]]) -> None:
    """`begin` starts the watcher, then records pending.json, under its lock. The
    watcher's first look waits for that lock: it does not end for want of a record that
    is about to be written (it did, when a kill came between the two)."""
    from contextlib import ExitStack

    from genman.activation import Flags
    from genman.health.pending import pending_path
    from genman.session import session

    root = sandbox[0]
    clock = FakeClock()
    o, token = pending_2(sandbox, clock)
    record = pending_path(o.layout)
    text = record.read_text()
    record.unlink()  # as the watcher finds it: started, not recorded yet
    held = ExitStack()
    held.enter_context(session(o))
    looks: list[float] = []

    def sleep(seconds: float) -> None:
        if not looks:  # the switching command records and lets go
            record.write_text(text)
            held.close()
        looks.append(seconds)
        clock.sleep(seconds)

    assert confirm.watch(o, token, Flags(), lambda _: None, clock=clock,
                         sleep=sleep) is Step.REVERT
    assert etc_text(root, "app.conf") == "v = 1\n"
    rec = state.read(o.layout, 2)
    assert rec is not None and rec.state is state.GenState.FAILED


def test_killed_between_starting_the_watcher_and_recording_leaves_nothing_to_watch(
        sandbox: tuple[Path, dict[str, Path]]) -> None:
    root, profiles = sandbox
    o = opts(root)
    from genman import generation, profile
    from genman.activation import Flags

    started: list[str] = []

    def killed_after_spawning(token: str) -> int:
        started.append(token)
        raise KeyboardInterrupt  # stands for the SIGKILL: nothing after it runs

    prof = profile.load(profiles["p2"], o.layout)
    with pytest.raises(KeyboardInterrupt):
        confirm.begin(o, lambda: generation.build(prof, o.layout).number, 30.0, Flags(),
                      lambda _: None, "switch", killed_after_spawning)
    assert confirm.read_pending(o.layout) is None
    assert confirm.watch(o, started[0], Flags(), lambda _: None) is Step.DONE
    assert etc_text(root, "app.conf") == "v = 1\n"
    assert status.markers(o.layout).active == 1


def test_confirm_keeps_it_and_the_watcher_stops(
        sandbox: tuple[Path, dict[str, Path]], genman: Genman) -> None:
    from genman.activation import Flags

    root = sandbox[0]
    clock = FakeClock()
    o, token = pending_2(sandbox, clock)
    r = genman("--root", root, "--bootloader", "none", "confirm")
    assert r.code == 0, r.err
    assert "confirmed generation 2" in r.out
    clock.now += 3600  # long past the deadline: the watcher must still not revert
    assert confirm.watch(o, token, Flags(), lambda _: None, clock=clock,
                         sleep=clock.sleep) is Step.DONE
    m = status.markers(o.layout)
    assert (m.active, m.default) == (2, 2)
    rows = json.loads(genman("--root", root, "--bootloader", "none", "list-generations",
                             "--json").out)
    # No bootloader, so nothing counts its boots: confirmed is good (with a boot counter it
    # is `trying`, see test_health_counting.py).
    assert (rows[1]["state"], rows[1]["tries_left"]) == ("good", None)
    again = genman("--root", root, "--bootloader", "none", "confirm")
    assert again.code == 1 and "no switch is waiting" in again.err


def test_failed_required_check_reverts_at_once_with_exit_5(
        sandbox: tuple[Path, dict[str, Path]], genman: Genman) -> None:
    root, profiles = sandbox
    r = genman("--root", root, "--bootloader", "none", "switch", "--confirm-within", "1h",
               profiles["bad"])
    assert r.code == 5, r.err
    assert "check 'ok' failed: port 22 closed" in r.err
    layout = Layout.for_root(root)
    m = status.markers(layout)
    assert (m.active, m.default) == (1, 1)
    assert etc_text(root, "app.conf") == "v = 1\n"
    assert confirm.read_pending(layout) is None
    rec = state.read(layout, 2)
    assert rec is not None and rec.failure == "check 'ok' failed: port 22 closed"
    last = json.loads(genman("--root", root, "health", "--last", "--json").out)
    ok = last[-1]["checks"][0]
    assert ok["name"] == "ok" and not ok["ok"] and ok["returncode"] == 1
    assert ok["output"] == "line1\nport 22 closed"


def test_dry_run_shows_the_tries_and_the_checks(
        sandbox: tuple[Path, dict[str, Path]], genman: Genman) -> None:
    root, profiles = sandbox
    r = genman("--root", root, "--bootloader", "none", "switch", "--dry-run",
               "--confirm-within", "30s", profiles["p2"])
    assert r.code == 0, r.err
    assert "  health: 2 tries to boot, each marked good within 5m" in r.out
    assert "  health check ok (required, timeout 5s): sh -c 'echo fine'" in r.out
    assert "  health check wanted (wanted, timeout 30s)" in r.out
    assert "within 30s" in r.out
    assert "default: " not in r.out  # a confirmed switch leaves the default alone
    assert status.markers(Layout.for_root(root)).active == 1


def test_health_runs_the_checks_of_the_active_generation(
        sandbox: tuple[Path, dict[str, Path]], genman: Genman) -> None:
    root, profiles = sandbox
    assert genman("--root", root, "--bootloader", "none", "switch", profiles["p2"]).code == 0
    r = genman("--root", root, "health", "--json")
    assert r.code == 0, r.err
    run = json.loads(r.out)
    assert [(c["name"], c["ok"], c["required"]) for c in run["checks"]] == [
        ("ok", True, True), ("wanted", False, False)]
    assert run["checks"][1]["output"] == "meh" and run["generation"] == 2
    shown = genman("--root", root, "--bootloader", "none", "status").out
    assert "ok: ok in" in shown and "wanted (wanted): failed" in shown


def test_a_check_that_hangs_is_stopped_at_its_timeout() -> None:
    from genman.health.checks import run_check
    from genman.health.config import Check

    r = run_check(Check("slow", ("sleep", "30"), 0.3))
    assert not r.ok and r.returncode is None and "did not finish" in r.output


def _wait_for(cond: Callable[[], bool], limit: float = 60.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def test_real_watcher_reverts_after_the_session_that_switched_is_killed(
        sandbox: tuple[Path, dict[str, Path]]) -> None:
    """The switch runs in its own session, as over ssh; the whole session is killed
    (SIGHUP, then SIGKILL) while it waits. The detached watcher still reverts."""
    root, profiles = sandbox
    argv = [sys.executable, "-m", "genman", "--root", str(root), "--bootloader", "none",
            "switch", "--confirm-within", "2s", "--wait", str(profiles["p2"])]
    proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    layout = Layout.for_root(root)
    assert _wait_for(lambda: confirm.read_pending(layout) is not None), proc.communicate()
    os.killpg(proc.pid, signal.SIGHUP)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _wait_for(lambda: state.is_failed(layout, 2)), \
        (root / "var/lib/genman/health/watcher.log").read_text()
    m = status.markers(layout)
    assert (m.active, m.default) == (1, 1)
    assert etc_text(root, "app.conf") == "v = 1\n"


def test_real_wait_reports_revert_as_exit_5_and_confirm_as_0(
        sandbox: tuple[Path, dict[str, Path]]) -> None:
    root, profiles = sandbox
    base = [sys.executable, "-m", "genman", "--root", str(root), "--bootloader", "none"]
    r = subprocess.run([*base, "switch", "--confirm-within", "2s", "--wait",
                        str(profiles["p2"])], capture_output=True, text=True, check=False)
    assert r.returncode == 5, r.stderr
    assert "reverted: not confirmed" in r.stderr
    # Again, and this time a second session confirms while the first waits.
    waiting = subprocess.Popen([*base, "switch-generation", "2", "--confirm-within", "60s",
                                "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    layout = Layout.for_root(root)
    assert _wait_for(lambda: confirm.read_pending(layout) is not None)
    c = subprocess.run([*base, "confirm"], capture_output=True, text=True, check=False)
    assert c.returncode == 0, c.stderr
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "generation 2 confirmed" in out
    m = status.markers(layout)
    assert (m.active, m.default) == (2, 2)
