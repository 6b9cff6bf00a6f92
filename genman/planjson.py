"""A plan as JSON for `--dry-run --json`: one object per action, for scripts and fleets.

Every object has `kind` (the action, e.g. "put_link", "service", "daemon_reload") and
`text` (the line(s) the plain dry run prints); service actions add `service`, `unit`,
`action`, `at_boot`, `reason` and `live`; other actions add their plain fields.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any

from genman.plan import CheckRunning, Plan, PlanAction, Service


def _kind(action: PlanAction) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(action).__name__).lower()


def _plain(value: Any) -> tuple[bool, Any]:
    if isinstance(value, Enum):
        return True, value.value
    if value is None or isinstance(value, str | int | float | bool):
        return True, value
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return True, list(value)
    return False, None


def action_dict(action: PlanAction) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": _kind(action), "text": action.describe()}
    if isinstance(action, Service):
        d.update(action.change.to_dict(), live=action.live)
    elif isinstance(action, CheckRunning):
        d.update(units=[c.unit for c in action.changes], settle=action.settle,
                 live=action.live)
    elif dataclasses.is_dataclass(action):
        for f in dataclasses.fields(action):
            ok, value = _plain(getattr(action, f.name))
            if ok:
                d[f.name] = value
    return d


def plan_json(plan: Plan) -> list[dict[str, Any]]:
    return [action_dict(a) for a in plan.actions]
