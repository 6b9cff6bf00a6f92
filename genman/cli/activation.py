"""Commands that make a generation live or bootable: switch, test, boot,
switch-generation, rollback, status, boot-once, bootloader install."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from genman.channel import warn_all
from genman.cli.base import (
    BACKUP,
    CONTEXT,
    DRY_RUN,
    EXIT_OK,
    EXIT_SERVICES_FAILED,
    FORCE,
    INIT_SYSTEM,
    PLAN_JSON,
    PROFILE_ARG,
    cli,
    echo,
    echo_json,
    flags,
    opts_of,
    print_plan,
    profile_path,
    progress,
)
from genman.completion import generation_numbers


def _activation_result(result: Any, verb: str, dry_run: bool, as_json: bool = False,
                       extra: list[dict[str, Any]] | None = None) -> int:
    """`extra`: what a dry run adds after the plan (the health checks and tries)."""
    if as_json and not dry_run:
        raise click.UsageError("--json needs --dry-run")
    if as_json:
        from genman.planjson import plan_json

        echo_json(plan_json(result.plan) + (extra or []))
        return EXIT_OK
    if dry_run:
        click.echo(f"plan for generation {result.number}:")
        for line in result.plan.describe():
            click.echo(f"  {line}")
        for item in extra or []:
            click.echo(f"  {item['text']}")
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


SHOW_DIFF = click.option("--diff", "show_diff", is_flag=True,
                         help="With --dry-run: also show the unified diff of every /etc file "
                              "whose content changes (secrets are not shown).")


def print_content(diffs: list[Any]) -> None:
    from genman.textdiff import render

    if not diffs:
        click.echo("content: no /etc file changes")
        return
    click.echo("content:")
    for line in render(diffs, sys.stdout.isatty()):
        click.echo(line)


CONFIRM_WITHIN = click.option(
    "--confirm-within", metavar="DURATION",
    help="Activate, but make it the boot default only once `genman confirm` comes within "
         "DURATION (30s, 2m); otherwise the previous generation is activated again. "
         "Exit code 5: reverted.")
WAIT = click.option("--wait", is_flag=True,
                    help="With --confirm-within: wait for the outcome (exit 0 confirmed, "
                         "5 reverted).")


def _activation_command(name: str, verb: str, doc: str) -> None:
    def command(ctx: click.Context, profile: Path | None, dry_run: bool, show_diff: bool,
                backup: bool, force: bool, init_system: str | None, as_json: bool,
                confirm_within: str | None = None, wait: bool = False) -> int:
        from genman import activation

        if as_json and not dry_run:
            raise click.UsageError("--json needs --dry-run")
        if show_diff and (not dry_run or as_json):
            raise click.UsageError("--diff needs --dry-run (and no --json)")
        opts = opts_of(ctx)
        path = profile_path(opts, profile)
        if confirm_within is not None and not dry_run:
            from genman.health import commands as cli_support

            return cli_support.confirmed_switch(opts, path, None, confirm_within, wait,
                                                flags(backup, init_system, force), init_system,
                                                progress, echo)
        # A confirmed switch activates as `test` does: the default moves only on confirm.
        mode = activation.Mode("test" if confirm_within is not None else name)
        from genman.health import commands as cli_support

        result = activation.switch(opts, path, progress, mode, flags(backup, init_system, force),
                                   dry_run, show_diff, cli_support.counting_for(opts))
        extra = None
        if name != "test" and dry_run:
            extra = cli_support.dry_run_health(opts, path, result.number, confirm_within,
                                               result.plan)
        code = _activation_result(result, verb, dry_run, as_json, extra)
        if result.content is not None:
            print_content(result.content)
        warn_all(result.counting)
        return code

    if name == "switch":
        command = WAIT(CONFIRM_WITHIN(command))
    decorated = click.pass_context(command)
    for option in (PLAN_JSON, INIT_SYSTEM, FORCE, BACKUP, SHOW_DIFF, DRY_RUN, PROFILE_ARG):
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
  genman switch --dry-run --diff     # ... and every /etc file's content change
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
@FORCE
@INIT_SYSTEM
@CONFIRM_WITHIN
@WAIT
@click.pass_context
def switch_generation(ctx: click.Context, number: int, dry_run: bool, backup: bool,
                      force: bool, init_system: str | None, confirm_within: str | None,
                      wait: bool) -> int:
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
                                            flags(backup, init_system, force), init_system,
                                            progress, echo)
    result = activation.switch_generation(opts, number, progress,
                                          flags(backup, init_system, force), dry_run,
                                          on_default=cli_support.counting_for(opts))
    if dry_run:
        return _activation_result(result, "switched to", dry_run, extra=cli_support.dry_run_health(
            opts, None, number, confirm_within, result.plan))
    code = _activation_result(result, "switched to", dry_run)
    warn_all(result.counting)
    return code


@cli.command(context_settings=CONTEXT)
@DRY_RUN
@BACKUP
@FORCE
@INIT_SYSTEM
@CONFIRM_WITHIN
@WAIT
@click.pass_context
def rollback(ctx: click.Context, dry_run: bool, backup: bool, force: bool,
             init_system: str | None, confirm_within: str | None, wait: bool) -> int:
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
                                            flags(backup, init_system, force), init_system,
                                            progress, echo)
    from genman.health import commands as health

    result = activation.rollback(opts, progress, flags(backup, init_system, force), dry_run,
                                 health.counting_for(opts))
    if dry_run:
        return _activation_result(result, "rolled back to", dry_run, extra=health.dry_run_health(
            opts, None, result.number, confirm_within, result.plan))
    code = _activation_result(result, "rolled back to", dry_run)
    warn_all(result.counting)
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
    from genman import readcmds

    readcmds.status(opts_of(ctx), as_json, echo)


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
        print_plan(plan.describe(), True)
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
    print_plan(plan.describe(), True)
