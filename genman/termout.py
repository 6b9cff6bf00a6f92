"""Writing to the terminal without click: the read commands' fast way in (`fastcli`) and
the click commands print through the same rules, so both give the same bytes.

`echo` does what `click.echo` does with text: a newline unless `nl=False`, ANSI codes
stripped when the stream is not a terminal, a flush after every write."""

from __future__ import annotations

import logging
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


class WarningHandler(logging.Handler):
    """Every warning of the "genman" logger reaches stderr as `warning: ...`, terminal or
    not, in the order raised, through `echo` (looked up at each call: sys.stderr may be
    replaced)."""

    def __init__(self, say: Echo) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self.seen: set[str] = set()  # a warning is told once per run (recovery plans too)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.seen:
            self.seen.add(message)
            self.say(f"warning: {message}", err=True)


def install_warning_handler(say: Echo) -> None:
    log = logging.getLogger("genman")
    for h in log.handlers:
        if isinstance(h, WarningHandler):
            h.seen.clear()  # a new run (tests run many in one process)
            h.say = say
            return
    log.addHandler(WarningHandler(say))
