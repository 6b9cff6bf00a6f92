"""sysvinit: /etc/init.d scripts through service(8)."""

from __future__ import annotations

from genman.process import Result, run
from genman.services import Action, InitSystem, tail


def _script(unit: str) -> str:
    # A unit may be given as /etc/init.d/<name>; service(8) wants the name.
    name = unit.rsplit("/", 1)[-1]
    return name.removesuffix(".service")


class SysVinit:
    name = InitSystem.SYSVINIT

    def daemon_reload(self) -> Result:
        return Result(("true",), 0, "", "")  # sysvinit has no unit cache to reload

    def apply(self, action: Action, unit: str) -> Result:
        assert action in (Action.START, Action.STOP, Action.RESTART, Action.RELOAD)
        return run(["service", _script(unit), action.value], check=False)

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["service", _script(unit), "status"], check=False), lines)
