"""The pending confirmation of a `--confirm-within` switch:
/var/lib/genman/health/pending.json, read by the watcher, `confirm`, `status` and the
boot-time marker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genman import fsutil
from genman.context import Options
from genman.errors import GenmanError
from genman.health import state
from genman.layout import Layout

Say = Callable[[str], None]


@dataclass(frozen=True)
class Pending:
    number: int
    previous: int  # the generation active before: what a revert activates again
    previous_default: int | None
    deadline: float  # wall-clock seconds (time.time), shared by processes
    boot_id: str | None
    token: str  # tells this confirmation from a later one
    command: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pending:
        return cls(**d)


def pending_path(layout: Layout) -> Path:
    return state.health_dir(layout) / "pending.json"


def read_pending(layout: Layout) -> Pending | None:
    try:
        return Pending.from_dict(json.loads(pending_path(layout).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as e:
        raise GenmanError(f"{pending_path(layout)} is damaged: {e}",
                          hint="remove it; `genman status` shows what is live") from None


def settle(opts: Options, boot_id: str | None, say: Say = lambda _: None) -> None:
    """A pending confirmation from an earlier boot can no longer be confirmed: the reboot
    came back on the old default, so the pending generation failed."""
    layout = opts.layout
    p = read_pending(layout)
    if p is None or p.boot_id is None or boot_id is None or p.boot_id == boot_id:
        return
    state.mark_failed(layout, p.number, "rebooted before it was confirmed")
    fsutil.remove_file(pending_path(layout))
    say(f"generation {p.number} was not confirmed before the reboot: marked failed")
