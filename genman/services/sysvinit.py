"""sysvinit: /etc/init.d scripts through service(8), which takes no `--`: a name that
could read as an option is refused instead."""

from __future__ import annotations

import glob
from collections.abc import Sequence

from genman.process import Result, run
from genman.services import Action, InitSystem, UnitStatus, require_command, tail
from genman.services.names import full_name


def refused(argv: list[str], why: str) -> Result:
    """A command genman would not run, as a failed result (reported like any failure)."""
    return Result(tuple(argv), 2, "", why)


ETC = "/etc"  # where the rc?.d link farms are (tests: a directory of their own)


def starts_at_boot(name: str) -> bool:
    """Does a runlevel start `name` already (an S link in rc2.d-rc5.d)?"""
    return bool(glob.glob(f"{ETC}/rc[2345].d/S[0-9][0-9]{glob.escape(name)}"))


def script(unit: str) -> str:
    # A unit may be given as /etc/init.d/<name>; service(8) wants the name.
    return unit.rsplit("/", 1)[-1].removesuffix(".service")


class SysVinit:
    name = InitSystem.SYSVINIT

    def daemon_reload(self) -> Result:
        return Result(("true",), 0, "", "")  # sysvinit has no unit cache to reload

    def apply(self, action: Action, unit: str, at_boot: bool = False) -> Result:
        require_command(action, unit)
        name = script(unit)
        if name.startswith("-"):
            return refused(["service", name, action.value], "a script name may not begin "
                           "with '-' (service(8) would read it as an option)")
        # A service the profile adds must also come up at boot; one it drops must not.
        if action is Action.ENABLE:
            if starts_at_boot(name):
                # Nothing to do, and update-rc.d would rerun insserv, which rewrites
                # /etc/init.d/.depend.* (same-level scripts can come out in another order).
                return Result(("true",), 0, "", "")
            return run(["update-rc.d", name, "defaults"], check=False)
        if at_boot and action is Action.START:
            enabled = run(["update-rc.d", name, "defaults"], check=False)
            return run(["service", name, "start"], check=False) if enabled.ok else enabled
        result = run(["service", name, action.value], check=False)
        if at_boot and action is Action.STOP and result.ok:
            return run(["update-rc.d", name, "disable"], check=False)
        return result

    def probe(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        return {full_name(u): s for u, s in self.check(units).items()}

    def check(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        # LSB: `status` exits 0 for a running service, 3 (or another code) otherwise.
        out = {}
        for u in units:
            name = script(u)
            ok = not name.startswith("-") and run(["service", name, "status"],
                                                  check=False).ok
            out[u] = UnitStatus("active" if ok else "inactive")
        return out

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["service", script(unit), "status"], check=False), lines)
