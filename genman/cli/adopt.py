"""Commands for a host genman did not build from scratch, and for keeping it honest:
drift, import."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from genman.cli.base import CONTEXT, cli, echo_json, opts_of


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
    for line in driftcheck.drift_lines(found, sys.stdout.isatty()):
        click.echo(line)


@cli.command("import", context_settings=CONTEXT)
@click.argument("directory", required=False, metavar="[DIR]",
                type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def import_(ctx: click.Context, directory: Path | None) -> None:
    """Write a profile directory DIR (default ./<hostname>) that reproduces this host.

    Every file under /etc that differs from what its Debian package shipped (dpkg's
    checksums), or that no package owns, becomes an [etc] entry with its mode and owner;
    files that look secret (not world-readable, private keys, ssl/private, shadow) become
    [secrets] entries whose content goes to DIR/secrets (0700), never into the profile.
    Services enabled at boot that run now become [services], the running kernel
    [kernel]. What is left out (machine-id, generated files, links, enabled units that do
    not run, ...) is listed with the reason in DIR/left-out.txt. Nothing on the host
    changes.

    \b
    Examples:
      genman import ./fra1 && genman switch --dry-run --diff ./fra1/profile.toml
      genman --root /mnt import ./rescued
    """
    from genman.adopt.run import import_host
    from genman.adopt.scan import Verdict

    layout = opts_of(ctx).layout
    if directory is None:
        from genman.adopt.run import hostname

        directory = Path(hostname(layout))
    done = import_host(layout, directory)
    s = done.scan
    if not done.packages_found:
        click.echo(f"warning: no dpkg database under {layout.host('/var/lib/dpkg')}: every "
                   "file under /etc is imported", err=True)
    for e in done.left_out():
        if not e.reason.startswith(("a link", "genman's own")):
            click.echo(f"left out {e.shown}: {e.reason}")
    links = sum(1 for e in done.left_out() if e.reason.startswith("a link"))
    click.echo(f"imported into {directory}/profile.toml: {len(s.of(Verdict.FILE))} files, "
               f"{len(s.of(Verdict.SECRET))} secrets, {len(done.services)} services; "
               f"{len(s.of(Verdict.SHIPPED))} files as their packages shipped them, "
               f"{links} links and {len(done.left_out()) - links} other paths left out "
               f"(all listed in {directory}/left-out.txt)")
