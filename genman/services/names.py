"""systemd unit names: validity, escaping (`systemd-escape` rules), types, templates.

A unit name is `prefix[@instance].type`; the prefix and instance use letters, digits and
`:_.-`, anything else written as `\\xNN` (so `/srv/foo-bar` mounts as
`srv-foo\\x2dbar.mount`). The same rules name sysvinit scripts and OpenRC services once
their type suffix is dropped.
"""

from __future__ import annotations

import re

TYPES = ("service", "socket", "device", "mount", "automount", "swap", "target", "path",
         "timer", "slice", "scope")
_PLAIN = re.compile(r"[A-Za-z0-9:_.\-]|\\x[0-9a-fA-F]{2}")
_UNIT = re.compile(
    r"^(?P<prefix>(?:[A-Za-z0-9:_.\-]|\\x[0-9a-fA-F]{2})+)"
    r"(?:@(?P<instance>(?:[A-Za-z0-9:_.\-@]|\\x[0-9a-fA-F]{2})*))?"
    r"\.(?P<type>" + "|".join(TYPES) + r")$"
)
MAX_LEN = 255


def full_name(unit: str) -> str:
    """`nginx` -> `nginx.service`; `/etc/init.d/bird` -> `bird.service`."""
    name = unit.rsplit("/", 1)[-1]
    return name if unit_type(name) else f"{name}.service"


def unit_type(name: str) -> str | None:
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix if suffix in TYPES else None


def is_valid(name: str) -> bool:
    """A full unit name systemd accepts (escapes included)."""
    return len(name) <= MAX_LEN and _UNIT.match(name) is not None


def template_of(name: str) -> str | None:
    """`getty@tty1.service` -> `getty@.service`; None for a name without an instance."""
    m = _UNIT.match(name)
    if m is None or m["instance"] is None or not m["instance"]:
        return None
    return f"{m['prefix']}@.{m['type']}"


def escape(text: str) -> str:
    """`systemd-escape TEXT`: '/' becomes '-', everything outside [A-Za-z0-9:_.] (and a
    leading '.') becomes \\xNN."""
    out = []
    for i, ch in enumerate(text):
        if ch == "/":
            out.append("-")
        elif (ch.isascii() and (ch.isalnum() or ch in ":_.")) and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode())
    return "".join(out)


def escape_path(path: str) -> str:
    """`systemd-escape --path PATH`: `/srv/foo-bar/` -> `srv-foo\\x2dbar`, `/` -> `-`."""
    parts = [p for p in path.split("/") if p]
    return "-" if not parts else escape("/".join(parts))


def suggest(given: str) -> str:
    """What to write instead of an invalid name, e.g. a path for a mount unit."""
    stem, _, suffix = given.rpartition(".")
    if suffix in TYPES and stem.startswith("/"):
        return f"{escape_path(stem)}.{suffix}"
    if suffix in TYPES:
        return f"{escape(stem)}.{suffix}"
    return f"{escape(given)}.service"
