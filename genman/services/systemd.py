"""systemd: systemctl, one unit at a time."""

from __future__ import annotations

from genman.process import Result, run
from genman.services import Action, InitSystem, tail


class Systemd:
    name = InitSystem.SYSTEMD

    def daemon_reload(self) -> Result:
        return run(["systemctl", "daemon-reload"], check=False)

    def apply(self, action: Action, unit: str) -> Result:
        assert action in (Action.START, Action.STOP, Action.RESTART, Action.RELOAD)
        return run(["systemctl", action.value, unit], check=False)

    def status_tail(self, unit: str, lines: int = 10) -> str:
        r = run(["systemctl", "status", "--no-pager", f"--lines={lines}", unit], check=False)
        return tail(r, lines)
