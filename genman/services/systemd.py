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
        # A service the profile adds must also come up at boot; one it drops must not.
        if action is Action.START:
            return run(["systemctl", "enable", "--now", unit], check=False)
        if action is Action.STOP:
            return run(["systemctl", "disable", "--now", unit], check=False)
        return run(["systemctl", action.value, unit], check=False)

    def status_tail(self, unit: str, lines: int = 10) -> str:
        r = run(["systemctl", "status", "--no-pager", f"--lines={lines}", unit], check=False)
        return tail(r, lines)
