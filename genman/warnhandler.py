"""The handler that prints the "genman" logger's warnings (see `termout`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

Echo = Callable[..., None]  # echo(text, err=False, nl=True), as termout's


class WarningHandler(logging.Handler):
    """Every warning of the "genman" logger reaches stderr as `warning: ...`, terminal or
    not, in the order raised, through `say` (which looks up sys.stderr at each call: it
    may be replaced)."""

    def __init__(self, say: Echo) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self.seen: set[str] = set()  # a warning is told once per run (recovery plans too)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.seen:
            self.seen.add(message)
            self.say(f"warning: {message}", err=True)


def install(say: Echo) -> None:
    log = logging.getLogger("genman")
    for h in log.handlers:
        if isinstance(h, WarningHandler):
            h.seen.clear()  # a new run (tests run many in one process)
            h.say = say
            return
    log.addHandler(WarningHandler(say))
