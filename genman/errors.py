"""The one exception the core raises for problems the user can fix."""

from __future__ import annotations


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
