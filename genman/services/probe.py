"""Reading what the service decisions need: which units run (through the init system's
backend: one `systemctl list-units`, or `service`/`rc-service NAME status` each) and the
text of every managed unit file. Called by genman.probe."""

from __future__ import annotations

import os
from collections.abc import Iterable

from genman.layout import Layout
from genman.services import InitSystem
from genman.services.backends import backend
from genman.services.state import SETTLE_DEFAULT, ServiceQuery, ServiceState

# Seconds a switch waits after its starts before it checks the units still run (0-60).
SETTLE_ENV = "GENMAN_SERVICE_SETTLE"


def _settle() -> float:
    raw = os.environ.get(SETTLE_ENV)
    try:
        return max(0.0, min(float(raw), 60.0)) if raw else SETTLE_DEFAULT
    except ValueError:
        return SETTLE_DEFAULT


def _texts(layout: Layout, names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = layout.host(layout.store_path(name)).read_text(errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue  # not built yet (a dry run): compared as changed
    return out


def probe_services(layout: Layout, init: InitSystem, query: ServiceQuery) -> ServiceState:
    texts = _texts(layout, query.files)
    if not layout.is_live:
        return ServiceState(False, {}, texts, _settle())
    units = backend(init).probe(sorted(query.units))
    return ServiceState(True, units, texts, _settle())
