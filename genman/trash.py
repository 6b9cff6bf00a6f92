"""Deleting without making anyone wait: prune and gc move what they remove into a trash
directory under the lock (one rename each, so no genman ever sees a generation or a store
path half-deleted), and the trash is emptied after the lock is released: in a detached
child by default, in-process with `--wait`.

The trash is /var/lib/genman/trash (the same file system as the generations and, once
genman has taken the store's read-only bind mount away, the store): one directory per
run, `<token>/`. A crash leaves only trash, and the next writing command empties it.
Emptying holds an flock on the trash directory, so two emptiers never race: a second one
waits for the first, then deletes what is left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import sys
from pathlib import Path

from genman import fsutil
from genman.errors import GenmanError
from genman.layout import Layout


def trash_root(layout: Layout) -> Path:
    return layout.host(layout.trash_dir)


class Bin:
    """This run's trash: `move` takes a path out of the namespace in one rename."""

    def __init__(self, layout: Layout) -> None:
        self.root = trash_root(layout)
        self.dir = self.root / secrets.token_hex(6)
        self.made = False

    def _make(self) -> None:
        if self.made:
            return
        if self.root.is_symlink():
            raise GenmanError(f"{self.root} is a link: genman would delete where it points",
                              hint=f"remove the link {self.root}; genman makes the directory")
        self.root.mkdir(mode=0o700, exist_ok=True)
        self.dir.mkdir(mode=0o700)
        self.made = True

    def move(self, path: Path, name: str) -> bool:
        """Rename `path` into the trash as `name`; False when it is on another mount (the
        caller deletes it in place). Absent is fine."""
        for _ in range(3):
            if not os.path.lexists(path):
                return True
            self._make()
            try:
                os.rename(path, self.dir / name)
                return True
            except FileNotFoundError:
                # An earlier run's emptier, still at work, deleted this run's directory
                # with what it already held (trash too): make it again.
                self.made = False
            except OSError as e:
                if e.errno == errno.EXDEV:
                    return False
                raise
        raise GenmanError(f"cannot move {path} into the trash: {self.dir} keeps vanishing",
                          hint="run the command again; `genman gc --wait` empties the trash")


def pending(layout: Layout) -> bool:
    try:
        return any(os.scandir(trash_root(layout)))
    except OSError:
        return False


def empty(root: Path) -> None:
    """Delete everything in the trash directory `root`, holding its flock (a concurrent
    emptier finishes first). New trash that arrives meanwhile is deleted too."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        while names := os.listdir(root):
            for name in names:
                fsutil.remove_tree(root / name)
    finally:
        os.close(fd)


def dispose(layout: Layout, wait: bool) -> None:
    """Empty the trash now (`wait`) or in a detached child; nothing to do: nothing done."""
    if not pending(layout):
        return
    root = trash_root(layout)
    if wait:
        empty(root)
        return
    from genman.process import spawn_detached

    # The same genman as this one (a checkout or the installed package), not whichever
    # `python3 -m genman` would find from /, where the detached child runs.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from genman.trash import main; "
            "sys.exit(main(sys.argv[2:]))")
    try:
        spawn_detached([sys.executable, "-c", code, here, str(root)], os.devnull)
    except (OSError, GenmanError):  # no child: delete it ourselves, the lock is free
        empty(root)


def main(argv: list[str]) -> int:
    """The detached emptier (`python3 -m genman.trash DIR` by hand). Refuses any DIR that
    is not a genman trash directory."""
    if len(argv) != 1 or not argv[0].endswith("/var/lib/genman/trash"):
        print("usage: python -m genman.trash <root>/var/lib/genman/trash", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        empty(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
