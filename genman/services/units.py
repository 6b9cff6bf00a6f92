"""systemd unit files as sections and keys, and what a change between two of them needs.

Parsing follows systemd.syntax(7): `[Section]` headers, `Key=Value` lines, `#` and `;`
comments, a trailing backslash continues a line. A unit's definition is its file followed by
its drop-ins (`*.d/*.conf`, in file-name order), each key kept in order, so `ExecStart=`
resets and repeated keys compare as systemd would read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

Section = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UnitDef:
    sections: tuple[tuple[str, Section], ...] = ()

    def section(self, name: str) -> Section:
        return tuple(kv for s, body in self.sections if s == name for kv in body)

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.section(section) if k == key]

    def last(self, section: str, key: str) -> str | None:
        vals = self.values(section, key)
        return vals[-1] if vals else None

    def flag(self, section: str, key: str) -> bool:
        v = self.last(section, key)
        return v is not None and v.strip().lower() in ("1", "yes", "true", "on")

    def names(self, section: str, key: str) -> set[str]:
        """Space-separated unit lists such as Requires= (an empty assignment resets)."""
        out: set[str] = set()
        for v in self.values(section, key):
            out = set() if not v.strip() else out | set(v.split())
        return out


def _lines(text: str) -> list[str]:
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if pending and line[:1] in ("#", ";"):
            continue  # a comment inside a continued line is dropped, as systemd does
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending.rstrip())
    return out


def parse(*texts: str) -> UnitDef:
    """The definition made of a unit file and its drop-ins, in the order given."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for text in texts:
        current: list[tuple[str, str]] | None = None
        for line in _lines(text):
            if line.startswith("[") and line.endswith("]"):
                current = []
                sections.append((line[1:-1].strip(), current))
            elif "=" in line and current is not None:
                k, v = line.split("=", 1)
                current.append((k.strip(), v.strip()))
    merged: dict[str, list[tuple[str, str]]] = {}
    for name, body in sections:
        merged.setdefault(name, []).extend(body)
    return UnitDef(tuple((n, tuple(b)) for n, b in merged.items()))


class Need(IntEnum):
    """What a unit needs after its definition changed, least first."""

    NOTHING = 0  # identical
    IGNORED = 1  # changed only where systemd's running unit does not look
    RELOAD = 2
    RESTART = 3


# Keys that do not change what runs: [Unit] texts and ordering-free bookkeeping, as NixOS's
# switch-to-configuration ignores them; [Install] is only read by enable/disable.
IGNORED_UNIT_KEYS = frozenset({
    "Description", "Documentation", "OnFailure", "OnSuccess", "OnFailureJobMode",
    "IgnoreOnIsolate", "StopWhenUnneeded", "RefuseManualStart", "RefuseManualStop",
    "AllowIsolate", "CollectMode", "SourcePath",
})
RELOAD_KEYS = frozenset({"X-Reload-Triggers"})


@dataclass(frozen=True)
class Verdict:
    need: Need
    reason: str


def _keys_changed(old: Section, new: Section) -> list[str]:
    keys = {k for k, _ in old} | {k for k, _ in new}
    return sorted(k for k in keys if [v for kk, v in old if kk == k]
                  != [v for kk, v in new if kk == k])


def compare(unit: str, old: UnitDef, new: UnitDef) -> Verdict:
    """What `unit` needs going from definition `old` to `new`."""
    if old == new:
        return Verdict(Need.NOTHING, "unit file unchanged")
    names = {s for s, _ in old.sections} | {s for s, _ in new.sections}
    ignored: list[str] = []
    reload: list[str] = []
    restart: list[str] = []
    for sec in sorted(names):
        for key in _keys_changed(old.section(sec), new.section(sec)):
            where = f"[{sec}] {key}="
            if sec == "Install" or (sec == "Unit" and key in IGNORED_UNIT_KEYS):
                ignored.append(where)
            elif key in RELOAD_KEYS:
                reload.append(where)
            elif sec == "Mount" and key == "Options" and unit.endswith(".mount"):
                reload.append(where)  # remounted in place with the new options
            else:
                restart.append(where)
    if restart:
        return Verdict(Need.RESTART, "unit changed: " + ", ".join(restart))
    if reload:
        return Verdict(Need.RELOAD, "unit changed: " + ", ".join(reload))
    if ignored:
        return Verdict(Need.IGNORED, "only " + ", ".join(ignored)
                       + " changed, which the running unit does not use")
    return Verdict(Need.IGNORED, "only comments or layout changed, which systemd ignores")
