"""User and group names of the target, for [etc] entries that set an owner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genman.layout import Layout
from genman.profile.common import err


def read_ids(layout: Layout, file: str) -> dict[str, int]:
    """name -> id from the target's /etc/passwd or /etc/group (the first of each name)."""
    ids: dict[str, int] = {}
    try:
        with open(layout.host(file), encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 3 and parts[2].isdigit():
                    ids.setdefault(parts[0], int(parts[2]))
    except FileNotFoundError:
        pass
    return ids


@dataclass(frozen=True)
class Owners:
    users: dict[str, int]
    groups: dict[str, int]

    @classmethod
    def read(cls, layout: Layout) -> Owners:
        return cls(read_ids(layout, "/etc/passwd"), read_ids(layout, "/etc/group"))

    def user(self, file: Path, key: str, value: object) -> tuple[str, int]:
        return _resolve(file, key, value, self.users, "user", "/etc/passwd")

    def group(self, file: Path, key: str, value: object) -> tuple[str, int]:
        return _resolve(file, key, value, self.groups, "group", "/etc/group")


def _resolve(
    file: Path, key: str, value: object, names: dict[str, int], what: str, db: str
) -> tuple[str, int]:
    if not isinstance(value, str) or not value:
        raise err(file, f"{key} {what}", "expected a name", f'write it as {what} = "root"')
    if value.isdigit():
        return value, int(value)
    if value not in names:
        raise err(
            file, f"{key} {what}", f"{what} '{value}' does not exist in the target's {db}",
            f"create the {what} on the target first, or use a numeric id",
        )
    return value, names[value]
