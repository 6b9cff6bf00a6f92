"""What Debian's packages shipped under /etc, read from dpkg's database as `dpkg --verify`
and debsums read it: the md5sums of conffiles (/var/lib/dpkg/status), of other files
(/var/lib/dpkg/info/<package>.md5sums), and who owns which path (<package>.list)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from genman.layout import Layout

STATUS = "/var/lib/dpkg/status"
INFO = "/var/lib/dpkg/info"


@dataclass
class Shipped:
    """Target paths under /etc: who owns them, and the md5 the package shipped them with."""

    owner: dict[str, str] = field(default_factory=dict)  # path -> package
    md5: dict[str, str] = field(default_factory=dict)  # path -> md5 hex
    conffiles: set[str] = field(default_factory=set)

    @property
    def found(self) -> bool:
        return bool(self.owner)


def _paragraphs(text: str) -> list[dict[str, str]]:
    """RFC 822-style paragraphs; continuation lines joined with newlines."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
            cur, key = {}, None
        elif line[0] in " \t" and key is not None:
            cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            cur[key] = value.strip()
    if cur:
        out.append(cur)
    return out


def _installed(layout: Layout, shipped: Shipped) -> list[str]:
    """Installed packages (as named in info/, `name` or `name:arch`), recording conffiles."""
    try:
        text = layout.host(STATUS).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    names = []
    for p in _paragraphs(text):
        status = p.get("Status", "")
        # config-files: removed, not purged: its conffiles are still there, still its own
        if not status.endswith((" installed", " config-files")) or "Package" not in p:
            continue
        names.append(p["Package"])
        for line in p.get("Conffiles", "").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith("/etc/") and "obsolete" not in parts[2:]:
                shipped.md5[parts[0]] = parts[1]
                shipped.conffiles.add(parts[0])
                shipped.owner.setdefault(parts[0], p["Package"])
    return names


def _info_file(info: str, package: str, suffix: str) -> str | None:
    """info/<package>.<suffix>, or info/<package>:<arch>.<suffix> (multi-arch packages)."""
    plain = f"{info}/{package}.{suffix}"
    if os.path.exists(plain):
        return plain
    prefix = f"{package}:"
    for name in _listing(info):
        if name.startswith(prefix) and name.endswith(f".{suffix}"):
            return f"{info}/{name}"
    return None


_LISTINGS: dict[str, list[str]] = {}


def _listing(info: str) -> list[str]:
    if info not in _LISTINGS:
        try:
            _LISTINGS[info] = sorted(os.listdir(info))
        except FileNotFoundError:
            _LISTINGS[info] = []
    return _LISTINGS[info]


def read(layout: Layout) -> Shipped:
    """Everything dpkg knows about /etc in the target."""
    shipped = Shipped()
    info = os.fspath(layout.host(INFO))
    _LISTINGS.pop(info, None)
    for package in _installed(layout, shipped):
        lst = _info_file(info, package, "list")
        if lst is not None:
            with open(lst, encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    path = line.rstrip("\n")
                    if path.startswith("/etc/"):
                        shipped.owner.setdefault(path, package)
        sums = _info_file(info, package, "md5sums")
        if sums is not None:
            with open(sums, encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    digest, _, rel = line.rstrip("\n").partition("  ")
                    if rel.startswith("etc/"):
                        shipped.md5.setdefault("/" + rel, digest)
    return shipped
