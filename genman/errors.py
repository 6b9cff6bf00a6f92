"""The one exception the core raises for problems the user can fix."""

from __future__ import annotations

import errno

# For a state genman itself should never reach (where an `assert` would vanish under -O).
BUG_HINT = "this is a bug in genman; run again with --debug for the traceback"


class GenmanError(Exception):
    """A clear, expected failure: printed as `error: <message>` plus `hint: <hint>`, exit 1.

    The core raises it and never imports click; the CLI turns it into output once.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class LockHeld(GenmanError):
    """Another genman holds the lock."""


# Failures of the machine rather than of genman: reported as an error with the way out,
# never as a bug. An interrupted switch left a journal; the next command undoes it first.
_AGAIN = "then run the command again (an interrupted switch is undone first)"
_OS_HINTS = {
    errno.ENOSPC: f"free space on that file system ({_AGAIN})",
    errno.EDQUOT: f"raise the quota or free space ({_AGAIN})",
    errno.EROFS: f"remount that file system read-write ({_AGAIN})",
    errno.ENAMETOOLONG: "shorten that name: file names are limited to 255 bytes",
    errno.EACCES: "run genman as root, or fix the permissions of that path",
    errno.EPERM: "run genman as root, or fix the permissions of that path",
    errno.EISDIR: "a directory stands where genman keeps a file: move it aside",
    errno.ENOTDIR: "a file stands where genman needs a directory: move it aside",
    errno.ELOOP: "a link loop (or a link genman does not follow) in that path: remove it",
    errno.EIO: "the disk reported an I/O error: check it (dmesg) before going on",
}


def from_os_error(e: OSError) -> GenmanError | None:
    """The GenmanError for an environmental OSError, or None for one that is a bug."""
    hint = _OS_HINTS.get(e.errno or 0)
    if hint is None:
        return None
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    return GenmanError(f"{e.strerror or e}{': ' + where if where else ''}", hint=hint)
