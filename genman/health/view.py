"""What status and list-generations show of health: failures since the default, the
pending confirmation, the last health run, each generation's state. Kept apart from
`health.commands` (which reaches the switch machinery) so the read commands stay light."""

from __future__ import annotations

import os
from typing import Any

from genman.bootid import boot_id
from genman.context import Options
from genman.health import checks, pending, state


def status_fields(opts: Options) -> dict[str, Any]:
    """What status adds: failures since the default, the pending confirmation, the last
    health run."""
    from genman import status

    layout = opts.layout
    if _writable(opts):
        pending.settle(opts, boot_id())
    default = status.markers(layout).default
    failed = [{"number": n, "failure": r.failure, "changed": r.changed}
              for n, r in sorted(state.all_records(layout).items())
              if r.state is state.GenState.FAILED and (default is None or n > default)]
    p = pending.read_pending(layout)
    run = checks.last_run(layout)
    return {"failed": failed,
            "pending": {"number": p.number, "deadline": p.deadline} if p else None,
            "last_health": run.to_dict() if run else None,
            "state": state.fields(state.read(layout, default) if default else None)}


def _writable(opts: Options) -> bool:
    return os.access(state.health_dir(opts.layout).parent, os.W_OK)


def status_head(fields: dict[str, Any]) -> list[str]:
    """Lines status prints before anything else: what went wrong."""
    lines = [f"FAILED: generation {f['number']}: {f['failure']}" for f in fields["failed"]]
    if fields["pending"]:
        import time

        left = max(fields["pending"]["deadline"] - time.time(), 0)
        lines.append(f"pending: generation {fields['pending']['number']} waits for "
                     f"`genman confirm` ({left:.0f} s left)")
    return lines


def status_tail(fields: dict[str, Any]) -> list[str]:
    st = fields["state"]
    lines = []
    if st["state"]:
        rec = state.Record(state.GenState(st["state"]), st["tries_left"], st["failure"])
        lines.append(f"state:   {state.label(rec)}")
    if fields["last_health"]:
        lines += checks.run_text(checks.HealthRun.from_dict(fields["last_health"]))
    return lines
