"""Content diffs for people: unified diffs of text, sizes and hashes of binaries, a
`git diff --stat`-like summary, colours for terminals. Pure: bytes in, lines out."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

RED, GREEN, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"
REDACTED = "(secret: content not shown)"


def is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _side(data: bytes | None) -> str:
    if data is None:
        return "absent"
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}"


@dataclass(frozen=True)
class FileDiff:
    """One changed file: its name and its hunks (or a line for a binary or a secret)."""

    path: str  # as shown, e.g. /etc/motd
    lines: tuple[str, ...]
    added: int
    removed: int
    note: str | None = None  # binary or secret: instead of line counts

    def stat(self, width: int) -> str:
        if self.note is not None:
            return f" {self.path:<{width}} | {self.note}"
        n = self.added + self.removed
        return f" {self.path:<{width}} | {n:>4} {'+' * min(self.added, 40)}" \
               f"{'-' * min(self.removed, 40)}"


def file_diff(path: str, old: bytes | None, new: bytes | None, *,
              secret: bool = False) -> FileDiff:
    """`old`/`new` None: the file is absent on that side."""
    if secret:
        return FileDiff(path, (f"--- {path}", f"+++ {path}", REDACTED), 0, 0, "secret")
    a, b = old or b"", new or b""
    if not (is_text(a) and is_text(b)):
        line = f"Binary file {path}: {_side(old)} -> {_side(new)}"
        return FileDiff(path, (line,), 0, 0, f"binary {len(a)} -> {len(b)} bytes")
    a_lines = a.decode().splitlines(keepends=True)
    b_lines = b.decode().splitlines(keepends=True)
    out: list[str] = []
    added = removed = 0
    for line in difflib.unified_diff(
            a_lines, b_lines, path if old is not None else "/dev/null",
            path if new is not None else "/dev/null", lineterm=""):
        text = line.rstrip("\n")
        if line.endswith("\n") is False and not line.startswith(("---", "+++", "@@")):
            text += "\n\\ No newline at end of file"
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
        out.append(text)
    return FileDiff(path, tuple(out), added, removed)


def render(diffs: Iterable[FileDiff], colour: bool) -> list[str]:
    """The summary first (one line per file, then totals), then every file's hunks."""
    diffs = list(diffs)
    if not diffs:
        return []
    width = max(len(d.path) for d in diffs)
    lines = [d.stat(width) for d in diffs]
    added = sum(d.added for d in diffs)
    removed = sum(d.removed for d in diffs)
    lines.append(f" {len(diffs)} file{'s' if len(diffs) != 1 else ''} changed, "
                 f"{added} insertion{'s' if added != 1 else ''}(+), "
                 f"{removed} deletion{'s' if removed != 1 else ''}(-)")
    for d in diffs:
        lines.append("")
        lines.extend(paint(line, colour) for line in d.lines)
    return lines


def paint(line: str, colour: bool) -> str:
    if not colour:
        return line
    if line.startswith(("---", "+++")):
        return f"{BOLD}{line}{RESET}"
    if line.startswith("@@"):
        return f"{CYAN}{line}{RESET}"
    if line.startswith("+"):
        return f"{GREEN}{line}{RESET}"
    if line.startswith("-"):
        return f"{RED}{line}{RESET}"
    return line
