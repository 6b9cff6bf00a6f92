"""Writing to the terminal without click: the read commands' fast way in (`fastcli`) and
the click commands print through the same rules, so both give the same bytes.

`echo` does what `click.echo` does with text: a newline unless `nl=False`, ANSI codes
stripped when the stream is not a terminal, a flush after every write."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

Echo = Callable[..., None]  # echo(text, err=False, nl=True)

_ANSI = re.compile(r"\033\[[0-?]*[ -/]*[@-~]")  # click's own pattern (click._compat)


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    out = text + "\n" if nl else text
    if not out:
        stream.flush()
        return
    try:
        tty = stream.isatty()
    except ValueError:  # a closed stream
        tty = False
    stream.write(out if tty else _ANSI.sub("", out))
    stream.flush()


_pending: list[Echo] = []  # a handler asked for before `logging` was needed


def install_warning_handler(say: Echo, lazy: bool = False) -> None:
    """Every warning of the "genman" logger reaches stderr as `warning: ...` through
    `say`. `lazy` (the read commands' fast path): if nothing has imported `logging` yet,
    wait until `genman.channel`, the one place warnings come from, is imported; a read
    command that never warns never pays for `logging`."""
    if lazy and "logging" not in sys.modules:
        _pending[:] = [say]
        return
    _pending.clear()
    from genman.warnhandler import install

    install(say)


def install_pending() -> None:
    """Called by `genman.channel` on import: the lazily asked-for handler, now."""
    if _pending:
        install_warning_handler(_pending.pop())
