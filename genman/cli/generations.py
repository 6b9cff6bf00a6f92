"""Commands on the generations themselves: build, list-generations, diff, prune, gc, pin,
unpin."""

from __future__ import annotations

from pathlib import Path

import click

from genman.cli.base import (
    CONTEXT,
    PROFILE_ARG,
    cli,
    echo,
    echo_json,
    opts_of,
    print_plan,
    profile_path,
    progress,
)
from genman.completion import generation_numbers

WAIT_TRASH = click.option("--wait", is_flag=True,
                          help="Return once the removed files are deleted (default: they are "
                               "deleted in the background; the space freed is printed either "
                               "way).")


@cli.command(context_settings=CONTEXT)
@PROFILE_ARG
@click.pass_context
def build(ctx: click.Context, profile: Path | None) -> None:
    """Build a generation from PROFILE and print its number.

    Nothing else changes: the running system, the boot default and the boot menu stay as
    they are. Building a profile whose result equals the newest generation makes no new
    generation and prints that generation's number.

    \b
    Examples:
      genman build                              # /etc/genman/profile.toml
      genman --root ./sandbox build host.toml   # into a sandbox tree
    """
    from genman import operations

    opts = opts_of(ctx)
    result = operations.build(opts, profile_path(opts, profile), progress)
    if not result.new:
        click.echo(f"unchanged: generation {result.number} already is this profile", err=True)
    click.echo(result.number)


@cli.command("list-generations", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (one object each).")
@click.pass_context
def list_generations(ctx: click.Context, as_json: bool) -> None:
    """List every generation: number, date, kernel, description and markers.

    Markers: default (what the boot menu boots), active (live now), booted (what the
    machine booted into), pinned (never pruned), no-entry (the bootloader has no entry).

    \b
    Examples:
      genman list-generations
      genman list-generations --json | jq '.[] | select(.default) | .number'
    """
    from genman import readcmds

    readcmds.list_generations(opts_of(ctx), as_json, echo)


@cli.command(context_settings=CONTEXT)
@click.argument("a", type=int, shell_complete=generation_numbers)
@click.argument("b", type=int, shell_complete=generation_numbers)
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option("--content", is_flag=True,
              help="Also show a unified diff of every /etc file whose content changed "
                   "(binary files: sizes and hashes; secrets: never their content).")
@click.pass_context
def diff(ctx: click.Context, a: int, b: int, as_json: bool, content: bool) -> None:
    """Show what changed from generation A to generation B.

    Lists /etc files added (+), removed (-) and changed (~), packages, services and the
    kernel, as recorded in the two generations' manifests. With --content: a summary
    like `git diff --stat`, then each file's hunks (coloured on a terminal).

    \b
    Examples:
      genman diff 4 5
      genman diff 4 5 --content | less -R
    """
    if not content:  # the same bytes as the click-free path (genman.fastcli) prints
        from genman import readcmds

        readcmds.diff(opts_of(ctx), a, b, as_json, echo)
        return
    import sys

    from genman import operations
    from genman.report import diff_text

    d = operations.diff(opts_of(ctx), a, b)
    files = operations.content_diff(opts_of(ctx), a, b) if content else None
    if as_json:
        data = d.to_dict()
        if files is not None:
            data["content"] = [{"path": f.path, "lines": list(f.lines), "added": f.added,
                                "removed": f.removed, "note": f.note} for f in files]
        echo_json(data)
        return
    click.echo(diff_text(a, b, d), nl=False)
    if files:
        from genman.textdiff import render

        click.echo("")
        for line in render(files, sys.stdout.isatty()):
            click.echo(line)


@cli.command(context_settings=CONTEXT)
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="Keep the N newest generations.")
@click.option("--older-than", metavar="AGE",
              help="Remove generations older than AGE (30d, 12h, 2w). With --keep: only "
                   "those that are both outside the N newest and older than AGE.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@WAIT_TRASH
@click.pass_context
def prune(ctx: click.Context, keep: int | None, older_than: str | None, dry_run: bool,
          wait: bool) -> None:
    """Delete old generations, their boot entries and boot files, then collect garbage.

    Never removed: the default, active, booted and pinned generations. What goes leaves
    at once (renamed into /var/lib/genman/trash under the lock); the files are deleted
    after the lock is released, in the background unless --wait.

    \b
    Examples:
      genman prune --keep 5
      genman prune --older-than 30d --dry-run
      genman prune --keep 5 --wait && df -h /var
    """
    from genman import operations
    from genman.prune import freed_text

    plan = operations.prune(opts_of(ctx), keep, older_than, dry_run, wait)
    print_plan(plan.describe(), dry_run)
    if dry_run:
        return
    for n, why in plan.spared:
        click.echo(f"kept generation {n}: {why}", err=True)
    if plan.generations:
        from genman.report import number_ranges

        n = len(plan.generations)
        click.echo(f"removed {n} generation{'s' if n > 1 else ''}: "
                   f"{number_ranges(plan.generations)}")
    else:
        click.echo("no generation removed")
    click.echo(freed_text(plan.freed()))


@cli.command(context_settings=CONTEXT)
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@WAIT_TRASH
@click.pass_context
def gc(ctx: click.Context, dry_run: bool, wait: bool) -> None:
    """Remove store paths and boot files no generation references.

    Paths of the active and booted system and of an interrupted switch are kept. Removed
    store paths are deleted after the lock is released, in the background unless --wait.

    \b
    Examples:
      genman gc --dry-run
      genman gc --wait
    """
    from genman import operations
    from genman.prune import freed_text

    plan = operations.gc(opts_of(ctx), dry_run, wait)
    print_plan(plan.describe(), dry_run)
    if not dry_run:
        click.echo(f"removed {len(plan.store.paths)} store paths; {freed_text(plan.freed())}")


@cli.command(context_settings=CONTEXT)
@click.argument("number", type=int, shell_complete=generation_numbers)
@click.pass_context
def pin(ctx: click.Context, number: int) -> None:
    """Pin generation NUMBER: prune never removes it.

    \b
    Example:
      genman pin 12
    """
    from genman import operations

    changed = operations.pin(opts_of(ctx), number, True)
    click.echo(f"pinned generation {number}" if changed else f"generation {number} was pinned")


@cli.command(context_settings=CONTEXT)
@click.argument("number", type=int, shell_complete=generation_numbers)
@click.pass_context
def unpin(ctx: click.Context, number: int) -> None:
    """Unpin generation NUMBER: prune may remove it again.

    \b
    Example:
      genman unpin 12
    """
    from genman import operations

    changed = operations.pin(opts_of(ctx), number, False)
    click.echo(f"unpinned generation {number}" if changed
               else f"generation {number} was not pinned")
