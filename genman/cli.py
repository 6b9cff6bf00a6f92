"""genman's command line: parse, call, print. No logic lives here."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from genman import __version__
from genman.completion import complete_if_asked, generation_numbers
from genman.context import BootloaderChoice, Options
from genman.errors import GenmanError, from_os_error
from genman.layout import Layout

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_SERVICES_FAILED = 4
EXIT_REVERTED = 5  # a --confirm-within switch was undone (genman.health.commands)
EXIT_INTERRUPTED = 130

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def progress(message: str) -> None:
    """Progress goes to stderr (on a terminal only), so stdout stays parseable."""
    if sys.stderr.isatty():
        click.echo(f"genman: {message}", err=True)
    logging.getLogger("genman").debug(message)


class WarningHandler(logging.Handler):
    """Every warning of the "genman" logger reaches stderr as `warning: ...`, terminal or
    not, in the order raised. Looks up sys.stderr at each call (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: set[str] = set()  # a warning is told once per run (recovery plans too)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.seen:
            self.seen.add(message)
            click.echo(f"warning: {message}", err=True)


def install_warning_handler() -> None:
    log = logging.getLogger("genman")
    for h in log.handlers:
        if isinstance(h, WarningHandler):
            h.seen.clear()  # a new run (tests run many in one process)
            return
    log.addHandler(WarningHandler())


def opts_of(ctx: click.Context) -> Options:
    obj = ctx.find_object(Options)
    if obj is None:  # only when a command is invoked without the group
        raise click.UsageError("genman's global options were not parsed")
    return obj


def profile_path(opts: Options, given: Path | None) -> Path:
    if given is not None:
        return given
    return opts.layout.host(opts.layout.default_profile)


def echo(text: str, err: bool = False) -> None:
    click.echo(text, err=err)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group(context_settings=CONTEXT)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default="/",
              show_default=True, metavar="DIR",
              help="Operate on the system tree under DIR instead of /. Live service actions "
                   "are then planned and printed, never run.")
@click.option("--esp", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="The mounted EFI system partition (default: found with udev and the "
                   "mount table).")
@click.option("--boot-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="The directory GRUB reads kernels from (default: /boot of the target).")
@click.option("--bootloader", type=click.Choice([c.value for c in BootloaderChoice]),
              default="auto", show_default=True,
              help="Which bootloader gets the entries; 'none' writes no entries.")
@click.option("--debug", is_flag=True, help="Log every step and show tracebacks.")
@click.version_option(__version__, prog_name="genman")
@click.pass_context
def cli(ctx: click.Context, root: Path, esp: Path | None, boot_dir: Path | None,
        bootloader: str, debug: bool) -> None:
    """genman: numbered, bootable generations of a host's configuration.

    Each `genman build` of the host's profile (default /etc/genman/profile.toml) makes an
    immutable generation: its /etc files, PATH, kernel and initrd. Switching flips links
    atomically; every retained generation gets a boot entry, so a bad change is one
    reboot away from undone.

    \b
    Examples:
      genman build                       build the host's profile, print the number
      genman switch ./profile.toml       build and activate it now, make it the boot default
      genman list-generations            what there is, and which is default/active/booted
      genman diff 4 5                    what changed between two generations
      genman --root /mnt build           work on the system tree mounted at /mnt

    Global options go before the command.
    """
    install_warning_handler()
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="genman: %(name)s: %(message)s")
        for h in logging.getLogger().handlers:  # genman's warnings are printed once, above
            h.addFilter(lambda r: r.levelno < logging.WARNING or not r.name.startswith("genman"))
    ctx.obj = Options(
        layout=Layout.for_root(root),
        esp=esp.absolute() if esp else None,
        boot_dir=boot_dir.absolute() if boot_dir else None,
        bootloader=BootloaderChoice(bootloader),
        debug=debug,
    )


PROFILE_ARG = click.argument(
    "profile", required=False, type=click.Path(dir_okay=False, path_type=Path)
)


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
    from genman import operations
    from genman.health.commands import with_states

    rows = with_states(opts_of(ctx), operations.generation_rows(opts_of(ctx)))
    if as_json:
        echo_json(rows)
    else:
        from genman.report import generations_table

        click.echo(generations_table(rows), nl=False)


@cli.command(context_settings=CONTEXT)
@click.argument("a", type=int, shell_complete=generation_numbers)
@click.argument("b", type=int, shell_complete=generation_numbers)
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.pass_context
def diff(ctx: click.Context, a: int, b: int, as_json: bool) -> None:
    """Show what changed from generation A to generation B.

    Lists /etc files added (+), removed (-) and changed (~), packages, services and the
    kernel, as recorded in the two generations' manifests.

    \b
    Example:
      genman diff 4 5
    """
    from genman import operations
    from genman.report import diff_text

    d = operations.diff(opts_of(ctx), a, b)
    if as_json:
        echo_json(d.to_dict())
    else:
        click.echo(diff_text(a, b, d), nl=False)


# ---------------------------------------------------------------- activation (issue 3)

DRY_RUN = click.option("--dry-run", is_flag=True,
                       help="Print the exact plan (etc, PATH, services, boot entries) and "
                            "change nothing.")
BACKUP = click.option("--backup", is_flag=True,
                      help="Move unmanaged files in the way aside (to "
                           "<path>.genman-backup-<time>) instead of refusing.")
INIT_SYSTEM = click.option("--init-system", type=click.Choice(["systemd", "sysvinit", "openrc"]),
                           help="The init system whose services to manage (default: detected "
                                "from PID 1; under --root, from the target tree).")


PLAN_JSON = click.option("--json", "as_json", is_flag=True,
                         help="With --dry-run: print the plan as a JSON array, one object "
                              "per action.")


def _activation_result(result: Any, verb: str, dry_run: bool, as_json: bool = False) -> int:
    if as_json and not dry_run:
        raise click.UsageError("--json needs --dry-run")
    if as_json:
        from genman.planjson import plan_json

        echo_json(plan_json(result.plan))
        return EXIT_OK
    if dry_run:
        click.echo(f"plan for generation {result.number}:")
        for line in result.plan.describe():
            click.echo(f"  {line}")
        return EXIT_OK
    for step in result.outcome.planned_only:
        click.echo(f"not run under --root: {step}", err=True)
    click.echo(f"{verb} generation {result.number}")
    if result.outcome.failures:
        for f in result.outcome.failures:
            click.echo(f"error: service {f.change.name} ({f.change.unit}) failed to "
                       f"{f.change.action.value}", err=True)
            for line in f.status.splitlines():
                click.echo(f"  {line}", err=True)
        names = ", ".join(f.change.unit for f in result.outcome.failures)
        click.echo(f"error: switched, but these services failed: {names}", err=True)
        return EXIT_SERVICES_FAILED
    return EXIT_OK


def _flags(backup: bool, init_system: str | None) -> Any:
    from genman.activation import Flags
    from genman.services import InitSystem

    return Flags(backup=backup, init_system=InitSystem(init_system) if init_system else None)


CONFIRM_WITHIN = click.option(
    "--confirm-within", metavar="DURATION",
    help="Activate, but make it the boot default only once `genman confirm` comes within "
         "DURATION (30s, 2m); otherwise the previous generation is activated again. "
         "Exit code 5: reverted.")
WAIT = click.option("--wait", is_flag=True,
                    help="With --confirm-within: wait for the outcome (exit 0 confirmed, "
                         "5 reverted).")


def _activation_command(name: str, verb: str, doc: str) -> None:
    def command(ctx: click.Context, profile: Path | None, dry_run: bool, backup: bool,
                init_system: str | None, as_json: bool, confirm_within: str | None = None,
                wait: bool = False) -> int:
        from genman import activation

        if as_json and not dry_run:
            raise click.UsageError("--json needs --dry-run")
        opts = opts_of(ctx)
        path = profile_path(opts, profile)
        if confirm_within is not None and not dry_run:
            from genman.health import commands as cli_support

            return cli_support.confirmed_switch(opts, path, None, confirm_within, wait,
                                                _flags(backup, init_system), init_system,
                                                progress, echo)
        # A confirmed switch activates as `test` does: the default moves only on confirm.
        mode = activation.Mode("test" if confirm_within is not None else name)
        result = activation.switch(opts, path, progress, mode, _flags(backup, init_system),
                                   dry_run)
        code = _activation_result(result, verb, dry_run, as_json)
        if name != "test" and not as_json:
            from genman.health import commands as cli_support

            if dry_run:
                cli_support.dry_run_health(opts, path, None, confirm_within, echo)
            else:
                cli_support.after_default(opts, result.number)
        return code

    if name == "switch":
        command = WAIT(CONFIRM_WITHIN(command))
    decorated = click.pass_context(command)
    for option in (PLAN_JSON, INIT_SYSTEM, BACKUP, DRY_RUN, PROFILE_ARG):
        decorated = option(decorated)
    cli.command(name, context_settings=CONTEXT, help=doc)(decorated)


_activation_command("switch", "switched to", """Build PROFILE, activate it now and make it
the boot default.

The default changes only after activation succeeded. /etc files that genman does not
manage are never touched: one in the way is an error (or, with --backup, moved aside).
Exit code 4: switched, but some services failed to (re)start.

\b
Examples:
  genman switch                      # /etc/genman/profile.toml
  genman switch --dry-run            # show exactly what would change
  genman --root /mnt switch p.toml   # services are planned, not run
""")
_activation_command("test", "activated (default unchanged)", """Build PROFILE and activate it
now; the boot default stays, so a reboot brings back the default generation.

\b
Example:
  genman test ./profile.toml
""")
_activation_command("boot", "made default (activates at next boot)", """Build PROFILE and make
it the boot default; nothing changes until the next boot.

\b
Example:
  genman boot
""")


@cli.command("switch-generation", context_settings=CONTEXT)
@click.argument("number", type=int, shell_complete=generation_numbers)
@DRY_RUN
@BACKUP
@INIT_SYSTEM
@CONFIRM_WITHIN
@WAIT
@click.pass_context
def switch_generation(ctx: click.Context, number: int, dry_run: bool, backup: bool,
                      init_system: str | None, confirm_within: str | None, wait: bool) -> int:
    """Activate existing generation NUMBER now and make it the boot default.

    \b
    Examples:
      genman switch-generation 41
      genman switch-generation 41 --confirm-within 2m   # reverted unless confirmed
    """
    from genman import activation
    from genman.health import commands as cli_support

    opts = opts_of(ctx)
    if confirm_within is not None and not dry_run:
        return cli_support.confirmed_switch(opts, None, number, confirm_within, wait,
                                            _flags(backup, init_system), init_system, progress,
                                            echo)
    result = activation.switch_generation(opts, number, progress,
                                          _flags(backup, init_system), dry_run)
    code = _activation_result(result, "switched to", dry_run)
    if dry_run:
        cli_support.dry_run_health(opts, None, number, confirm_within, echo)
    else:
        cli_support.after_default(opts, number)
    return code


@cli.command(context_settings=CONTEXT)
@DRY_RUN
@BACKUP
@INIT_SYSTEM
@CONFIRM_WITHIN
@WAIT
@click.pass_context
def rollback(ctx: click.Context, dry_run: bool, backup: bool, init_system: str | None,
             confirm_within: str | None, wait: bool) -> int:
    """Activate the generation before the default one and make it the default.

    \b
    Example:
      genman rollback
      genman rollback --confirm-within 60s
    """
    from genman import activation

    opts = opts_of(ctx)
    if confirm_within is not None and not dry_run:
        from genman.health import commands as cli_support

        return cli_support.confirmed_switch(opts, None, -1, confirm_within, wait,
                                            _flags(backup, init_system), init_system, progress,
                                            echo)
    result = activation.rollback(opts, progress, _flags(backup, init_system), dry_run)
    code = _activation_result(result, "rolled back to", dry_run)
    if not dry_run:
        from genman.health import commands as health

        health.after_default(opts, result.number)
    return code


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print default/active/booted as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the default, active and booted generations, and warn when they differ.

    \b
    Example:
      genman status --json | jq .active
    """
    from genman import activation
    from genman.health import commands as health

    report = activation.status_report(opts_of(ctx))
    extra = health.status_fields(opts_of(ctx))
    if as_json:
        echo_json({**report, **extra})
        return

    def show(n: int | None) -> str:
        return "-" if n is None else str(n)

    for line in health.status_head(extra):  # what went wrong comes first
        click.echo(line)
    click.echo(f"default: {show(report['default'])}")
    click.echo(f"active:  {show(report['active'])}")
    click.echo(f"booted:  {show(report['booted'])}")
    for line in health.status_tail(extra):
        click.echo(line)
    for w in report["warnings"]:
        click.echo(f"warning: {w}", err=True)


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

    return health.confirm_command(opts_of(ctx), _flags(False, init_system), progress, echo)


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

    return health.watch_command(opts_of(ctx), token, _flags(False, init_system))


def _print_plan(lines: list[str], dry_run: bool) -> None:
    """The plan, for --dry-run, to stdout (its warnings went to stderr when it was made)."""
    if dry_run:
        for line in lines:
            click.echo(line)


@cli.command(context_settings=CONTEXT)
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="Keep the N newest generations.")
@click.option("--older-than", metavar="AGE",
              help="Remove generations older than AGE (30d, 12h, 2w). With --keep: only "
                   "those that are both outside the N newest and older than AGE.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.pass_context
def prune(ctx: click.Context, keep: int | None, older_than: str | None, dry_run: bool) -> None:
    """Delete old generations, their boot entries and boot files, then collect garbage.

    Never removed: the default, active, booted and pinned generations.

    \b
    Examples:
      genman prune --keep 5
      genman prune --older-than 30d --dry-run
    """
    from genman import operations
    from genman.prune import freed_text

    plan = operations.prune(opts_of(ctx), keep, older_than, dry_run)
    _print_plan(plan.describe(), dry_run)
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
@click.pass_context
def gc(ctx: click.Context, dry_run: bool) -> None:
    """Remove store paths and boot files no generation references.

    Paths of the active and booted system and of an interrupted switch are kept.

    \b
    Examples:
      genman gc --dry-run
      genman gc
    """
    from genman import operations
    from genman.prune import freed_text

    plan = operations.gc(opts_of(ctx), dry_run)
    _print_plan(plan.describe(), dry_run)
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


@cli.command("boot-once", context_settings=CONTEXT)
@click.argument("number", type=int, shell_complete=generation_numbers)
@click.option("--dry-run", is_flag=True, help="Print what would be written; change nothing.")
@click.pass_context
def boot_once(ctx: click.Context, number: int, dry_run: bool) -> None:
    """Boot generation NUMBER at the next boot only; later boots use the default again.

    GRUB: grubenv next_entry (like grub-reboot). systemd-boot: the LoaderEntryOneShot EFI
    variable (bootctl set-oneshot); under --root, loader.conf's default, put back at the
    next boot from /var/lib/genman/boot-once.

    \b
    Example:
      genman boot-once 4     # try generation 4 once; a reset brings back the default
    """
    from genman import operations

    plan = operations.boot_once(opts_of(ctx), number, dry_run)
    if dry_run:
        _print_plan(plan.describe(), True)
    else:
        click.echo(plan.message)


@cli.group(context_settings=CONTEXT)
def bootloader() -> None:
    """Set up the bootloader for genman's entries.

    \b
    Example:
      genman bootloader install
    """


@bootloader.command("install", context_settings=CONTEXT)
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.pass_context
def bootloader_install(ctx: click.Context, dry_run: bool) -> None:
    """Install genman's hook and write entries for every generation.

    GRUB: writes /etc/grub.d/09_genman, which makes the host's grub.cfg load
    /boot/genman/grub.cfg above the distribution's entries, and runs update-grub once (on
    a live root; under --root, run it in the target yourself). Later switches rewrite only
    genman's file. systemd-boot: checks it is installed on the ESP and writes the entries.

    \b
    Examples:
      genman bootloader install --dry-run
      genman --bootloader grub bootloader install
    """
    from genman import operations

    plan = operations.bootloader_install(opts_of(ctx), dry_run)
    _print_plan(plan.describe(), True)


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


from genman.deploy.commands import deploy, remote  # noqa: E402 - they use the group above

cli.add_command(deploy)
cli.add_command(remote)
