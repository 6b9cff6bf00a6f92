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
        name = _service(unit)
        # A service the profile adds must also come up at boot; one it drops must not.
        if action is Action.START:
            enabled = run(["rc-update", "add", name, "default"], check=False)
            return run(["rc-service", name, "start"], check=False) if enabled.ok else enabled
        result = run(["rc-service", name, action.value], check=False)
        if action is Action.STOP and result.ok:
            return run(["rc-update", "del", name, "default"], check=False)
        return result

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["rc-service", _service(unit), "status"], check=False), lines)
