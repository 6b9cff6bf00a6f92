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


def import_host(layout: Layout, directory: Path) -> Imported:
    shipped = dpkg.read(layout)
    ledger = read_ledger(layout)
    found = scan(layout, shipped, set(ledger.files) if ledger else set())
    services = enabled(layout, detect_init_system(layout))
    name = hostname(layout)
    host = Host(
        hostname=name, description=f"imported from {name}",
        kernel=_kernel(layout), services=services,
        users={v: k for k, v in reversed(read_ids(layout, "/etc/passwd").items())},
        groups={v: k for k, v in reversed(read_ids(layout, "/etc/group").items())},
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write(directory, layout.host(layout.etc), found, host, stamp)
    return Imported(directory, found, services, shipped.found)
