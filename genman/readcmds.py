"""What the read commands print: list-generations, diff, status. No click: the click
commands (`genman.cli`) and the fast way in (`genman.fastcli`) both call these with their
own `echo`, so the two give the same bytes by construction. Heavy modules are imported
inside the functions that need them: a read command's start-up is most of its cost."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from genman.context import Options
from genman.layout import Layout
from genman.termout import Echo


def _json(echo: Echo, data: Any) -> None:
    echo(json.dumps(data, indent=2))


def list_generations(opts: Options, as_json: bool, echo: Echo) -> None:
    from genman import status
    from genman.context import BootloaderChoice
    from genman.health.state import all_records, fields

    if opts.bootloader is BootloaderChoice.NONE:
        entries: set[int] = set()
    else:
        from genman import bootloader

        entries = bootloader.entry_numbers(opts)
    rows = status.rows(opts.layout, entries)
    records = all_records(opts.layout)
    rows = [{**r, **fields(records.get(r["number"]))} for r in rows]
    if as_json:
        _json(echo, rows)
    else:
        from genman.report import generations_table

        echo(generations_table(rows), nl=False)


def diff(opts: Options, a: int, b: int, as_json: bool, echo: Echo) -> None:
    from genman import generation
    from genman.diff import diff as diff_manifests

    d = diff_manifests(generation.manifest_of(opts.layout, a),
                       generation.manifest_of(opts.layout, b))
    if as_json:
        _json(echo, d.to_dict())
    else:
        from genman.report import diff_text

        echo(diff_text(a, b, d), nl=False)


def status(opts: Options, as_json: bool, echo: Echo) -> None:
    from genman import driftcheck
    from genman.health import view as health

    report = status_report(opts.layout)
    extra = health.status_fields(opts)
    found = driftcheck.check_live(opts.layout)
    if as_json:
        _json(echo, {**report, **extra, "drift": [f.to_dict() for f in found]})
        return

    def show(n: int | None) -> str:
        return "-" if n is None else str(n)

    for line in health.status_head(extra):  # what went wrong comes first
        echo(line)
    echo(f"default: {show(report['default'])}")
    echo(f"active:  {show(report['active'])}")
    echo(f"booted:  {show(report['booted'])}")
    for line in health.status_tail(extra):
        echo(line)
    if found:
        echo(f"drift: {len(found)} managed /etc path(s) changed by hand "
             "(`genman switch` refuses to overwrite them without --backup or --force):")
        for line in driftcheck.drift_lines(found, sys.stdout.isatty()):
            echo(f"  {line}")
    for w in report["warnings"]:
        echo(f"warning: {w}", err=True)


def status_report(layout: Layout) -> dict[str, Any]:
    """status: the markers, and warnings for what differs or is damaged."""
    from genman.status import markers

    m = markers(layout)
    warnings = []
    if m.booted is not None and m.booted != m.default:
        warnings.append(f"booted generation {m.booted} is not the default ({m.default}); "
                        "the next boot starts the default")
    if m.active != m.default:
        warnings.append(f"active generation {m.active} differs from the default "
                        f"({m.default}); the next boot brings back the default")
    if os.path.lexists(layout.host(layout.journal)):  # the journal module is heavy to import
        from genman.transaction import read_journal

        if read_journal(layout) is not None:
            warnings.append("an interrupted genman run left a journal; the next genman "
                            "command undoes it")
    if m.active is not None:
        from genman import damage

        warnings += damage.store_damage(layout, m.active)
    return {"default": m.default, "active": m.active, "booted": m.booted,
            "pinned": sorted(m.pinned), "warnings": warnings}
