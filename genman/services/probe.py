"""Reading what the service decisions need: which units run (through the init system's
backend: one `systemctl list-units`, or `service`/`rc-service NAME status` each) and the
text of every managed unit file. Called by genman.probe."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
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


def _read_each(paths: Iterable[tuple[str, Callable[[], Path]]],
               missing: type[OSError] | tuple[type[OSError], ...] = OSError) -> dict[str, str]:
    """key -> text of the file at path(), for each that can be read; `missing` are the
    errors that mean "no such file here" (anything else is raised)."""
    out = {}
    for key, path in paths:
        try:
            out[key] = path().read_text(errors="replace")
        except missing:
            continue
    return out


def _store_file(layout: Layout, name: str) -> Path:
    return layout.host(layout.store_path(name))


def _texts(layout: Layout, names: Iterable[str]) -> dict[str, str]:
    # Not built yet (a dry run): left out, so compared as changed.
    return _read_each(((n, partial(_store_file, layout, n)) for n in names),
                      (FileNotFoundError, NotADirectoryError, IsADirectoryError))


def _scripts(layout: Layout, init: InitSystem, query: ServiceQuery) -> dict[str, str]:
    """OpenRC: the init script of each declared service (read under --root too)."""
    # No script: rc-service will say so.
    scripts = query.scripts if init is InitSystem.OPENRC else frozenset()
    return _read_each((u, partial(layout.resolve, p)) for u, p in scripts)


def _unmanaged(layout: Layout, paths: Iterable[str]) -> dict[str, str]:
    """The text of each unit file genman is about to take over, as it is now (not there:
    the unit is new, compared as changed)."""
    return _read_each((r, partial(layout.resolve, f"/etc/{UNIT_DIR}/{r}")) for r in paths)


def with_unbuilt_texts(state: ServiceState, query: ServiceQuery, sources: Mapping[str, Path],
                       rendered: Mapping[str, bytes]) -> ServiceState:
    """A dry run's state: the unit files its generation would add to the store are read
    from the files they would be copied from, or taken as rendered (templates, `text`),
    so the plan compares them as the switch will."""
    missing = [n for n in query.files if n not in state.texts]
    extra = _read_each((n, partial(Path, sources[n])) for n in missing if n in sources)
    extra.update((n, rendered[n].decode(errors="replace")) for n in missing
                 if n in rendered and n not in extra)
    return replace(state, texts={**state.texts, **extra}) if extra else state


def probe_services(layout: Layout, init: InitSystem, query: ServiceQuery) -> ServiceState:
    texts = _texts(layout, query.files)
    scripts = _scripts(layout, init, query)
    unmanaged = _unmanaged(layout, query.adopted) if init is InitSystem.SYSTEMD else {}
    if not layout.is_live:
        return ServiceState(False, {}, texts, _settle(), scripts, unmanaged)
    units = backend(init).probe(sorted(query.units))
    return ServiceState(True, units, texts, _settle(), scripts, unmanaged)
