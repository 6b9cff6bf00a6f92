"""Running the service actions of a plan (called by genman.execute, one action at a time).

Returns what failed (with the last lines of its status and log) and what was only planned
(under --root), so the executor reports both; a failure never stops the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import assert_never

from genman.services import RUNS, Backend, ServiceChange
from genman.services.decide import CheckRunning, DaemonReload, Service, ServiceAction

Say = Callable[[str], None]


@dataclass
class StepResult:
    failures: list[tuple[ServiceChange, str]] = field(default_factory=list)
    planned_only: list[str] = field(default_factory=list)


def step(action: ServiceAction, backend: Callable[[], Backend], say: Say,
         failed: Collection[str] = (), sleep: Callable[[float], None] = time.sleep
         ) -> StepResult:
    """Run one service action. `failed`: units already reported, not checked again."""
    out = StepResult()
    match action:
        case DaemonReload(live):
            if not live:
                out.planned_only.append("daemon-reload")
                return out
            r = backend().daemon_reload()
            if not r.ok:
                say(f"  daemon-reload failed: {(r.stderr or r.stdout).strip()}")
        case Service(change, live):
            if change.action not in RUNS:
                return out
            if not live:
                out.planned_only.append(f"{change.action.value} {change.unit}")
                return out
            b = backend()
            r = b.apply(change.action, change.unit, change.at_boot)
            if not r.ok:
                out.failures.append((change, b.status_tail(change.unit)
                                     or (r.stderr or r.stdout).strip()))
        case CheckRunning(changes, settle, live):
            if not live:
                out.planned_only.append("check " + ", ".join(c.unit for c in changes))
                return out
            todo = [c for c in changes if c.unit not in failed]
            if not todo:
                return out
            sleep(settle)  # a process that dies right after its start has died by now
            b = backend()
            states = b.check([c.unit for c in todo])
            for c in todo:
                s = states.get(c.unit)
                if s is None or not s.running:
                    what = s.describe() if s else "unknown"
                    out.failures.append((c, f"not running {settle:g} s after its "
                                         f"{c.action.value} ({what})\n" + b.status_tail(c.unit)))
        case _:
            assert_never(action)
    return out
