"""The `genman` group, its global options, and what every command file shares: exit
codes, output helpers and the options several commands take."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from genman import __version__, termout
from genman.context import LOCK_WAIT, BootloaderChoice, Options
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


def install_warning_handler() -> None:
    termout.install_warning_handler(echo)


def opts_of(ctx: click.Context) -> Options:
    obj = ctx.find_object(Options)
    if obj is None:  # only when a command is invoked without the group
        raise click.UsageError("genman's global options were not parsed")
    return obj


def profile_path(opts: Options, given: Path | None) -> Path:
    if given is not None:
        return given
    return opts.layout.host(opts.layout.default_profile)


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    click.echo(text, err=err, nl=nl)


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
@click.option("--lock-wait", type=click.FloatRange(min=0), default=LOCK_WAIT,
              show_default=True, metavar="SECONDS",
              help="How long a command that changes something waits while another genman "
                   "holds the lock; 0 fails at once.")
@click.option("--debug", is_flag=True, help="Log every step and show tracebacks.")
@click.version_option(__version__, prog_name="genman")
@click.pass_context
def cli(ctx: click.Context, root: Path, esp: Path | None, boot_dir: Path | None,
        bootloader: str, lock_wait: float, debug: bool) -> None:
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
        lock_wait=lock_wait,
    )


PROFILE_ARG = click.argument(
    "profile", required=False, type=click.Path(dir_okay=False, path_type=Path)
)


# ---------------------------------------------------------------- activation (issue 3)

DRY_RUN = click.option("--dry-run", is_flag=True,
                       help="Print the exact plan (etc, PATH, services, boot entries) and "
                            "change nothing.")
BACKUP = click.option("--backup", is_flag=True,
                      help="Move unmanaged files in the way, and managed ones changed by hand, "
                           "aside (to <path>.genman-backup-<time>) instead of refusing.")
FORCE = click.option("--force", is_flag=True,
                     help="Overwrite managed /etc files that were changed by hand since the "
                          "live generation (see `genman drift`) instead of refusing.")
INIT_SYSTEM = click.option("--init-system", type=click.Choice(["systemd", "sysvinit", "openrc"]),
                           help="The init system whose services to manage (default: detected "
                                "from PID 1; under --root, from the target tree).")


PLAN_JSON = click.option("--json", "as_json", is_flag=True,
                         help="With --dry-run: print the plan as a JSON array, one object "
                              "per action.")


def flags(backup: bool, init_system: str | None, force: bool = False) -> Any:
    from genman.activation import Flags
    from genman.services import InitSystem

    return Flags(backup=backup, init_system=InitSystem(init_system) if init_system else None,
                 force=force)


def print_plan(lines: list[str], dry_run: bool) -> None:
    """The plan, for --dry-run, to stdout (its warnings went to stderr when it was made)."""
    if dry_run:
        for line in lines:
            click.echo(line)
