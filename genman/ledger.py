"""The ledger: what genman manages under /etc, so that nothing else is ever removed.

`/etc/genman/ledger.json` lists every /etc path genman put there (a link or a real file)
and every directory it created for them. It is JSON for Python and, by construction, one
entry per line so the generation's boot-time `activate` script (POSIX sh, no JSON parser)
reads and writes the very same bytes:

    {"genman_ledger": 1, "toplevel": "/var/lib/genman/store/<hash>-genman-host",
    "entries": [
    ["dir", "app"],
    ["link", "motd"],
    null]}

Entry lines are sorted as bytes (what `LC_ALL=C sort` does); the closing `null` saves sh
from having to drop the last comma. Paths are relative to /etc and may not hold quotes or
control characters (`check_path`); the one backslash allowed, in a systemd unit name's
`\\xNN` escape under systemd/system/, is the one JSON escape (a doubled backslash) ever
written, which the sh script makes and undoes with sed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from genman.errors import GenmanError
from genman.layout import etc_path_problem

HEADER = '{"genman_ledger": 1, "toplevel": '


class Kind(StrEnum):
    LINK = "link"  # a symlink genman made (to /etc/static/<p> or a store path)
    COPY = "copy"  # a real file genman copied out of the store
    DIR = "dir"  # a directory genman created for the above


@dataclass(frozen=True)
class Ledger:
    toplevel: str | None = None  # target path of the store toplevel whose /etc is live
    entries: frozenset[tuple[Kind, str]] = field(default_factory=frozenset)

    @property
    def files(self) -> frozenset[str]:
        """Managed links and copies."""
        return frozenset(p for k, p in self.entries if k is not Kind.DIR)

    @property
    def dirs(self) -> frozenset[str]:
        return frozenset(p for k, p in self.entries if k is Kind.DIR)

    def union(self, other: Ledger, toplevel: str | None) -> Ledger:
        return Ledger(toplevel, self.entries | other.entries)

    def render(self) -> str:
        lines = sorted(
            (f"[{json.dumps(k.value)}, {json.dumps(p, ensure_ascii=False)}],"
             for k, p in self.entries),
            key=lambda s: s.encode(),
        )
        top = json.dumps(self.toplevel, ensure_ascii=False) if self.toplevel else '""'
        return HEADER + top + ', "entries": [\n' + "".join(f"{ln}\n" for ln in lines) + "null]}\n"

    @classmethod
    def parse(cls, text: str, where: str = "ledger") -> Ledger:
        try:
            d = json.loads(text)
            entries = frozenset(_entry(e) for e in d["entries"] if e is not None)
            top = d.get("toplevel") or None
            if top is not None and not isinstance(top, str):
                raise TypeError(f"toplevel is {type(top).__name__}, not a string")
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            raise GenmanError(
                f"{where} is damaged: {e}",
                hint="genman cannot tell which /etc files it manages; restore the file from "
                "a backup, or remove it and move the conflicting files aside with --backup",
            ) from None
        return cls(top, entries)


def make(toplevel: str | None, files: Iterable[tuple[Kind, str]], dirs: Iterable[str]) -> Ledger:
    return Ledger(toplevel, frozenset(files) | frozenset((Kind.DIR, d) for d in dirs))


def _entry(e: object) -> tuple[Kind, str]:
    """One entry, checked as an /etc path before anything is removed by it: a ledger that
    says `../../x` must not make a switch delete a file outside /etc."""
    if not isinstance(e, list) or len(e) != 2:
        raise TypeError(f"entry {e!r} is not a [kind, path] pair")
    problem = etc_path_problem(e[1], reserved=False)
    if problem is not None:
        raise ValueError(f"entry {e!r}: {problem}")
    return Kind(e[0]), e[1]


def check_path(path: str) -> None:
    """Paths go into the ledger and into sh scripts verbatim: refuse what would need quoting."""
    problem = etc_path_problem(path, reserved=False)
    if problem is not None:
        raise GenmanError(
            f"genman cannot manage /etc/{path!r}: {problem}",
            hint="rename the file; quotes, backslashes (but for a systemd unit name's \\xNN "
            "under systemd/system/) and control characters are not supported in managed /etc "
            "paths",
        )
