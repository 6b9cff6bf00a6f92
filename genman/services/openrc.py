"""OpenRC: rc-service and rc-update, service names after `--` (getopt stops there, and
rc-service execs /etc/init.d/NAME with the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genman.process import Result, run
from genman.services import Action, InitSystem, UnitStatus, require_command, tail
from genman.services.names import full_name


def service(unit: str) -> str:
    return unit.rsplit("/", 1)[-1].removesuffix(".service")


# OpenRC's state directory (Debian: /run/openrc); a test points it elsewhere.
RC_SVCDIR = Path("/run/openrc")


def daemon_alive(name: str) -> bool | None:
    """Whether the process in the pid file the service recorded at its start still runs;
    None where the service recorded none. Debian's OpenRC starts daemons through dpkg's
    start-stop-daemon, which does not register them with OpenRC, so `status` says
    "started" for a daemon that died right after its start."""
    try:
        pidfile = (RC_SVCDIR / "options" / name / "pidfile").read_text().strip()
    except OSError:
        return None
    try:
        pid = int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False  # started with a pid file that is gone or empty: nothing runs
    return pid > 0 and Path(f"/proc/{pid}").exists()


class OpenRC:
    name = InitSystem.OPENRC

    def daemon_reload(self) -> Result:
        return Result(("true",), 0, "", "")  # OpenRC reads its scripts on each call

    def apply(self, action: Action, unit: str, at_boot: bool = False) -> Result:
        require_command(action, unit)
        name = service(unit)
        # A service the profile adds must also come up at boot; one it drops must not.
        if action is Action.ENABLE:
            return run(["rc-update", "--", "add", name, "default"], check=False)
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
        # rc-service NAME status exits 0 only for a started service (3: stopped, 32:
        # crashed, as far as OpenRC knows).
        out = {}
        for u in units:
            ok = run(["rc-service", "--", service(u), "status"], check=False).ok
            if ok and daemon_alive(service(u)) is False:
                out[u] = UnitStatus("crashed", "started, but its daemon is gone")
            else:
                out[u] = UnitStatus("active" if ok else "inactive")
        return out

    def status_tail(self, unit: str, lines: int = 10) -> str:
        return tail(run(["rc-service", "--", service(unit), "status"], check=False), lines)
