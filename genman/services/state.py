"""What the services part of a plan needs from the live system: which units run, and the
text of every unit file genman manages (old and new generation).

Read by genman.probe (the one place that asks the system) through
genman.services.probe; the plan then decides without I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from genman.layout import Layout
from genman.manifest import Manifest
from genman.services import UnitStatus
from genman.services.names import full_name

UNIT_DIR = "systemd/system"
# How long a switch waits after starting units before it checks they still run: a
# service's `settle` (at most SETTLE_MAX), else SETTLE_DEFAULT.
SETTLE_DEFAULT = 2.0
SETTLE_MAX = 60.0


@dataclass(frozen=True)
class ServiceQuery:
    units: frozenset[str] = frozenset()  # full unit names declared under [services]
    files: frozenset[str] = frozenset()  # store names of managed unit files
    # (full unit name, target path of its init script in the generation switched to):
    # OpenRC runs `reload` only for a script that declares it.
    scripts: frozenset[tuple[str, str]] = frozenset()
    # Unit files (relative to /etc/systemd/system) the generation switched to manages and
    # the one switched from does not: systemd runs what the file on the system says now.
    adopted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServiceState:
    """probed False (under --root): nothing is known about running units; the plan then
    treats every unit as running, as the actions are only printed."""

    probed: bool = False
    units: Mapping[str, UnitStatus] = field(default_factory=dict)  # not listed: inactive
    texts: Mapping[str, str] = field(default_factory=dict)  # store name -> unit file text
    settle: float | None = None  # GENMAN_SERVICE_SETTLE: overrides every service's settle
    scripts: Mapping[str, str] = field(default_factory=dict)  # OpenRC: unit -> script text
    # ServiceQuery.adopted that exist on the system: path -> the text systemd loaded
    unmanaged: Mapping[str, str] = field(default_factory=dict)

    def running(self, unit: str) -> bool:
        if not self.probed:
            return True
        status = self.units.get(unit)
        return status is not None and status.running

    def status(self, unit: str) -> str:
        s = self.units.get(unit)
        return s.describe() if s else "inactive (not loaded)"

    def reloads(self, unit: str) -> bool | None:
        """OpenRC: does the unit's openrc-run script declare `reload`? None: not known (no
        script read, or not an openrc-run script: an LSB script answers for itself)."""
        text = self.scripts.get(unit)
        return None if text is None else openrc_reloads(text)

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


_OPENRC_RUN = re.compile(r"\A#!\s*\S*(?:openrc-run|runscript)\b")
_COMMANDS = re.compile(r"^\s*(?:extra_commands|extra_started_commands|extra_stopped_commands"
                       r"|opts)\s*=(.*)$", re.M)


def openrc_reloads(text: str) -> bool | None:
    """Whether an OpenRC script takes `reload` (openrc-run knows only start, stop,
    restart, status, describe and the commands a script lists in extra_*commands); None
    for a script that is not run by openrc-run."""
    if not _OPENRC_RUN.match(text):
        return None
    return any("reload" in re.split(r"[^A-Za-z0-9_-]+", m.group(1))
               for m in _COMMANDS.finditer(text))


def init_scripts(m: Manifest | None) -> frozenset[tuple[str, str]]:
    """(full unit name, target path of its /etc/init.d script) per declared service of
    `m`: the store file when `m` manages init.d/NAME, else the file on the system."""
    if m is None:
        return frozenset()
    out = set()
    for s in m.services.values():
        name = s.unit.rsplit("/", 1)[-1].removesuffix(".service")
        entry = m.etc.get(f"init.d/{name}")
        path = (f"{Layout.store_dir}/{entry.store}" if entry is not None
                else f"/etc/init.d/{name}")
        out.add((full_name(s.unit), path))
    return frozenset(out)


def service_query(*manifests: Manifest | None) -> ServiceQuery:
    """What to probe for a switch from the first manifest to the last."""
    units = {full_name(s.unit) for m in manifests if m for s in m.services.values()}
    files = {name for m in manifests for name in unit_files(m).values()}
    scripts = init_scripts(manifests[-1]) if manifests else frozenset()
    adopted = (unit_files(manifests[-1]).keys() - unit_files(manifests[0]).keys()
               if len(manifests) > 1 else set())
    return ServiceQuery(frozenset(units), frozenset(files), scripts, frozenset(adopted))
