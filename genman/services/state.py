"""What the services part of a plan needs from the live system: which units run, and the
text of every unit file genman manages (old and new generation).

Read by genman.probe (the one place that asks the system) through
genman.services.probe; the plan then decides without I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from genman.manifest import Manifest
from genman.services import UnitStatus
from genman.services.names import full_name

UNIT_DIR = "systemd/system"
# How long a switch waits after starting units before it checks they still run.
SETTLE_DEFAULT = 2.0


@dataclass(frozen=True)
class ServiceQuery:
    units: frozenset[str] = frozenset()  # full unit names declared under [services]
    files: frozenset[str] = frozenset()  # store names of managed unit files


@dataclass(frozen=True)
class ServiceState:
    """probed False (under --root): nothing is known about running units; the plan then
    treats every unit as running, as the actions are only printed."""

    probed: bool = False
    units: Mapping[str, UnitStatus] = field(default_factory=dict)  # not listed: inactive
    texts: Mapping[str, str] = field(default_factory=dict)  # store name -> unit file text
    settle: float = SETTLE_DEFAULT

    def running(self, unit: str) -> bool:
        if not self.probed:
            return True
        status = self.units.get(unit)
        return status is not None and status.running

    def status(self, unit: str) -> str:
        s = self.units.get(unit)
        return s.describe() if s else "inactive (not loaded)"

    def instances(self, template: str) -> list[str]:
        """Loaded instances of `foo@.service`."""
        prefix, _, suffix = template.partition("@")
        return sorted(u for u in self.units if u.startswith(prefix + "@")
                      and u.endswith(suffix) and u != template)


def unit_files(m: Manifest | None) -> dict[str, str]:
    """Managed files under /etc/systemd/system (relative to it) -> store name."""
    if m is None:
        return {}
    out = {p.removeprefix(UNIT_DIR + "/"): e.store for p, e in m.etc.items()
           if p.startswith(UNIT_DIR + "/")}
    for s in m.services.values():
        if s.unit_file:
            out[full_name(s.unit)] = s.unit_file
    return out


def service_query(*manifests: Manifest | None) -> ServiceQuery:
    units = {full_name(s.unit) for m in manifests if m for s in m.services.values()}
    files = {name for m in manifests for name in unit_files(m).values()}
    return ServiceQuery(frozenset(units), frozenset(files))
