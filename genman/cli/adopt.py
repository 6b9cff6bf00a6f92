"""Commands for a host genman did not build from scratch, and for keeping it honest:
drift, import."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from genman.cli.base import CONTEXT, cli, echo_json, opts_of

if TYPE_CHECKING:
    from genman.driftcheck import Found


def drift_lines(found: list[Found], colour: bool) -> list[str]:
    from genman.textdiff import paint

    lines = []
    for f in found:
        lines.append(f"/etc/{f.drift.path}: {f.drift.detail}")
        if f.diff is not None:
            lines.extend(f"  {paint(line, colour)}" for line in f.diff.lines)
    return lines


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the drifted paths as JSON.")
@click.pass_context
def drift(ctx: click.Context, as_json: bool) -> None:
    """Show managed /etc paths changed by hand since the live generation made them.

    A link replaced by a file, a managed file edited, a mode or owner changed: each with a
    diff of its content where it is text (never for a [secrets] file). `switch` refuses to
    overwrite these unless given --backup (move aside) or --force.

    \b
    Examples:
      genman drift
      genman drift --json | jq -r '.[].path'
    """
    from genman import driftcheck

    found = driftcheck.check_live(opts_of(ctx).layout)
    if as_json:
        echo_json([f.to_dict() for f in found])
        return
    if not found:
        click.echo("no drift: every managed /etc path is as the live generation made it")
        return
    for line in drift_lines(found, sys.stdout.isatty()):
        click.echo(line)
