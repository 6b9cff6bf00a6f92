"""What a probe found, as plain frozen data: the input of the pure planner.

`genman.probe` fills these in by reading the system; `genman.plan` decides from them
without touching the disk, and its tests build them by hand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from genman.ledger import Ledger
from genman.markers import Markers as Markers  # re-exported: SystemState's word
from genman.services import InitSystem
from genman.services.state import ServiceState


class NodeKind(StrEnum):
    ABSENT = "absent"
    DIR = "dir"
    LINK = "link"
    FILE = "file"
    OTHER = "other"  # a device, socket or fifo


@dataclass(frozen=True)
class Node:
    kind: NodeKind
    target: str | None = None  # LINK: what it points to
    digest: str | None = None  # FILE: sha256 of the content
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


ABSENT = Node(NodeKind.ABSENT)


@dataclass(frozen=True)
class SystemState:
    live: bool  # the running system (not a tree under --root)
    init_system: InitSystem
    can_chown: bool
    boot_id: str | None
    now: str  # UTC timestamp, for names of backups
    markers: Markers
    ledger: Ledger | None  # None: no ledger yet
    static_target: str | None  # what /etc/static points to
    path_profile: str | None  # the content of /etc/profile.d/genman.sh
    nodes: Mapping[str, Node] = field(default_factory=dict)  # /etc-relative path -> node
    children: Mapping[str, frozenset[str]] = field(default_factory=dict)  # dir -> names
    store_digests: Mapping[str, str] = field(default_factory=dict)  # store name -> sha256
    services: ServiceState = field(default_factory=ServiceState)  # running units, unit files

    def node(self, path: str) -> Node:
        return self.nodes.get(path, ABSENT)


def ancestors(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b']"""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
