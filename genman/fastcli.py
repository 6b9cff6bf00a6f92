"""genman's way in: the read commands without click.

`genman list-generations`, `status` and `diff` are run often and from scripts; importing
click (and what the other commands need) is most of their cost. `main` recognises exactly
those commands with exactly the options they take (`--json`; the global `--root`, `--esp`,
`--boot-dir`, `--bootloader`), runs them through `genman.readcmds` as the click commands
do, and hands anything else to click: `--help`, `--debug`, a typo, a value click would
refuse, shell completion. The output is the same bytes either way (tests/test_fastcli.py).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

_VALUED = ("--root", "--esp", "--boot-dir", "--bootloader")
_BOOTLOADERS = ("auto", "systemd-boot", "grub", "none")  # context.BootloaderChoice
_BUG_HINT = "this is a bug in genman; run again with --debug for the traceback"


@dataclass(frozen=True)
class Call:
    command: str
    globals_: dict[str, str]
    as_json: bool
    numbers: tuple[int, ...]


def _dir_value(value: str) -> bool:
    """What click.Path(file_okay=False) takes as it is: a directory or nothing."""
    if not value or value == "-":
        return False
    try:
        return os.path.isdir(value) or not os.path.lexists(value)
    except (OSError, ValueError):
        return False


def _globals(args: list[str]) -> tuple[dict[str, str], int] | None:
    given: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, eq, value = args[i].partition("=")
        if name not in _VALUED:
            return None  # --debug, --help, --version, `--`, a typo: click's
        if not eq:
            if i + 1 == len(args):
                return None
            i += 1
            value = args[i]
        if value.startswith("-"):
            return None
        if name == "--bootloader" and value not in _BOOTLOADERS:
            return None
        if name != "--bootloader" and not _dir_value(value):
            return None
        given[name] = value  # repeated: the last one wins, as in click
        i += 1
    return given, i


def parse(args: list[str]) -> Call | None:
    """The read command `args` asks for, or None: let click parse it."""
    head = _globals(args)
    if head is None:
        return None
    given, i = head
    if i == len(args) or args[i] not in ("list-generations", "status", "diff"):
        return None
    command, rest = args[i], args[i + 1:]
    positional = [a for a in rest if a != "--json"]
    if any(a.startswith("-") for a in positional):
        return None
    numbers: list[int] = []
    for a in positional:
        try:
            numbers.append(int(a))
        except ValueError:
            return None
    if len(numbers) != (2 if command == "diff" else 0):
        return None
    return Call(command, given, "--json" in rest, tuple(numbers))


def _fast_ok() -> bool:
    """Only where click would print the same bytes: no completion request, UTF-8 streams
    (click re-encodes a misconfigured stream)."""
    if os.environ.get("_GENMAN_COMPLETE"):
        return False
    return all((getattr(s, "encoding", "") or "").lower().replace("-", "") == "utf8"
               for s in (sys.stdout, sys.stderr))


def run(call: Call) -> int:
    """Run a parsed read command; its exit code (as `genman.cli.main` gives it)."""
    from genman import readcmds, termout
    from genman.context import BootloaderChoice, Options
    from genman.errors import GenmanError, from_os_error
    from genman.layout import Layout

    def fail(message: str, hint: str | None, code: int) -> int:
        termout.echo(f"error: {message}", err=True)
        if hint:
            termout.echo(f"hint: {hint}", err=True)
        return code

    g = call.globals_
    try:
        termout.install_warning_handler(termout.echo, lazy=True)
        esp, boot = g.get("--esp"), g.get("--boot-dir")
        opts = Options(layout=Layout.for_root(Path(g.get("--root", "/"))),
                       esp=Path(esp).absolute() if esp else None,
                       boot_dir=Path(boot).absolute() if boot else None,
                       bootloader=BootloaderChoice(g.get("--bootloader", "auto")),
                       debug=False)
        if call.command == "list-generations":
            readcmds.list_generations(opts, call.as_json, termout.echo)
        elif call.command == "status":
            readcmds.status(opts, call.as_json, termout.echo)
        else:
            a, b = call.numbers
            readcmds.diff(opts, a, b, call.as_json, termout.echo)
    except GenmanError as e:
        return fail(e.message, e.hint, e.exit_code)
    except KeyboardInterrupt:
        termout.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        known = from_os_error(e)
        if known is None:
            return fail(f"internal error: {type(e).__name__}: {e}", _BUG_HINT, 3)
        return fail(known.message, known.hint, known.exit_code)
    except Exception as e:  # noqa: BLE001 - as genman.cli.main: exit 3, no traceback
        return fail(f"internal error: {type(e).__name__}: {e}", _BUG_HINT, 3)
    return 0


def main(argv: list[str] | None = None) -> NoReturn:
    args = sys.argv[1:] if argv is None else list(argv)
    call = parse(args) if _fast_ok() else None
    if call is not None:
        sys.exit(run(call))
    from genman.cli import main as click_main

    click_main(args)
