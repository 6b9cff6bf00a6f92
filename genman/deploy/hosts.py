"""The hosts of an inventory, whichever format it came in: frozen Host records."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genman.errors import GenmanError


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    profile: Path  # on the deploying machine
    port: int | None = None
    ssh_user: str | None = None
    ssh_options: tuple[str, ...] = ()
    root: str = "/"  # the target's system tree, as the target sees it
    genman: str | None = None  # the target's own genman command; None: ship this one
    python: str = "python3"  # the target's interpreter for the shipped genman
    groups: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[Host, ...]

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for h in self.hosts:
            for g in h.groups:
                out.setdefault(g, []).append(h.name)
        return out

    def select(self, pattern: str | None) -> tuple[Host, ...]:
        """Hosts matching an Ansible-like pattern, in inventory order: names, group names
        and globs separated by ',' or ':'; '!x' removes, '&x' intersects."""
        if not pattern:
            return self.hosts
        groups = self.groups()

        def match(term: str) -> set[str]:
            names = {h.name for h in self.hosts if fnmatch.fnmatchcase(h.name, term)}
            for g, members in groups.items():
                if fnmatch.fnmatchcase(g, term):
                    names.update(members)
            if term == "all":
                names = {h.name for h in self.hosts}
            return names

        chosen: set[str] = set()
        terms = [t.strip() for t in pattern.replace(":", ",").split(",") if t.strip()]
        for term in terms:
            if term.startswith(("!", "&")):
                continue
            chosen |= match(term)
        for term in terms:
            if term.startswith("&"):
                chosen &= match(term[1:])
            elif term.startswith("!"):
                chosen -= match(term[1:])
        if not chosen:
            raise GenmanError(f"no host matches {pattern!r}",
                              hint="known hosts: " + ", ".join(h.name for h in self.hosts))
        return tuple(h for h in self.hosts if h.name in chosen)


def inventory_error(file: Path, key: str, problem: str, hint: str) -> GenmanError:
    return GenmanError(f"{file}: {key}: {problem}" if key else f"{file}: {problem}", hint=hint)


def make_host(inventory: Path, name: str, s: dict[str, Any], groups: Iterable[str],
              vars: dict[str, Any]) -> Host:
    """A Host from checked settings; relative profile paths are relative to the inventory."""
    base = inventory.parent if inventory.is_file() else inventory
    profile = Path(str(s.get("profile", "profile.toml"))).expanduser()
    root = str(s.get("root", "/"))
    if not root.startswith("/"):
        raise inventory_error(inventory, f"{name}.root", "must be an absolute path",
                              'e.g. root = "/mnt"')
    return Host(
        name=name,
        address=str(s.get("address", name)),
        profile=profile if profile.is_absolute() else base / profile,
        port=s.get("port"),
        ssh_user=s.get("ssh_user"),
        ssh_options=tuple(s.get("ssh_options", ())),
        root=root,
        genman=str(s["genman"]) if s.get("genman") else None,
        python=str(s.get("python", "python3")),
        groups=tuple(groups),
        vars=vars,
    )
