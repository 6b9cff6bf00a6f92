"""Services: which ones to start, stop, restart or reload, and the init-system backends.

`plan_services` is pure: two manifests in, one `ServiceChange` per service out, each with
the reason shown by `switch --dry-run`. The backends (systemd, sysvinit, OpenRC) turn a
change into commands, all through genman.process.run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from genman.manifest import Manifest, ServiceEntry

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
    SKIP = "skip"  # changed, but on_change = "none": not restarted
    UNCHANGED = "unchanged"


# Actions that run a command.
RUNS = (Action.START, Action.STOP, Action.RESTART, Action.RELOAD)


@dataclass(frozen=True)
class ServiceChange:
    name: str
    unit: str
    action: Action
    reason: str

    def describe(self) -> str:
        if self.action is Action.SKIP:
            return f"{self.name} ({self.unit}): not restarted: {self.reason}"
        return f"{self.action.value} {self.name} ({self.unit}): {self.reason}"


def unit_file_name(entry: ServiceEntry) -> str:
    """The file name a managed unit file is installed under in /etc/systemd/system."""
    unit = entry.unit.rsplit("/", 1)[-1]
    return unit if "." in unit else f"{unit}.service"


def _why(old: ServiceEntry, new: ServiceEntry) -> str:
    if old.unit_file != new.unit_file:
        return "unit file changed"
    if old.unit != new.unit:
        return f"unit renamed from {old.unit}"
    return "changed: " + (", ".join(new.restart_triggers) or "its definition")


def plan_services(old: Manifest | None, new: Manifest | None) -> tuple[ServiceChange, ...]:
    """What each service needs when going from `old` to `new` (None: no generation)."""
    before = old.services if old else {}
    after = new.services if new else {}
    changes: list[ServiceChange] = []
    for name in sorted(before.keys() - after.keys()):
        changes.append(ServiceChange(name, before[name].unit, Action.STOP,
                                     "no longer in the profile"))
    for name in sorted(after):
        n = after[name]
        o = before.get(name)
        if o is None:
            changes.append(ServiceChange(name, n.unit, Action.START, "new in the profile"))
        elif o.digest == n.digest and o.unit == n.unit and o.on_change == n.on_change:
            changes.append(ServiceChange(name, n.unit, Action.UNCHANGED, "nothing it uses changed"))
        elif o.digest == n.digest and o.unit == n.unit:
            changes.append(ServiceChange(name, n.unit, Action.UNCHANGED,
                                         "only its on_change policy changed"))
        elif o.unit != n.unit:
            # Another unit takes over: stop the old one, start the new one.
            changes.append(ServiceChange(name, o.unit, Action.STOP, f"replaced by {n.unit}"))
            changes.append(ServiceChange(name, n.unit, Action.START, f"replaces {o.unit}"))
        elif n.on_change == "none":
            changes.append(ServiceChange(name, n.unit, Action.SKIP,
                                         f"{_why(o, n)} (on_change = none)"))
        elif n.on_change == "reload" and o.unit_file == n.unit_file:
            changes.append(ServiceChange(name, n.unit, Action.RELOAD, _why(o, n)))
        else:
            changes.append(ServiceChange(name, n.unit, Action.RESTART, _why(o, n)))
    return tuple(changes)


def unit_files_changed(old: Manifest | None, new: Manifest | None) -> bool:
    """True when a managed unit file appears, disappears or changes: daemon-reload first."""
    def files(m: Manifest | None) -> dict[str, str]:
        return {unit_file_name(s): s.unit_file for s in (m.services.values() if m else ())
                if s.unit_file}
    return files(old) != files(new)


class Backend(Protocol):
    name: InitSystem

    def daemon_reload(self) -> Result: ...

    def apply(self, action: Action, unit: str) -> Result: ...

    def status_tail(self, unit: str, lines: int = 10) -> str: ...


def tail(result: Result, lines: int) -> str:
    text = (result.stdout + result.stderr).rstrip("\n").splitlines()
    return "\n".join(text[-lines:])
