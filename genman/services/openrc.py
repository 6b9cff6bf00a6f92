"""OpenRC: rc-service and rc-update, service names after `--`."""

from __future__ import annotations

from collections.abc import Sequence

from genman.process import Result, run
from genman.services import Action, InitSystem, UnitStatus, require_command, tail
from genman.services.names import full_name


def service(unit: str) -> str:
    return unit.rsplit("/", 1)[-1].removesuffix(".service")


class OpenRC:
    name = InitSystem.OPENRC

    def daemon_reload(self) -> Result:
        return Result(("true",), 0, "", "")  # OpenRC reads its scripts on each call

    def apply(self, action: Action, unit: str, at_boot: bool = False) -> Result:
        require_command(action, unit)
        name = service(unit)
        # A service the profile adds must also come up at boot; one it drops must not.
        if at_boot and action is Action.START:
            enabled = run(["rc-update", "--", "add", name, "default"], check=False)
            if not enabled.ok:
                return enabled
            return run(["rc-service", "--", name, "start"], check=False)
        result = run(["rc-service", "--", name, action.value], check=False)
        if at_boot and action is Action.STOP and result.ok:
            return run(["rc-update", "--", "del", name, "default"], check=False)
        return result

    def probe(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        return {full_name(u): s for u, s in self.check(units).items()}

    def check(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        # rc-service NAME status exits 0 only for a started service.
        return {u: UnitStatus("active" if run(["rc-service", "--", service(u), "status"],
                                               check=False).ok else "inactive")
                for u in units}

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["rc-service", "--", service(unit), "status"], check=False), lines)
