"""The rollout as a pure plan: which hosts go in which phase, how many at once, when to
stop starting new ones, and each host's steps. No I/O here: `runner` executes it, and
`--dry-run` prints the very same plan."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from genman.errors import GenmanError


class Action(StrEnum):
    SWITCH = "switch"
    BOOT = "boot"
    TEST = "test"


class Step(StrEnum):
    FACTS = "facts"  # one round trip: who the host is, what it runs
    BUILD = "build"  # here, with the host's vars and facts
    COPY = "copy"  # only the store paths the target lacks
    ACTIVATE = "activate"
    CONFIRM = "confirm"  # over a new connection, where the target's genman has it


class Outcome(StrEnum):
    SWITCHED = "switched"
    BOOTS_NEXT = "boots-next"  # --boot: the default now, active at the next boot
    TESTED = "tested"  # --test: active now, the default unchanged
    UNCHANGED = "unchanged"
    REVERTED = "reverted"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"  # never started: --max-fail reached or the canary failed

    @property
    def ok(self) -> bool:
        return self in (Outcome.SWITCHED, Outcome.BOOTS_NEXT, Outcome.TESTED, Outcome.UNCHANGED)


DONE = {Action.SWITCH: Outcome.SWITCHED, Action.BOOT: Outcome.BOOTS_NEXT,
        Action.TEST: Outcome.TESTED}


@dataclass(frozen=True)
class Phase:
    hosts: tuple[str, ...]
    gate: bool  # the following phases start only if every host of this one succeeded


@dataclass(frozen=True)
class Rollout:
    action: Action
    phases: tuple[Phase, ...]
    limit: int  # hosts at once
    max_fail: int | None  # stop starting hosts once this many failed
    steps: tuple[Step, ...]

    def may_start(self, failed: int) -> bool:
        return self.max_fail is None or failed < self.max_fail

    def describe(self) -> list[str]:
        stop = (f", stop starting hosts after {self.max_fail} failed"
                if self.max_fail is not None else "")
        lines = [f"{self.action.value}: {sum(len(p.hosts) for p in self.phases)} hosts, "
                 f"{self.limit} at once{stop}",
                 "each host: " + " -> ".join(s.value for s in self.steps)]
        for i, phase in enumerate(self.phases, 1):
            gate = " (canary: the rest only if all of these succeed)" if phase.gate else ""
            lines.append(f"phase {i}{gate}: " + ", ".join(phase.hosts))
        return lines

    def to_dict(self) -> dict[str, object]:
        return {"action": self.action.value, "limit": self.limit, "max_fail": self.max_fail,
                "steps": [s.value for s in self.steps],
                "phases": [{"hosts": list(p.hosts), "canary": p.gate} for p in self.phases]}


_MAX_FAIL = re.compile(r"^([0-9]+)(%?)$")


def max_fail_count(spec: str | None, total: int) -> int | None:
    """'N' hosts, or 'N%' of the selected hosts (rounded up, at least one)."""
    if spec is None:
        return None
    m = _MAX_FAIL.match(spec.strip())
    if not m or (m.group(2) and int(m.group(1)) > 100) or int(m.group(1)) == 0:
        raise GenmanError(f"--max-fail {spec!r}: expected a count (3) or a percentage (10%)",
                          hint="e.g. --max-fail 1 or --max-fail 20%")
    n = int(m.group(1))
    return max(1, math.ceil(total * n / 100)) if m.group(2) else n


def plan(hosts: tuple[str, ...], action: Action, *, limit: int = 10, canary: int = 0,
         max_fail: str | None = None) -> Rollout:
    if not hosts:
        raise GenmanError("no hosts to deploy to")
    if limit < 1:
        raise GenmanError("--limit must be at least 1")
    if canary < 0:
        raise GenmanError("--canary must be 0 or more")
    phases = []
    if 0 < canary < len(hosts):
        phases.append(Phase(hosts[:canary], gate=True))
        phases.append(Phase(hosts[canary:], gate=False))
    else:
        phases.append(Phase(hosts, gate=False))
    steps = [Step.FACTS, Step.BUILD, Step.COPY, Step.ACTIVATE]
    if action is Action.SWITCH:
        steps.append(Step.CONFIRM)
    return Rollout(action, tuple(phases), limit, max_fail_count(max_fail, len(hosts)),
                   tuple(steps))
