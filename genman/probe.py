"""The only place that asks the live system: what is in /etc, which init runs, who we are.

`probe` reads everything a plan needs into a frozen `SystemState`; `plan.py` then decides
without touching the disk.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import PurePosixPath

from genman.bootid import boot_id as boot_id  # re-exported: where probes are looked for
from genman.errors import GenmanError
from genman.layout import Layout
from genman.ledger import Ledger
from genman.services import InitSystem
from genman.services.probe import probe_services
from genman.services.state import ServiceQuery, ServiceState
from genman.state import ABSENT, Node, NodeKind, SystemState, ancestors
from genman.status import markers


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def node_at(path: str) -> Node:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ABSENT
    except NotADirectoryError:
        return ABSENT
    if stat.S_ISLNK(st.st_mode):
        return Node(NodeKind.LINK, target=os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return Node(NodeKind.DIR)
    if stat.S_ISREG(st.st_mode):
        return Node(NodeKind.FILE, digest=_sha256(path), mode=stat.S_IMODE(st.st_mode),
                    uid=st.st_uid, gid=st.st_gid)
    return Node(NodeKind.OTHER)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def read_ledger(layout: Layout) -> Ledger | None:
    host = layout.host(layout.ledger)
    text = _read(str(host))
    return None if text is None else Ledger.parse(text, str(host))


def can_chown() -> bool:
    return os.geteuid() == 0


def detect_init_system(layout: Layout) -> InitSystem:
    """The running init from PID 1; under --root, what the target tree has installed."""
    if layout.is_live:
        import psutil

        try:
            name = psutil.Process(1).name()
        except (psutil.Error, OSError):
            name = ""
        if "systemd" in name:
            return InitSystem.SYSTEMD
        if name == "openrc-init" or os.path.exists("/run/openrc/softlevel"):
            return InitSystem.OPENRC
        if os.path.isdir("/run/systemd/system"):
            return InitSystem.SYSTEMD
        return InitSystem.SYSVINIT
    if layout.host("/sbin/openrc-run").exists():
        return InitSystem.OPENRC
    if any(layout.host(p).exists() for p in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")):
        return InitSystem.SYSTEMD
    return InitSystem.SYSVINIT


def probe(
    layout: Layout,
    paths: Iterable[str],
    copy_sources: Iterable[str] = (),
    init_system: InitSystem | None = None,
    services: ServiceQuery | None = None,
) -> SystemState:
    """Read /etc at `paths` (relative to /etc, plus every ancestor and every ledger entry)."""
    ledger = read_ledger(layout)
    etc = layout.host(layout.etc)
    wanted: set[str] = set(paths)
    if ledger is not None:
        wanted |= {p for _, p in ledger.entries}
    for p in list(wanted):
        wanted.update(ancestors(p))
    nodes: dict[str, Node] = {}
    for p in sorted(wanted):
        parent = PurePosixPath(p).parent
        # Below a link or a file there is nothing to look at (and nothing to follow).
        if str(parent) != "." and nodes.get(str(parent), ABSENT).kind is not NodeKind.DIR:
            nodes[p] = ABSENT
            continue
        nodes[p] = node_at(str(etc / p))
    children = {}
    for d in sorted(ledger.dirs if ledger else ()):
        if nodes.get(d, ABSENT).kind is NodeKind.DIR:
            children[d] = frozenset(os.listdir(etc / d))
    digests = {}
    for name in set(copy_sources):
        src = layout.host(layout.copy_source(name))
        try:
            digests[name] = _sha256(str(src))
        except FileNotFoundError:
            continue  # not built yet (a dry run): it counts as changed
        except OSError as e:
            raise GenmanError(f"cannot read the store path {src}: {e.strerror}",
                              hint="the store is damaged; rebuild the generation") from None
    static = node_at(str(layout.host(layout.etc_static)))
    init = init_system or detect_init_system(layout)
    return SystemState(
        live=layout.is_live,
        init_system=init,
        can_chown=can_chown(),
        boot_id=boot_id(),
        now=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        markers=markers(layout),
        ledger=ledger,
        static_target=static.target if static.kind is NodeKind.LINK else None,
        path_profile=_read(str(layout.host(layout.path_profile))),
        nodes=nodes,
        children=children,
        store_digests=digests,
        services=probe_services(layout, init, services) if services else ServiceState(),
    )
