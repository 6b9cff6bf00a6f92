"""The profile's `[health]` table -> a validated HealthConfig.

```toml
[health]
boot_timeout = "5m"       # a boot must be marked good within this, or it reboots
tries = 3                 # boots a new default gets before genman falls back

[health.checks.ssh]
command = ["sh", "-c", "ss -ltn | grep -q ':22 '"]
timeout = "10s"
required = true           # false: reported, never reverts
```

The table is a section of the profile (genman.profile.merge.SECTIONS); `parse` validates
the merged result.
The config goes into the generation's manifest (`to_dict`/`from_dict`), so the boot-time
marker and the watcher read the checks of the generation they judge, not the profile's.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genman.errors import GenmanError
from genman.layout import Layout

DEFAULT_BOOT_TIMEOUT = 300.0
DEFAULT_TRIES = 3
DEFAULT_CHECK_TIMEOUT = 30.0
MAX_TRIES = 9  # GRUB counts down through a fixed chain of ifs (grub-counting.cfg.j2)

HEALTH_KEYS = {"boot_timeout", "tries", "checks"}
CHECK_KEYS = {"command", "timeout", "required"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_CHECK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def parse_duration(value: object) -> float:
    """'10s', '5m', '1.5h', '250ms' or a number of seconds -> seconds (> 0).
    Raises ValueError with what was wrong."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"30s\", got a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise ValueError(f"{value!r} is not a duration")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise ValueError(f"expected a duration such as \"30s\", got {type(value).__name__}")
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def show_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Check:
    name: str
    command: tuple[str, ...]
    timeout: float = DEFAULT_CHECK_TIMEOUT
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"command": list(self.command), "timeout": self.timeout,
                "required": self.required}

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> Check:
        return cls(name, tuple(d["command"]), float(d.get("timeout", DEFAULT_CHECK_TIMEOUT)),
                   bool(d.get("required", True)))


@dataclass(frozen=True)
class HealthConfig:
    boot_timeout: float = DEFAULT_BOOT_TIMEOUT
    tries: int = DEFAULT_TRIES
    checks: tuple[Check, ...] = ()

    @property
    def required(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.required)

    def to_dict(self) -> dict[str, Any]:
        return {"boot_timeout": self.boot_timeout, "tries": self.tries,
                "checks": {c.name: c.to_dict() for c in self.checks}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HealthConfig:
        checks = tuple(Check.from_dict(n, c) for n, c in d.get("checks", {}).items())
        return cls(float(d.get("boot_timeout", DEFAULT_BOOT_TIMEOUT)),
                   int(d.get("tries", DEFAULT_TRIES)), checks)

    def describe(self) -> list[str]:
        """Lines for `switch --dry-run`."""
        return [item["text"] for item in self.describe_items()]

    def describe_items(self) -> list[dict[str, Any]]:
        """`switch --dry-run --json` objects: the tries, then each check."""
        items: list[dict[str, Any]] = [{
            "kind": "health", "tries": self.tries, "boot_timeout": self.boot_timeout,
            "text": f"health: {self.tries} tries to boot, each marked good within "
                    f"{show_duration(self.boot_timeout)}"}]
        for c in self.checks:
            kind = "required" if c.required else "wanted"
            items.append({"kind": "health_check", "name": c.name, "command": list(c.command),
                          "timeout": c.timeout, "required": c.required,
                          "text": f"health check {c.name} ({kind}, timeout "
                                  f"{show_duration(c.timeout)}): {shlex.join(c.command)}"})
        if not self.checks:
            items.append({"kind": "health_note",
                          "text": "health: no checks declared; a boot that reaches its init "
                                  "system's normal state is good"})
        return items


# ---------------------------------------------------------------- from the profile
#
# [health] is a section of genman.profile.merge.SECTIONS (shape FREE): imports merge its
# keys one by one, so a later file's `checks` table replaces the earlier file's checks.
# `parse` gets the merged entries, key -> (value, file that gave it).


def _show(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("../..") else str(path)


def _err(file: Path, key: str, problem: str, hint: str) -> GenmanError:
    return GenmanError(f"{_show(file)}: {key}: {problem}", hint=hint)


def _unknown(file: Path, key: str, name: str, allowed: set[str]) -> GenmanError:
    import difflib

    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "allowed keys: " + ", ".join(sorted(allowed))
    return _err(file, f"{key} {name}", "unknown key", hint)


def _duration(file: Path, key: str, value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise _err(file, key, str(e), 'write a positive duration such as "30s", "5m" or "1h"') \
            from None


def _check(layout: Layout, file: Path, name: str, entry: object) -> Check:
    key = f"[health.checks.{name}]"
    if not _CHECK_NAME.match(name):
        raise _err(file, key, "not a usable check name", "use letters, digits, '_', '-' and '.'")
    if not isinstance(entry, dict):
        raise _err(file, key, "expected a table",
                   'write it as [health.checks.NAME] with command = ["..."]')
    for k in entry:
        if k not in CHECK_KEYS:
            raise _unknown(file, key, k, CHECK_KEYS)
    if "command" not in entry:
        raise _err(file, key, "no command", 'add command = ["program", "arg", ...]')
    command = entry["command"]
    if (not isinstance(command, list) or not command
            or not all(isinstance(a, str) and a for a in command)):
        raise _err(file, f"{key} command", "expected a non-empty array of strings",
                   'write it as command = ["sh", "-c", "..."] (an argument list, no shell '
                   "string)")
    program = command[0]
    if program.startswith("/"):
        host = layout.host(program)
        if not (host.is_file() and os.access(host, os.X_OK)):
            raise _err(file, f"{key} command", f"{program} does not exist on the target"
                       + (f" ({host})" if not layout.is_live else "") + " or is not executable",
                       "fix the path, or name the program without a path to find it on PATH")
    timeout = DEFAULT_CHECK_TIMEOUT
    if "timeout" in entry:
        timeout = _duration(file, f"{key} timeout", entry["timeout"])
    required = entry.get("required", True)
    if not isinstance(required, bool):
        raise _err(file, f"{key} required", "expected true or false",
                   "true: a failure reverts; false: reported only")
    return Check(name, tuple(command), timeout, required)


def parse(entries: dict[str, Any], layout: Layout) -> HealthConfig | None:
    """Validate the merged [health] entries (None: the profile has none). Writes nothing."""
    if not entries:
        return None
    for k, (_, file) in entries.items():
        if k not in HEALTH_KEYS:
            raise _unknown(file, "[health]", k, HEALTH_KEYS)
    boot_timeout = DEFAULT_BOOT_TIMEOUT
    if "boot_timeout" in entries:
        value, file = entries["boot_timeout"]
        boot_timeout = _duration(file, "[health] boot_timeout", value)
    tries = DEFAULT_TRIES
    if "tries" in entries:
        value, file = entries["tries"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TRIES:
            raise _err(file, "[health] tries", f"expected a whole number from 1 to {MAX_TRIES}",
                       "write e.g. tries = 3")
        tries = value
    checks: tuple[Check, ...] = ()
    if "checks" in entries:
        value, file = entries["checks"]
        if not isinstance(value, dict):
            raise _err(file, "[health] checks", "expected a table of checks",
                       "declare each check as [health.checks.NAME]")
        checks = tuple(_check(layout, file, n, e) for n, e in sorted(value.items()))
    return HealthConfig(boot_timeout, tries, checks)
