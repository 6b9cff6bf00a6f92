"""Turning results into text for people (tables, diffs). No I/O."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genman.diff import Diff

WIDTH = 80


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def generations_table(rows: list[dict[str, Any]], width: int = WIDTH) -> str:
    if not rows:
        return "no generations yet: `genman build` makes the first one\n"
    flags: list[str] = []
    for r in rows:
        marks = [name for name in ("default", "active", "booted", "pinned") if r[name]]
        if not r["boot_entry"]:
            marks.append("no-entry")
        if r.get("state"):  # health: pending / trying(N left) / good / failed
            left = r.get("tries_left")
            marks.append(f"trying({left} left)" if r["state"] == "trying" and left is not None
                         else r["state"])
        flags.append(",".join(marks))
    flag_w = max(len("MARKERS"), *(len(f) for f in flags))
    fixed = 5 + 2 + 16 + 2 + 16 + 2
    desc_w = max(10, width - fixed - 2 - flag_w)
    lines = [f"{'GEN':>5}  {'CREATED':<16}  {'KERNEL':<16}  {'DESCRIPTION':<{desc_w}}  MARKERS"]
    for r, f in zip(rows, flags, strict=True):
        created = time.strftime(
            "%Y-%m-%d %H:%M", time.localtime(datetime.fromisoformat(r["created"]).timestamp())
        )
        kernel = _cut(r["kernel_version"] or "-", 16)
        desc = _cut(r["description"] or "", desc_w)
        line = f"{r['number']:>5}  {created:<16}  {kernel:<16}  {desc:<{desc_w}}  {f}"
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def number_ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5, 7, 8 -> '1-3, 5, 7-8': a prune of 995 generations stays one line."""
    parts: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)


def diff_text(a: int, b: int, d: Diff) -> str:
    if d.empty:
        return f"generations {a} and {b} are the same\n"
    out = [f"generation {a} -> {b}"]

    def section(title: str, added: tuple[str, ...], removed: tuple[str, ...],
                changed: tuple[str, ...], prefix: str = "") -> None:
        if not (added or removed or changed):
            return
        out.append(f"{title}:")
        out.extend(f"  + {prefix}{x}" for x in added)
        out.extend(f"  - {prefix}{x}" for x in removed)
        out.extend(f"  ~ {prefix}{x}" for x in changed)

    section("etc", d.etc_added, d.etc_removed, d.etc_changed, "/etc/")
    section("packages", d.packages_added, d.packages_removed, d.packages_changed)
    section("services", d.services_added, d.services_removed, d.services_changed)
    if d.kernel:
        out.append(f"kernel: {d.kernel[0] or '(none)'} -> {d.kernel[1] or '(none)'}")
    if d.kernel_params:
        out.append(f"kernel params: {' '.join(d.kernel_params[0]) or '(none)'}"
                   f" -> {' '.join(d.kernel_params[1]) or '(none)'}")
    out.extend(d.other)
    return "\n".join(out) + "\n"
