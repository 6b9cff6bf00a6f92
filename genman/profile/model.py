"""The validated profile: frozen values the build and the plan read."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genman import templating


class OnChange(StrEnum):
    RESTART = "restart"
    RELOAD = "reload"
    NONE = "none"


class EtcKind(StrEnum):
    SOURCE = "source"
    TEMPLATE = "template"
    TEXT = "text"


@dataclass(frozen=True, slots=True)  # one per /etc file: 10,000s of them
class EtcFile:
    path: str  # relative to /etc
    kind: EtcKind
    declared_in: Path
    key: str  # the profile key, e.g. etc."nginx/sites"
    source: str | None = None  # SOURCE: the file to copy (a str: 10,000s of them)
    content: bytes | None = None  # TEMPLATE/TEXT: rendered bytes
    mode: int | None = None  # set => a real file in /etc, not a link
    user: str | None = None
    group: str | None = None
    uid: int | None = None
    gid: int | None = None
    # The permission bits of the file the content came from (a SOURCE, or a TEMPLATE's
    # template): the store copy is never more open than this.
    source_mode: int | None = None

    @property
    def is_copy(self) -> bool:
        return self.mode is not None or self.user is not None or self.group is not None


@dataclass(frozen=True)
class SecretSpec:
    """One [secrets."path"] entry. `content` lives in memory only (see genman.secretstore)."""

    path: str  # relative to /etc
    key: str
    declared_in: Path
    content: bytes = field(repr=False)
    source: Path | None  # the `file` (resolved), for the checks that keep it out of the store
    mode: int
    user: str
    group: str
    uid: int
    gid: int


@dataclass(frozen=True)
class PackageSpec:
    name: str
    path: Path
    bin_dirs: tuple[str, ...]  # empty for a single executable
    declared_in: Path


@dataclass(frozen=True)
class KernelSpec:
    image: Path  # host path
    initrd: Path | None
    version: str
    params: tuple[str, ...]
    modules: Path | None  # host path of /lib/modules/<version>, when kept


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    unit: str
    unit_file: Path | None
    restart_triggers: tuple[str, ...]
    on_change: OnChange
    stop_if_changed: bool = True  # False: restart in place instead of stop, switch, start
    settle: float | None = None  # seconds it must still run after a start (None: default)


@dataclass(frozen=True)
class Profile:
    path: Path
    files: tuple[Path, ...]
    hostname: str
    description: str
    init: str | None
    vars: dict[str, Any]
    kernel: KernelSpec | None
    packages: tuple[PackageSpec, ...]
    etc: tuple[EtcFile, ...]
    services: tuple[ServiceSpec, ...]
    # Templates compiled while validating; the build saves them for the next one.
    compiled: templating.CompiledTemplates | None = field(default=None, compare=False)
    # Sections parsed through merge.SECTIONS' `parse` (name -> parsed value).
    sections: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[SecretSpec, ...] = ()


@dataclass(frozen=True)
class TargetFacts:
    """A machine other than the one that builds (`genman deploy`): its facts for `host`,
    its users and groups for `user`/`group`, and the inventory's vars, which win over the
    profile's own [vars]."""

    host: dict[str, str]
    users: dict[str, int]
    groups: dict[str, int]
    vars: dict[str, Any] = field(default_factory=dict)
