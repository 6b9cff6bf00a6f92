"""The services a host enables at boot, read from its /etc as each init system keeps them:
systemd's *.wants / *.requires links, sysvinit's rc2.d S links, OpenRC's default runlevel."""

from __future__ import annotations

import os
import re

from genman.layout import Layout
from genman.profile.common import NAME
from genman.services import InitSystem

_UNIT = re.compile(r"\.(service|socket|timer|path)$")
_SYSV = re.compile(r"^S[0-9]{2}(.+)$")


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _systemd(etc: str) -> list[str]:
    base = f"{etc}/systemd/system"
    units: set[str] = set()
    for d in _names(base):
        if d.endswith((".wants", ".requires")) and os.path.isdir(f"{base}/{d}"):
            units.update(u for u in _names(f"{base}/{d}") if _UNIT.search(u))
    return sorted(units)


def enabled(layout: Layout, init: InitSystem) -> list[str]:
    """Units (systemd) or service names (sysvinit, OpenRC) enabled at boot."""
    etc = os.fspath(layout.host(layout.etc))
    match init:
        case InitSystem.SYSTEMD:
            found = _systemd(etc)
        case InitSystem.SYSVINIT:
            found = sorted({m.group(1) for n in _names(f"{etc}/rc2.d")
                            if (m := _SYSV.match(n))})
        case InitSystem.OPENRC:
            found = _names(f"{etc}/runlevels/default")
    return [u for u in found if NAME.match(u)]


def table_name(unit: str) -> str:
    """[services.<name>]: the unit without its .service suffix."""
    return unit.removesuffix(".service")
