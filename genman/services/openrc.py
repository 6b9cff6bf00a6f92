"""OpenRC: rc-service."""

from __future__ import annotations

from genman.process import Result, run
from genman.services import Action, InitSystem, tail


def _service(unit: str) -> str:
    return unit.rsplit("/", 1)[-1].removesuffix(".service")


class OpenRC:
    name = InitSystem.OPENRC

    def daemon_reload(self) -> Result:
        return Result(("true",), 0, "", "")  # OpenRC reads its scripts on each call

    def apply(self, action: Action, unit: str) -> Result:
        assert action in (Action.START, Action.STOP, Action.RESTART, Action.RELOAD)
        return run(["rc-service", _service(unit), action.value], check=False)

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["rc-service", _service(unit), "status"], check=False), lines)
