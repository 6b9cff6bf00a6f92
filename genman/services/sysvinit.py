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
        name = _script(unit)
        # A service the profile adds must also come up at boot; one it drops must not.
        if action is Action.START:
            enabled = run(["update-rc.d", name, "defaults"], check=False)
            return run(["service", name, "start"], check=False) if enabled.ok else enabled
        result = run(["service", name, action.value], check=False)
        if action is Action.STOP and result.ok:
            return run(["update-rc.d", name, "disable"], check=False)
        return result

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["service", _script(unit), "status"], check=False), lines)
