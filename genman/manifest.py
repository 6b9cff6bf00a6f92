"""A generation's manifest: everything list-generations, diff and activation read.

Manifests are JSON inside the generation's (immutable) store path and round-trip through
to_dict/from_dict. Store references are store *names* (`<hash>-<name>`), not paths, so a
manifest says the same thing whatever the root it is read under.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from genman.health.config import HealthConfig

SCHEMA = 1


@dataclass(frozen=True, slots=True)  # one per /etc file: 10,000s of them
class EtcEntry:
    store: str
    mode: int | None = None  # set => a real file in /etc rather than a link
    uid: int | None = None
    gid: int | None = None
    user: str | None = None
    group: str | None = None

    @property
    def is_copy(self) -> bool:
        return self.mode is not None or self.uid is not None or self.gid is not None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"store": self.store}
        if self.mode is not None:
            d["mode"] = f"{self.mode:04o}"
        for k in ("uid", "gid", "user", "group"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EtcEntry:
        mode = d.get("mode")
        return cls(
            store=d["store"],
            mode=int(mode, 8) if mode is not None else None,
            uid=d.get("uid"),
            gid=d.get("gid"),
            user=d.get("user"),
            group=d.get("group"),
        )


@dataclass(frozen=True)
class SecretEntry:
    """A [secrets] file: its keyed name in /var/lib/genman/secrets, never its content."""

    name: str
    mode: int
    uid: int
    gid: int
    user: str | None = None
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mode": f"{self.mode:04o}", "uid": self.uid,
                "gid": self.gid, "user": self.user, "group": self.group}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SecretEntry:
        return cls(d["name"], int(d["mode"], 8), int(d["uid"]), int(d["gid"]),
                   d.get("user"), d.get("group"))


@dataclass(frozen=True)
class KernelEntry:
    version: str
    image: str
    initrd: str | None
    modules: str | None
    params: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "image": self.image,
            "initrd": self.initrd,
            "modules": self.modules,
            "params": list(self.params),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KernelEntry:
        return cls(d["version"], d["image"], d.get("initrd"), d.get("modules"),
                   tuple(d.get("params", ())))


@dataclass(frozen=True)
class ServiceEntry:
    unit: str
    unit_file: str | None
    restart_triggers: tuple[str, ...]
    on_change: str
    # Digest of everything whose change should (re)start the service: unit file and
    # the content, mode and owner of every trigger path.
    digest: str
    # False: a changed service is restarted in place after /etc moved, instead of being
    # stopped (with its old definition) before and started after.
    stop_if_changed: bool = True
    # Seconds the service must still run after a start or restart (None: the default).
    settle: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "unit": self.unit,
            "unit_file": self.unit_file,
            "restart_triggers": list(self.restart_triggers),
            "on_change": self.on_change,
            "digest": self.digest,
        }
        if not self.stop_if_changed:  # written only when set: older manifests stay as they are
            d["stop_if_changed"] = False
        if self.settle is not None:
            d["settle"] = self.settle
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ServiceEntry:
        return cls(d["unit"], d.get("unit_file"), tuple(d.get("restart_triggers", ())),
                   d.get("on_change", "restart"), d["digest"],
                   bool(d.get("stop_if_changed", True)),
                   float(d["settle"]) if d.get("settle") is not None else None)


@dataclass(frozen=True)
class Manifest:
    hostname: str
    description: str
    init: str | None
    kernel: KernelEntry | None
    etc: dict[str, EtcEntry] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)  # name -> store name
    path_links: dict[str, str] = field(default_factory=dict)  # "bin/x" -> target path
    services: dict[str, ServiceEntry] = field(default_factory=dict)
    health: HealthConfig | None = None  # None: the profile has no [health]
    schema: int = SCHEMA
    secrets: dict[str, SecretEntry] = field(default_factory=dict)  # /etc path -> entry

    def to_dict(self) -> dict[str, Any]:
        d = self._to_dict()
        if self.health is not None:  # absent otherwise: older manifests hash the same
            d["health"] = self.health.to_dict()
        if self.secrets:  # likewise
            d["secrets"] = {p: s.to_dict() for p, s in sorted(self.secrets.items())}
        return d

    def _to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "hostname": self.hostname,
            "description": self.description,
            "init": self.init,
            "kernel": self.kernel.to_dict() if self.kernel else None,
            "etc": {p: e.to_dict() for p, e in sorted(self.etc.items())},
            "packages": dict(sorted(self.packages.items())),
            "path_links": dict(sorted(self.path_links.items())),
            "services": {n: s.to_dict() for n, s in sorted(self.services.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        return cls(
            schema=d.get("schema", SCHEMA),
            hostname=d["hostname"],
            description=d.get("description", ""),
            init=d.get("init"),
            kernel=KernelEntry.from_dict(d["kernel"]) if d.get("kernel") else None,
            etc={p: EtcEntry.from_dict(e) for p, e in d.get("etc", {}).items()},
            packages=dict(d.get("packages", {})),
            path_links=dict(d.get("path_links", {})),
            services={n: ServiceEntry.from_dict(s) for n, s in d.get("services", {}).items()},
            health=HealthConfig.from_dict(d["health"]) if d.get("health") else None,
            secrets={p: SecretEntry.from_dict(s) for p, s in d.get("secrets", {}).items()},
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Raises ValueError for anything that is not a manifest (wrong types included)."""
        d = json.loads(text)
        if not isinstance(d, dict):
            raise ValueError(f"a manifest is a JSON object, not {type(d).__name__}")
        try:
            return cls.from_dict(d)
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"a field is missing or of the wrong type ({e})") from None

    def references(self) -> set[str]:
        """Store names this generation needs (besides its own toplevel)."""
        refs = {e.store for e in self.etc.values()}
        refs.update(self.packages.values())
        if self.kernel:
            k = self.kernel
            refs.update(x for x in (k.image, k.initrd, k.modules) if x)
        refs.update(s.unit_file for s in self.services.values() if s.unit_file)
        return refs

    def summary(self) -> dict[str, Any]:
        """The few fields list-generations shows, kept in a small file of their own."""
        return {
            "hostname": self.hostname,
            "description": self.description,
            "kernel_version": self.kernel.version if self.kernel else None,
            "etc_files": len(self.etc),
            "packages": len(self.packages),
            "services": len(self.services),
        }
