"""Generation states: pending, trying, good, failed.

Generations are immutable, so what genman learns about one afterwards lives beside them:
/var/lib/genman/health/state/<N>.json, written atomically. A generation without a record
has never been judged (built, or made before health checks existed): its state is None.

- pending: switched with --confirm-within, not confirmed yet (not the boot default)
- trying:  the boot default, `tries_left` boots to be marked good
- good:    a boot (or a confirmed switch's checks) marked it good
- failed:  reverted or fell back; `failure` says why. Never counted down again and never
           chosen as a fallback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from genman.layout import Layout


class GenState(StrEnum):
    PENDING = "pending"
    TRYING = "trying"
    GOOD = "good"
    FAILED = "failed"


@dataclass(frozen=True)
class Record:
    state: GenState
    tries_left: int | None = None  # trying only
    failure: str | None = None  # failed only
    changed: str = ""  # ISO 8601, when this record was written

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "tries_left": self.tries_left,
                "failure": self.failure, "changed": self.changed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(GenState(d["state"]), d.get("tries_left"), d.get("failure"),
                   d.get("changed", ""))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def health_dir(layout: Layout) -> Path:
    return layout.host(layout.state_dir / "health")


def _path(layout: Layout, number: int) -> Path:
    return health_dir(layout) / "state" / f"{number}.json"


def read(layout: Layout, number: int) -> Record | None:
    try:
        return Record.from_dict(json.loads(_path(layout, number).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None  # a damaged record counts as never judged


def write(layout: Layout, number: int, record: Record) -> None:
    rec = replace(record, changed=record.changed or now_iso())
    from genman import fsutil  # writing only: reading stays light (list-generations)

    fsutil.atomic_write(_path(layout, number), json.dumps(rec.to_dict()) + "\n", 0o644)


def all_records(layout: Layout) -> dict[int, Record]:
    d = health_dir(layout) / "state"
    out: dict[int, Record] = {}
    if not d.is_dir():
        return out
    for p in d.glob("*.json"):
        if p.stem.isdigit():
            rec = read(layout, int(p.stem))
            if rec is not None:
                out[int(p.stem)] = rec
    return out


def mark_pending(layout: Layout, number: int) -> None:
    write(layout, number, Record(GenState.PENDING))


def mark_trying(layout: Layout, number: int, tries: int) -> None:
    write(layout, number, Record(GenState.TRYING, tries_left=tries))


def mark_good(layout: Layout, number: int) -> None:
    write(layout, number, Record(GenState.GOOD))


def mark_failed(layout: Layout, number: int, reason: str) -> None:
    write(layout, number, Record(GenState.FAILED, failure=reason))


def is_failed(layout: Layout, number: int) -> bool:
    rec = read(layout, number)
    return rec is not None and rec.state is GenState.FAILED


def fields(rec: Record | None) -> dict[str, Any]:
    """The list-generations --json fields."""
    return {"state": rec.state.value if rec else None,
            "tries_left": rec.tries_left if rec else None,
            "failure": rec.failure if rec else None}


def label(rec: Record | None) -> str:
    """The MARKERS word of list-generations."""
    if rec is None:
        return ""
    match rec.state:
        case GenState.TRYING:
            return f"trying({rec.tries_left} left)" if rec.tries_left is not None else "trying"
        case _:
            return rec.state.value
