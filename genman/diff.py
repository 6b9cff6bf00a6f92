"""What changed between two generations, read from their manifests only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genman.manifest import Manifest


@dataclass(frozen=True)
class Diff:
    etc_added: tuple[str, ...] = ()
    etc_removed: tuple[str, ...] = ()
    etc_changed: tuple[str, ...] = ()
    packages_added: tuple[str, ...] = ()
    packages_removed: tuple[str, ...] = ()
    packages_changed: tuple[str, ...] = ()
    services_added: tuple[str, ...] = ()
    services_removed: tuple[str, ...] = ()
    services_changed: tuple[str, ...] = ()
    kernel: tuple[str | None, str | None] | None = None  # (old version, new version)
    kernel_params: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    other: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in self.__dataclass_fields__)

    def to_dict(self) -> dict[str, Any]:
        return {
            "etc": {"added": list(self.etc_added), "removed": list(self.etc_removed),
                    "changed": list(self.etc_changed)},
            "packages": {"added": list(self.packages_added),
                         "removed": list(self.packages_removed),
                         "changed": list(self.packages_changed)},
            "services": {"added": list(self.services_added),
                         "removed": list(self.services_removed),
                         "changed": list(self.services_changed)},
            "kernel": {"old": self.kernel[0], "new": self.kernel[1]} if self.kernel else None,
            "kernel_params": {"old": list(self.kernel_params[0]),
                              "new": list(self.kernel_params[1])} if self.kernel_params else None,
            "other": list(self.other),
        }


def _split(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    added = tuple(sorted(new.keys() - old.keys()))
    removed = tuple(sorted(old.keys() - new.keys()))
    changed = tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k]))
    return added, removed, changed


def diff(old: Manifest, new: Manifest) -> Diff:
    ea, er, ec = _split({**old.etc, **old.secrets}, {**new.etc, **new.secrets})
    pa, pr, pc = _split(old.packages, new.packages)
    sa, sr, sc = _split(old.services, new.services)
    ok, nk = old.kernel, new.kernel
    kernel = None
    if (ok.image if ok else None) != (nk.image if nk else None) or (
        (ok.initrd if ok else None) != (nk.initrd if nk else None)
    ):
        kernel = (ok.version if ok else None, nk.version if nk else None)
    params = None
    if (ok.params if ok else ()) != (nk.params if nk else ()):
        params = (ok.params if ok else (), nk.params if nk else ())
    other = []
    for f in ("hostname", "description", "init"):
        if getattr(old, f) != getattr(new, f):
            other.append(f"{f}: {getattr(old, f)!r} -> {getattr(new, f)!r}")
    return Diff(ea, er, ec, pa, pr, pc, sa, sr, sc, kernel, params, tuple(other))
