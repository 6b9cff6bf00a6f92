"""Words every profile section uses: where an error is, what was expected, paths as given."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from genman.errors import GenmanError

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")


def show(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("../..") else str(path)


def q(name: str) -> str:
    """A TOML key as the user would write it."""
    return name if NAME.match(name) and "." not in name else f'"{name}"'


def err(file: Path, key: str, problem: str, hint: str) -> GenmanError:
    where = f"{show(file)}: {key}: " if key else f"{show(file)}: "
    return GenmanError(where + problem, hint=hint)


def unknown(file: Path, section: str, key: str, allowed: frozenset[str]) -> GenmanError:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "allowed keys: " + ", ".join(sorted(allowed))
    where = f"{section}.{q(key)}" if section else q(key)
    return err(file, where, "unknown key", hint)


def type_name(v: object) -> str:
    return {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        float: "a number",
        list: "an array",
        dict: "a table",
    }.get(type(v), type(v).__name__)


def expect(file: Path, key: str, value: object, kind: type, what: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise err(file, key, f"expected {what}, got {type_name(value)}", f"write it as {what}")


def expect_str_list(file: Path, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise err(
            file, key, f"expected an array of strings, got {type_name(value)}",
            'write it as ["a", "b"]',
        )
    return list(value)


def as_given(value: str, resolved: Path) -> str:
    """A path as the profile wrote it, with where it was looked for when that differs."""
    return value if value == str(resolved) else f"{value} ({resolved})"


def resolve(file: Path, value: str) -> Path:
    """A profile path: relative paths are relative to the file that names them."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (file.parent / p)
