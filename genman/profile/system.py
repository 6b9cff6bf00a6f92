"""[system]: host name, description and init of the generation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from genman import bootline, templating
from genman.layout import Layout
from genman.profile.common import err, expect
from genman.profile.merge import Raw

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})*$")


@dataclass(frozen=True)
class System:
    hostname: str
    description: str
    init: str | None


def parse(raw: Raw, layout: Layout) -> System:
    entries = raw.flat("system")
    hostname_v = entries.get("hostname")
    if hostname_v is None:
        try:
            hostname = layout.host("/etc/hostname").read_text().strip() or "localhost"
        except OSError:
            hostname = templating.host_facts()["hostname"]
    else:
        value, file = hostname_v
        expect(file, "[system] hostname", value, str, "a string")
        if len(value) > 253 or not _HOSTNAME.fullmatch(value):
            raise err(
                file, "[system] hostname", f"{value!r} is not a valid host name",
                "use letters, digits and '-' (e.g. \"fra1\")",
            )
        hostname = value
    description = ""
    if "description" in entries:
        value, file = entries["description"]
        expect(file, "[system] description", value, str, "a string")
        _one_line(file, "[system] description", value)
        description = value
    init = None
    if "init" in entries:
        value, file = entries["init"]
        expect(file, "[system] init", value, str, "a string")
        _one_line(file, "[system] init", value)
        if not value.startswith("/"):
            raise err(
                file, "[system] init", "must be an absolute path on the target",
                'e.g. init = "/sbin/init"',
            )
        init = value
    return System(hostname, description, init)


def _one_line(file: Path, key: str, value: str) -> None:
    """Values that reach boot entries and boot scripts hold no control characters."""
    bad = bootline.control_char(value)
    if bad is not None:
        raise err(file, key, f"contains the control character {bad!r}",
                  "write it on one line, without tabs or control characters")
