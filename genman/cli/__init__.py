"""genman's command line: parse, call, print. No logic lives here.

`base` holds the group and what the command files share; `generations` and `activation`
add their commands to it on import; the health commands are wired below, deploy's come
from `genman.deploy.commands`."""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import click

from genman.cli import activation, adopt, generations  # noqa: F401 - they add their commands
from genman.cli.base import (
    CONTEXT,
    EXIT_BUG,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REVERTED,
    EXIT_SERVICES_FAILED,
    EXIT_USAGE,
    INIT_SYSTEM,
    cli,
    echo,
    flags,
    opts_of,
    progress,
)
from genman.completion import complete_if_asked
from genman.context import Options
from genman.deploy.commands import deploy, remote
from genman.errors import GenmanError, from_os_error

__all__ = [
    "EXIT_BUG", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REVERTED",
    "EXIT_SERVICES_FAILED", "EXIT_USAGE", "cli", "main",
]

cli.add_command(deploy)
cli.add_command(remote)


@cli.command(context_settings=CONTEXT)
@INIT_SYSTEM
@click.pass_context
def confirm(ctx: click.Context, init_system: str | None) -> int:
    """Keep the generation a `--confirm-within` switch activated: it becomes the boot
    default and the watcher stops.

    \b
    Example:
      genman switch --confirm-within 2m && ssh host genman confirm
    """
    from genman.health import commands as health

    return health.confirm_command(opts_of(ctx), flags(False, init_system), progress, echo)


@cli.command(context_settings=CONTEXT)
@click.option("--last", is_flag=True, help="Show the last run of each boot; run nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--install-marker", is_flag=True,
              help="Install the boot-time marker that judges each boot (for the init "
                   "system of the target); boot counting needs it.")
@INIT_SYSTEM
@click.pass_context
def health(ctx: click.Context, last: bool, as_json: bool, install_marker: bool,
           init_system: str | None) -> int:
    """Run the active generation's health checks now, or show earlier runs.

    Results are kept per boot under /var/lib/genman/health. Exit code 1: a required
    check failed.

    \b
    Examples:
      genman health
      genman health --last --json | jq '.[-1].checks'
      genman health --install-marker
    """
    from genman.health import commands as health_commands

    if install_marker:
        return health_commands.install_marker(opts_of(ctx), init_system, echo)
    return health_commands.health_command(opts_of(ctx), last, as_json, progress, echo)


@cli.command("boot-mark", context_settings=CONTEXT, hidden=True)
@click.pass_context
def boot_mark(ctx: click.Context) -> int:
    """Judge this boot (run by the boot-time marker). Exit 5: reboot it."""
    from genman.health import commands as health

    return health.boot_mark_command(opts_of(ctx), progress)


@cli.command("watch-confirmation", context_settings=CONTEXT, hidden=True)
@click.argument("token")
@INIT_SYSTEM
@click.pass_context
def watch_confirmation(ctx: click.Context, token: str, init_system: str | None) -> int:
    """The detached watcher of a --confirm-within switch (started by genman itself)."""
    from genman.health import commands as health

    return health.watch_command(opts_of(ctx), token, flags(False, init_system))


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def _debug(ctx: click.Context | None) -> bool:
    opts = ctx.find_object(Options) if ctx is not None else None
    return opts is not None and opts.debug


def main(argv: list[str] | None = None) -> NoReturn:
    complete_if_asked(cli)
    args = sys.argv[1:] if argv is None else argv
    ctx: click.Context | None = None
    try:
        ctx = cli.make_context("genman", list(args))
        with ctx:
            rv = cli.invoke(ctx)
    except click.exceptions.Exit as e:  # --help, --version
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except GenmanError as e:
        if _debug(ctx):
            traceback.print_exc()
        _fail(e.message, e.hint, e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except OSError as e:
        if _debug(ctx):
            traceback.print_exc()
        known = from_os_error(e)
        if known is None:
            _fail(f"internal error: {type(e).__name__}: {e}",
                  "this is a bug in genman; run again with --debug for the traceback", EXIT_BUG)
        _fail(known.message, known.hint, known.exit_code)
    except Exception as e:  # noqa: BLE001 - the last line of defence: exit 3, no traceback
        if _debug(ctx):
            traceback.print_exc()
        _fail(f"internal error: {type(e).__name__}: {e}",
              "this is a bug in genman; run again with --debug for the traceback", EXIT_BUG)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)
