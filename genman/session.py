"""One way in for every command that writes: `with session(opts, say) as s:`.

Entering takes the lock, then puts the tree back in order before the command looks at it:
stray temp files of a killed run are removed, a file-based one-shot boot that has happened
is finished, and an interrupted switch is undone (`transaction.recover`). The session
carries the two output channels: `say` for progress, `warn` for what the user must hear
(the "genman" logger, which the CLI always prints to stderr).

Leaving releases the lock, then empties the trash (what prune and gc moved out of the way,
or what a crashed run left there): in a detached child, or before returning with
`wait_trash` (`genman prune --wait`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from genman import trash
from genman.channel import Say, quiet, warn
from genman.context import Options
from genman.errors import GenmanError, LockHeld
from genman.lock import locked
from genman.services import InitSystem
from genman.transaction import recover


@dataclass(frozen=True)
class Session:
    opts: Options
    say: Say
    recovered: bool  # an interrupted switch was undone on the way in

    def warn(self, message: str) -> None:
        warn(message)


@contextlib.contextmanager
def session(opts: Options, say: Say = quiet, init_system: InitSystem | None = None,
            wait_trash: bool = False, lock_wait: float | None = None) -> Iterator[Session]:
    """Hold the lock for the block, after recovering what a killed run left. The lock is
    waited for up to `lock_wait` seconds (default: the `--lock-wait` of the options)."""
    try:
        with locked(opts.layout, opts.lock_wait if lock_wait is None else lock_wait):
            recovered = recover(opts, say, init_system)
            yield Session(opts, say, recovered)
    except LockHeld:
        raise  # the trash is the holder's to empty
    except BaseException:
        with contextlib.suppress(OSError, GenmanError):  # the error that stopped us matters
            trash.dispose(opts.layout, wait_trash)
        raise
    trash.dispose(opts.layout, wait_trash)
