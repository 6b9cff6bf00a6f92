"""The init-system backend for an InitSystem (kept apart from the package's pure
decisions, so planning never loads the modules that run commands)."""

from __future__ import annotations

from genman.services import Backend, InitSystem, openrc, systemd, sysvinit


def backend(init: InitSystem) -> Backend:
    match init:
        case InitSystem.SYSTEMD:
            return systemd.Systemd()
        case InitSystem.SYSVINIT:
            return sysvinit.SysVinit()
        case InitSystem.OPENRC:
            return openrc.OpenRC()
