"""The per-host run's activate-and-confirm step, against a recording fake connection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from genman.deploy import runner
from genman.deploy.build import LocalStore
from genman.deploy.hosts import Host
from genman.deploy.rollout import Action, Outcome
from genman.deploy.ssh import Connection, Unreachable
from genman.process import Result


class FakeConn(Connection):
    """Answers activate with `answer`; the confirm call raises `confirm_error` if set."""

    def __init__(self, host: Host, answer: dict[str, Any],
                 confirm_error: Exception | None = None) -> None:
        super().__init__(host, Path("/nonexistent"))
        object.__setattr__(self, "answer", answer)
        object.__setattr__(self, "confirm_error", confirm_error)
        object.__setattr__(self, "calls", [])

    def run(self, remote: Sequence[str], *, what: str, timeout: float | None = 600,
            input: str | None = None, stdin: Any = None, fresh: bool = False) -> Result:
        self.calls.append((list(remote), fresh))
        if what == "confirm":
            if self.confirm_error is not None:
                raise self.confirm_error
            return Result(tuple(remote), 0, "", "")
        return Result(tuple(remote), 0, json.dumps(self.answer), "")


def ctx(tmp: Path) -> runner.Context:
    return runner.Context(LocalStore(tmp), tmp, lambda h, w: None)


HOST = Host("fra1", "192.0.2.1", Path("/p.toml"), root="/mnt")


def test_confirm_goes_over_a_fresh_connection(tmp_path: Path) -> None:
    conn = FakeConn(HOST, {"old": 1, "new": 2, "exit": 0, "services_failed": []})
    out = runner._activate(ctx(tmp_path), conn, Action.SWITCH, "t", confirm=True)
    assert out == (Outcome.SWITCHED, 2, "")
    calls = conn.calls
    assert calls[0] == (["genman", "--root", "/mnt", "remote", "activate", "t", "--mode",
                         "switch", "--confirm-within", runner.CONFIRM_WITHIN], False)
    assert calls[1] == (["genman", "--root", "/mnt", "confirm"], True)


def test_unreachable_confirm_means_the_host_reverts(tmp_path: Path) -> None:
    conn = FakeConn(HOST, {"old": 1, "new": 2, "exit": 0, "services_failed": []},
                    confirm_error=Unreachable("confirm: Connection timed out"))
    outcome, new, detail = runner._activate(ctx(tmp_path), conn, Action.SWITCH, "t", True)
    assert outcome is Outcome.REVERTED and new == 2
    assert "confirm did not reach the host" in detail


def test_failed_checks_and_services(tmp_path: Path) -> None:
    conn = FakeConn(HOST, {"old": 1, "new": 2, "exit": 5, "services_failed": []})
    assert runner._activate(ctx(tmp_path), conn, Action.SWITCH, "t", True)[0] \
        is Outcome.REVERTED
    assert len(conn.calls) == 1 # no confirm after a revert
    conn = FakeConn(HOST, {"old": 1, "new": 2, "exit": 4, "services_failed": ["bird"]})
    assert runner._activate(ctx(tmp_path), conn, Action.TEST, "t", False) == (
        Outcome.FAILED, 2, "services failed: bird")


def test_without_the_confirmed_switch_a_plain_switch(tmp_path: Path) -> None:
    conn = FakeConn(HOST, {"old": None, "new": 1, "exit": 0, "services_failed": []})
    assert runner._activate(ctx(tmp_path), conn, Action.BOOT, "t", False) == (
        Outcome.BOOTS_NEXT, 1, "")
    assert [c[0][-1] for c in conn.calls] == ["boot"]


class CutConn(FakeConn):
    """The connection breaks during the activate call."""

    def run(self, remote: Sequence[str], *, what: str, timeout: float | None = 600,
            input: str | None = None, stdin: Any = None, fresh: bool = False) -> Result:
        self.calls.append((list(remote), fresh))
        raise Unreachable(f"{what}: Connection reset by peer")


def test_a_cut_activation_reverts_only_where_it_is_confirmed(tmp_path: Path) -> None:
    conn = CutConn(HOST, {})
    outcome, new, detail = runner._activate(ctx(tmp_path), conn, Action.SWITCH, "t", True)
    assert outcome is Outcome.REVERTED and new is None
    assert detail.startswith("the connection broke during activation (activate: Connection")
    assert len(conn.calls) == 1  # no confirm
    with pytest.raises(Unreachable):  # unconfirmed: which generation it runs is not known
        runner._activate(ctx(tmp_path), CutConn(HOST, {}), Action.SWITCH, "t", False)
