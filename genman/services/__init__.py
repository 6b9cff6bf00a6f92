"""Services: what a switch does to each unit, and the init-system backends.

`genman.services.decide` is pure: (probed state, old manifest, new manifest) in, plan
actions out, each change with the reason `switch --dry-run` shows. `units` compares systemd
unit files, `names` knows unit names, `state` is what the probe reads, `run` executes the
service actions, `backends` picks a backend. The backends (systemd, sysvinit, OpenRC) turn
a change into commands, all through genman.process.run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from genman.errors import BUG_HINT, GenmanError
from genman.manifest import ServiceEntry
from genman.services.names import full_name

if TYPE_CHECKING:
    from genman.process import Result


class InitSystem(StrEnum):
    SYSTEMD = "systemd"
    SYSVINIT = "sysvinit"
    OPENRC = "openrc"


class Action(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    RELOAD = "reload"
    ENABLE = "enable"  # for the next boots only: new in the profile, and already running
    SKIP = "skip"  # changed (or new), but left as it is: the reason says why
    UNCHANGED = "unchanged"


# Actions that run a command.
RUNS = (Action.START, Action.STOP, Action.RESTART, Action.RELOAD, Action.ENABLE)


def require_command(action: Action, unit: str) -> None:
    """A backend is asked only for actions that run a command (the plan skips the rest)."""
    if action not in RUNS:
        raise GenmanError(f"service {unit}: '{action.value}' runs no command",
                          hint=BUG_HINT)

RUNNING = frozenset({"active", "activating", "reloading", "refreshing"})


@dataclass(frozen=True)
class UnitStatus:
    active: str  # systemd ActiveState (sysvinit/OpenRC: "active" or "inactive")
    sub: str = ""  # systemd SubState

    @property
    def running(self) -> bool:
        # auto-restart: the process died and systemd waits to start it again.
        return self.active in RUNNING and self.sub != "auto-restart"

    def describe(self) -> str:
        return f"{self.active} ({self.sub})" if self.sub else self.active


@dataclass(frozen=True)
class ServiceChange:
    name: str  # the [services.X] name (for units only named by a file: the unit)
    unit: str
    action: Action
    reason: str
    at_boot: bool = False  # also enable (start) or disable (stop) it for the next boots

    def describe(self) -> str:
        if self.action is Action.SKIP:
            return f"{self.name} ({self.unit}): left as it is: {self.reason}"
        verb = {Action.START: "enable and start", Action.STOP: "disable and stop"}.get(
            self.action, self.action.value) if self.at_boot else self.action.value
        return f"{verb} {self.name} ({self.unit}): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.name, "unit": self.unit, "action": self.action.value,
                "at_boot": self.at_boot, "reason": self.reason}


def unit_file_name(entry: ServiceEntry) -> str:
    """The file name a managed unit file is installed under in /etc/systemd/system (the
    profile's check for a clash with [etc] uses the same `names.full_name`)."""
    return full_name(entry.unit)


class Backend(Protocol):
    name: InitSystem

    def daemon_reload(self) -> Result: ...

    def apply(self, action: Action, unit: str, at_boot: bool = False) -> Result: ...

    def probe(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        """Which units run now (full unit names; units left out are not running)."""
        ...

    def check(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        """The state of each of `units` now (after a start)."""
        ...

    def status_tail(self, unit: str, lines: int = 10) -> str: ...


def tail(result: Result, lines: int) -> str:
    text = (result.stdout + result.stderr).rstrip("\n").splitlines()
    return "\n".join(text[-lines:])
