"""The two ways genman talks while it works, kept apart from click.

- `Say`: progress, a callable the CLI passes in (shown on a terminal only).
- `warn`: what the user must hear (a failed daemon-reload, a directory left in place, an
  interrupted run undone). It goes to the "genman" logger, to which the CLI attaches a
  handler that always writes `warning: ...` to stderr, terminal or not, in the order raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from genman import termout

Say = Callable[[str], None]

log = logging.getLogger("genman")
termout.install_pending()  # a read command's handler, asked for before logging was loaded


def warn(message: str) -> None:
    log.warning(message)


def warn_all(messages: Iterable[str]) -> None:
    """A plan's warnings, told when it is made (dry run or not), in the plan's order."""
    for m in messages:
        warn(m)


def quiet(_: str) -> None:
    """A Say that drops progress."""
