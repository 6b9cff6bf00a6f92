"""The rollout plan (pure) and the executor's scheduling, with a fake per-host run."""

from __future__ import annotations

import threading
import time

import pytest

from genman.deploy.rollout import Action, Outcome, Phase, Step, max_fail_count, plan
from genman.deploy.runner import HostResult, execute
from genman.errors import GenmanError

HOSTS = tuple(f"h{i}" for i in range(1, 11))


def test_plan_defaults() -> None:
    r = plan(HOSTS, Action.SWITCH)
    assert r.phases == (Phase(HOSTS, gate=False),)
    assert r.limit == 10 and r.max_fail is None
    assert r.steps == (Step.FACTS, Step.BUILD, Step.COPY, Step.ACTIVATE, Step.CONFIRM)
    assert Step.CONFIRM not in plan(HOSTS, Action.BOOT).steps


def test_plan_canary_limit_max_fail() -> None:
    r = plan(HOSTS, Action.TEST, limit=3, canary=2, max_fail="20%")
    assert r.phases == (Phase(HOSTS[:2], gate=True), Phase(HOSTS[2:], gate=False))
    assert r.limit == 3 and r.max_fail == 2
    assert r.describe()[0] == "test: 10 hosts, 3 at once, stop starting hosts after 2 failed"
    # a canary as large as the fleet is just the fleet
    assert plan(HOSTS[:2], Action.SWITCH, canary=5).phases == (Phase(HOSTS[:2], False),)


def test_max_fail_count() -> None:
    assert max_fail_count(None, 10) is None
    assert max_fail_count("3", 10) == 3
    assert max_fail_count("10%", 10) == 1
    assert max_fail_count("15%", 10) == 2
    assert max_fail_count("1%", 3) == 1
    for bad in ("0", "x", "150%", "-1"):
        with pytest.raises(GenmanError, match="--max-fail"):
            max_fail_count(bad, 10)


class Fake:
    """A per-host run that fails the given hosts and records concurrency."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.started: list[str] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, name: str) -> HostResult:
        with self.lock:
            self.started.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        out = Outcome.UNREACHABLE if name in self.failing else Outcome.SWITCHED
        return HostResult(name, out)


def test_execute_honours_limit() -> None:
    fake = Fake(set())
    results = execute(plan(HOSTS, Action.SWITCH, limit=3), fake)
    assert [r.host for r in results] == list(HOSTS)
    assert all(r.outcome is Outcome.SWITCHED for r in results)
    assert fake.most == 3


def test_execute_max_fail_stops_starting_hosts() -> None:
    fake = Fake({"h2", "h3"})
    results = execute(plan(HOSTS, Action.SWITCH, limit=1, max_fail="2"), fake)
    assert fake.started == ["h1", "h2", "h3"]
    assert [r.outcome for r in results[:3]] == [Outcome.SWITCHED, Outcome.UNREACHABLE,
                                                Outcome.UNREACHABLE]
    assert all(r.outcome is Outcome.SKIPPED and "max-fail" in r.detail for r in results[3:])


def test_execute_canary_gate() -> None:
    fake = Fake({"h1"})
    results = execute(plan(HOSTS, Action.SWITCH, canary=2), fake)
    assert sorted(fake.started) == ["h1", "h2"]
    assert all(r.outcome is Outcome.SKIPPED for r in results[2:])
    fake = Fake({"h5"})
    results = execute(plan(HOSTS, Action.SWITCH, canary=2), fake)
    assert len(fake.started) == 10
    assert [r.host for r in results if not r.outcome.ok] == ["h5"]


def test_dry_run_offline_prints_the_rollout_and_contacts_no_host() -> None:
    from pathlib import Path

    from click.testing import CliRunner

    from genman.cli import cli

    inv = Path(__file__).resolve().parent.parent / "examples/hosts.toml"
    r = CliRunner().invoke(cli, ["deploy", "-i", str(inv), "--dry-run", "--offline",
                                 "--canary", "1"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("switch: ") and lines[2].startswith("phase 1 (canary")
    assert any(line.startswith("fra1: root@fra1.example.net, root /") for line in lines)
    r = CliRunner().invoke(cli, ["deploy", "-i", str(inv), "--offline"])
    assert r.exit_code == 2 and "--offline needs --dry-run" in r.output
