"""Reading what the service decisions need: which units run (through the init system's
backend: one `systemctl list-units`, or `service`/`rc-service NAME status` each) and the
text of every managed unit file. Called by genman.probe."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from genman.layout import Layout
from genman.services import InitSystem
from genman.services.backends import backend
from genman.services.state import SETTLE_MAX, UNIT_DIR, ServiceQuery, ServiceState

# Seconds a switch waits after its starts before it checks the units still run (0-60),
# for every service, whatever the profile's `settle` says (tests set it to 0).
SETTLE_ENV = "GENMAN_SERVICE_SETTLE"


def _settle() -> float | None:
    raw = os.environ.get(SETTLE_ENV)
    try:
        return max(0.0, min(float(raw), SETTLE_MAX)) if raw else None
    except ValueError:
        return None


def _texts(layout: Layout, names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = layout.host(layout.store_path(name)).read_text(errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue  # not built yet (a dry run): compared as changed
    return out


def _scripts(layout: Layout, init: InitSystem, query: ServiceQuery) -> dict[str, str]:
    """OpenRC: the init script of each declared service (read under --root too)."""
    out = {}
    for unit, path in query.scripts if init is InitSystem.OPENRC else ():
        try:
            out[unit] = layout.resolve(path).read_text(errors="replace")
        except OSError:
            continue  # no script: rc-service will say so
    return out


def _unmanaged(layout: Layout, paths: Iterable[str]) -> dict[str, str]:
    """The text of each unit file genman is about to take over, as it is now."""
    out = {}
    for rel in paths:
        try:
            out[rel] = layout.resolve(f"/etc/{UNIT_DIR}/{rel}").read_text(errors="replace")
        except OSError:
            continue  # not there (or unreadable): the unit is new, compared as changed
    return out


def with_unbuilt_texts(state: ServiceState, query: ServiceQuery,
                       sources: Mapping[str, Path]) -> ServiceState:
    """A dry run's state: the unit files its generation would copy into the store are read
    from the files they would be copied from, so the plan compares them as the switch will
    (a rendered template, not written anywhere, stays unread: compared as changed)."""
    missing = {n: sources[n] for n in query.files if n not in state.texts and n in sources}
    extra = {}
    for name, src in missing.items():
        try:
            extra[name] = src.read_text(errors="replace")
        except OSError:
            continue
    return replace(state, texts={**state.texts, **extra}) if extra else state


def probe_services(layout: Layout, init: InitSystem, query: ServiceQuery) -> ServiceState:
    texts = _texts(layout, query.files)
    scripts = _scripts(layout, init, query)
    unmanaged = _unmanaged(layout, query.adopted) if init is InitSystem.SYSTEMD else {}
    if not layout.is_live:
        return ServiceState(False, {}, texts, _settle(), scripts, unmanaged)
    units = backend(init).probe(sorted(query.units))
    return ServiceState(True, units, texts, _settle(), scripts, unmanaged)
