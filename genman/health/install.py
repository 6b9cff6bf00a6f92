"""Installing the boot-time marker into the target: the POSIX sh script, and what starts
it once the init system reached its normal state — a systemd unit after
multi-user.target, an LSB init script after $all (sysvinit), or an OpenRC service in the
default runlevel. Every path is a target path under --root; links say target paths."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import PurePosixPath

from genman import fsutil, process
from genman.layout import Layout
from genman.services import InitSystem

SCRIPT = PurePosixPath("/usr/lib/genman/genman-boot-mark")
UNIT = PurePosixPath("/lib/systemd/system/genman-boot-mark.service")
UNIT_WANTS = PurePosixPath("/etc/systemd/system/multi-user.target.wants/"
                           "genman-boot-mark.service")
INIT_D = PurePosixPath("/etc/init.d/genman-boot-mark")
SYSV_LINKS = tuple(PurePosixPath(f"/etc/rc{n}.d/S99genman-boot-mark") for n in (2, 3, 4, 5))
OPENRC_LINK = PurePosixPath("/etc/runlevels/default/genman-boot-mark")
DEFAULTS = PurePosixPath("/etc/default/genman-boot-mark")


def _data(name: str) -> str:
    return resources.files("genman.health.marker").joinpath(name).read_text()


def plan(init: InitSystem, options: list[str]) -> list[tuple[PurePosixPath, str, int | None]]:
    """(path, content or link target, mode; None for a link) — pure. `options`: the global
    options the marker passes to genman (the ESP or bootloader given at install time)."""
    import shlex

    out: list[tuple[PurePosixPath, str, int | None]] = [
        (SCRIPT, _data("genman-boot-mark"), 0o755),
        (DEFAULTS, "# genman's global options for `genman boot-mark` at boot\n"
                   f"GENMAN_OPTIONS={shlex.quote(shlex.join(options))}\n", 0o644)]
    match init:
        case InitSystem.SYSTEMD:
            out += [(UNIT, _data("genman-boot-mark.service"), 0o644),
                    (UNIT_WANTS, str(UNIT), None)]
        case InitSystem.SYSVINIT:
            out.append((INIT_D, _data("genman-boot-mark.sysvinit"), 0o755))
            out += [(link, "../init.d/genman-boot-mark", None) for link in SYSV_LINKS]
        case InitSystem.OPENRC:
            out += [(INIT_D, _data("genman-boot-mark.openrc"), 0o755),
                    (OPENRC_LINK, str(INIT_D), None)]
    return out


def install(layout: Layout, init: InitSystem, options: list[str]) -> list[str]:
    """Write the marker for `init`; returns what was written, for the user."""
    done = []
    for path, content, mode in plan(init, options):
        host = layout.host(path)
        if mode is None:
            fsutil.atomic_symlink(content, host)
            done.append(f"{path} -> {content}")
        else:
            fsutil.atomic_write(host, content, mode)
            done.append(str(path))
    if init is InitSystem.SYSVINIT and layout.is_live and shutil.which("update-rc.d"):
        # Debian's rc starts scripts in the order insserv computed (/etc/init.d/.depend.*):
        # one it was not told about is never started, whatever links rcN.d holds.
        process.run(["update-rc.d", "genman-boot-mark", "defaults"], check=True)
        done.append("registered with update-rc.d (insserv orders it after $all)")
    return done
