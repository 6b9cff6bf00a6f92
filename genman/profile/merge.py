"""Reading profile files and merging their imports into one raw profile.

The sections a profile may have are one table, SECTIONS: a new section is one line there
(its shape, its keys and, for a section that needs nothing from the others, its parser).
Later files override earlier ones key by key; each value keeps the file that gave it, for
errors and for relative paths.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genman.errors import GenmanError
from genman.profile.common import as_given, err, expect, expect_str_list, q, resolve, show, unknown

if TYPE_CHECKING:
    from genman.layout import Layout

# One entry: the value and the file that gave it.
Entries = dict[str, tuple[Any, Path]]


class Shape(StrEnum):
    FLAT = "flat"  # key = value, keys from `allowed`
    FREE = "free"  # key = value, any key
    TABLES = "tables"  # name = { key = value }, keys from `allowed`


@dataclass(frozen=True)
class Section:
    shape: Shape
    allowed: frozenset[str] = frozenset()
    example: str = "a table"  # how an entry of a TABLES section is written
    exclusive: tuple[str, ...] = ()  # keys of which an entry holds one; a later one replaces
    # For a section that needs nothing from the others: its parser, whose result lands in
    # Profile.sections[name]. Given the merged entries (for TABLES: name -> Entries).
    parse: Callable[[dict[str, Any], Layout], Any] | None = None


CONTENT_KEYS = ("source", "template", "text")


def _parse_health(entries: dict[str, Any], layout: Layout) -> Any:
    from genman.health.config import parse

    return parse(entries, layout)


SECTIONS: dict[str, Section] = {
    "system": Section(Shape.FLAT, frozenset({"hostname", "description", "init"})),
    "vars": Section(Shape.FREE),
    "kernel": Section(Shape.FLAT, frozenset({"image", "initrd", "params", "keep_modules"})),
    "packages": Section(Shape.FREE),
    "etc": Section(
        Shape.TABLES, frozenset({*CONTENT_KEYS, "mode", "user", "group"}),
        'a table such as { source = "files/x" }', exclusive=CONTENT_KEYS,
    ),
    "services": Section(
        Shape.TABLES, frozenset({"unit", "unit_file", "restart_triggers", "on_change",
                                    "stop_if_changed", "settle"}),
        'a table such as { unit = "nginx" }',
    ),
    "secrets": Section(
        Shape.TABLES, frozenset({"file", "command", "mode", "user", "group"}),
        'a table such as { file = "keys/host.key" }', exclusive=("file", "command"),
    ),
    "health": Section(Shape.FREE, parse=_parse_health),
}
TOP_KEYS = frozenset({"imports", *SECTIONS})


@dataclass
class Raw:
    """The merged profile. sections[name] is Entries for FLAT/FREE sections and
    name -> Entries for TABLES sections."""

    files: list[Path] = field(default_factory=list)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def flat(self, name: str) -> Entries:
        return self.sections.setdefault(name, {})

    def tables(self, name: str) -> dict[str, Entries]:
        return self.sections.setdefault(name, {})


def read_toml(path: Path, imported_from: Path | None, imp_value: str = "") -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        if imported_from is not None:
            raise err(
                imported_from, "imports", f"{as_given(imp_value, path)} does not exist",
                "fix the path; relative imports are relative to the importing file",
            ) from None
        raise GenmanError(
            f"profile {show(path)} does not exist",
            hint="pass the profile's path, e.g. `genman build ./profile.toml`",
        ) from None
    except IsADirectoryError:
        raise GenmanError(
            f"profile {show(path)} is a directory", hint="name the .toml file"
        ) from None
    except PermissionError:
        raise GenmanError(f"cannot read {show(path)}: permission denied") from None
    except UnicodeDecodeError:
        raise GenmanError(f"{show(path)} is not UTF-8 text", hint="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise GenmanError(
            f"{show(path)}: invalid TOML: {e}",
            hint="check quoting and brackets at that line (https://toml.io)",
        ) from None


def load_files(path: Path) -> Raw:
    """The profile at `path` with its imports, merged."""
    raw = Raw()
    _load_file(path, raw, (), None)
    return raw


def _load_file(
    path: Path, raw: Raw, stack: tuple[Path, ...], imported_from: Path | None,
    as_written: str = "",
) -> None:
    path = path.absolute()
    if path in stack:
        cycle = " -> ".join(show(p) for p in (*stack, path))
        raise err(imported_from or path, "imports", f"import cycle: {cycle}",
                  "remove one of the imports")
    data = read_toml(path, imported_from, as_written)
    for key in data:
        if key not in TOP_KEYS:
            raise unknown(path, "", key, TOP_KEYS)
    for imp in expect_str_list(path, "imports", data.get("imports", [])):
        _load_file(resolve(path, imp), raw, (*stack, path), path, imp)
    raw.files.append(path)
    for name, section in SECTIONS.items():
        value = data.get(name, {})
        expect(path, f"[{name}]", value, dict, "a table")
        _merge(raw, path, name, section, value)


def _merge(raw: Raw, path: Path, name: str, section: Section, value: dict[str, Any]) -> None:
    if section.shape is not Shape.TABLES:
        flat = raw.flat(name)
        for k, v in value.items():
            if section.shape is Shape.FLAT and k not in section.allowed:
                raise unknown(path, f"[{name}]", k, section.allowed)
            flat[k] = (v, path)
        return
    tables = raw.tables(name)
    for entry_name, entry in value.items():
        key = f"[{name}.{q(entry_name)}]"
        expect(path, key, entry, dict, section.example)
        for k in entry:
            if k not in section.allowed:
                raise unknown(path, key, k, section.allowed)
        given = [k for k in section.exclusive if k in entry]
        if len(given) > 1:
            raise err(
                path, key, f"two sources for one path ({' and '.join(given)})",
                "keep exactly one of " + ", ".join(section.exclusive[:-1])
                + f" or {section.exclusive[-1]}",
            )
        merged = tables.setdefault(entry_name, {})
        if given:  # a later file's choice replaces the earlier one's, whatever its kind
            for k in section.exclusive:
                merged.pop(k, None)
        for k, v in entry.items():
            merged[k] = (v, path)
