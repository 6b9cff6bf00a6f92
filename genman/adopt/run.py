"""`genman import [DIR]`: read the target (under --root), write the profile directory."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from genman import bootline, templating
from genman.adopt import dpkg
from genman.adopt.scan import Entry, Scan, Verdict, scan
from genman.adopt.services import enabled
from genman.adopt.write import Host, toml_str, write
from genman.layout import Layout
from genman.probe import detect_init_system, read_ledger
from genman.profile.owners import read_ids
from genman.services import InitSystem

# Kernel parameters genman sets per entry, or that name the old boot's files.
_DROPPED = ("BOOT_IMAGE=", "initrd=", "init=", "genman.")


@dataclass(frozen=True)
class Imported:
    directory: Path
    scan: Scan
    services: list[str]
    packages_found: bool

    def left_out(self) -> list[Entry]:
        return self.scan.of(Verdict.LEFT_OUT)


def _kernel(layout: Layout) -> list[str]:
    release = platform.release()
    if not layout.resolve(f"/boot/vmlinuz-{release}").is_file():
        return [f"# [kernel] left out: the running kernel {release} has no "
                f'/boot/vmlinuz-{release} in this tree; set image = "latest" or a path']
    lines = ["[kernel]", f'image = "current"  # {release}, the running kernel']
    if layout.is_live:
        try:
            cmdline = Path("/proc/cmdline").read_text().split()
        except OSError:
            cmdline = []
        params = [p for p in cmdline if not p.startswith(_DROPPED)
                  and bootline.param_problem(p) is None]
        lines.append(f"params = [{', '.join(toml_str(p) for p in params)}]  # /proc/cmdline")
    else:
        lines.append("# params: fill in root= and the rest; this tree's /proc/cmdline is "
                     "not its own")
    return lines


def hostname(layout: Layout) -> str:
    try:
        return layout.host("/etc/hostname").read_text().strip() or "localhost"
    except OSError:
        return templating.host_facts()["hostname"]


def split_running(layout: Layout, init: InitSystem, units: list[str]
                  ) -> tuple[list[str], list[str]]:
    """(running now, not running) of the units enabled at boot. A unit that does not run
    (a oneshot that has done its work, a service stopped by hand) stays out of [services]:
    a first switch would start it. Under --root nothing runs: all of them go in."""
    if not layout.is_live or not units:
        return units, []
    from genman.services.names import full_name
    from genman.services.probe import probe_services
    from genman.services.state import ServiceQuery

    state = probe_services(layout, init, ServiceQuery(frozenset(full_name(u) for u in units)))
    running = [u for u in units if state.running(full_name(u))]
    return running, [u for u in units if u not in running]


def import_host(layout: Layout, directory: Path) -> Imported:
    shipped = dpkg.read(layout)
    ledger = read_ledger(layout)
    found = scan(layout, shipped, set(ledger.files) if ledger else set())
    init = detect_init_system(layout)
    services, idle = split_running(layout, init, enabled(layout, init))
    found.entries += [Entry(f"[services] {u}", Verdict.LEFT_OUT, "enabled at boot but not "
                            "running now (a oneshot, or stopped): a first switch would start it")
                      for u in idle]
    name = hostname(layout)
    host = Host(
        hostname=name, description=f"imported from {name}",
        kernel=_kernel(layout), services=services,
        users={v: k for k, v in reversed(read_ids(layout, "/etc/passwd").items())},
        groups={v: k for k, v in reversed(read_ids(layout, "/etc/group").items())},
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write(directory, lambda rel: layout.resolve(f"/etc/{rel}"), found, host, stamp)
    return Imported(directory, found, services, shipped.found)
