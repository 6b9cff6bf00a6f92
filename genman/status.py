"""Which generation is default, active, booted and pinned; rows for list-generations."""

from __future__ import annotations

import os
from typing import Any

from genman import generation
from genman.layout import Layout
from genman.markers import Markers


def pinned(layout: Layout) -> frozenset[int]:
    try:
        names = os.listdir(layout.host(layout.pins_dir))
    except FileNotFoundError:
        return frozenset()
    return frozenset(int(n) for n in names if n.isdigit())


def markers(layout: Layout) -> Markers:
    return Markers(
        default=generation.link_number(layout, layout.host(layout.default_link)),
        active=generation.link_number(layout, layout.host(layout.active_link)),
        booted=generation.link_number(layout, layout.host(layout.booted_link)),
        pinned=pinned(layout),
    )


def rows(layout: Layout, boot_entries: set[int]) -> list[dict[str, Any]]:
    m = markers(layout)
    store = str(layout.store_dir)
    out = []
    for g in generation.list_generations(layout):
        out.append({
            "number": g.number,
            "created": g.created.isoformat(timespec="seconds"),
            "description": g.description,
            "kernel_version": g.kernel_version,
            "store_path": f"{store}/{g.toplevel}",
            "default": g.number == m.default,
            "active": g.number == m.active,
            "booted": g.number == m.booted,
            "pinned": g.number in m.pinned,
            "boot_entry": g.number in boot_entries,
        })
    return out

