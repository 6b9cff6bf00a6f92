"""[services.*]: the units a generation restarts or reloads when their files change."""

from __future__ import annotations

import difflib
from pathlib import Path

from genman.health.config import parse_duration
from genman.profile.common import NAME, as_given, err, expect, expect_str_list, q, resolve
from genman.profile.merge import Entries, Raw
from genman.profile.model import EtcFile, OnChange, ServiceSpec
from genman.services import names
from genman.services.state import SETTLE_MAX


def parse(raw: Raw, etc: tuple[EtcFile, ...], secret_paths: tuple[str, ...] = ()
          ) -> tuple[ServiceSpec, ...]:
    etc_paths = [e.path for e in etc] + list(secret_paths)
    out = []
    for name, entry in sorted(raw.tables("services").items()):
        key = f"[services.{q(name)}]"
        file = next(iter(entry.values()))[1] if entry else raw.files[-1]
        if not NAME.match(name):
            raise err(file, key, "bad service name", "use letters, digits, '-', '_', '.', '@'")
        unit_file = _unit_file(entry, key)
        unit = _unit(entry, key, name, unit_file)
        triggers = _triggers(entry, key, etc_paths)
        on_change = OnChange.RESTART
        if "on_change" in entry:
            v, f = entry["on_change"]
            try:
                on_change = OnChange(v)
            except ValueError:
                raise err(f, f"{key} on_change", f"{v!r} is not one of restart, reload, none",
                          'e.g. on_change = "reload"') from None
        if unit_file is not None:
            installed = names.full_name(unit)  # the name the unit file is installed under
            if f"systemd/system/{installed}" in etc_paths:
                raise err(
                    file, f"{key} unit_file", f"/etc/systemd/system/{installed} is also an "
                    "[etc] path of this profile", "declare the unit in one place only",
                )
        stop = True
        if "stop_if_changed" in entry:
            v, f = entry["stop_if_changed"]
            expect(f, f"{key} stop_if_changed", v, bool, "true or false")
            stop = bool(v)
        out.append(ServiceSpec(name, unit, unit_file, triggers, on_change, stop,
                               _settle(entry, key)))
    return tuple(out)


def _settle(entry: Entries, key: str) -> float | None:
    """How long after its start a service must still run: a duration of 0 to 60 s."""
    if "settle" not in entry:
        return None
    v, f = entry["settle"]
    try:
        seconds = 0.0 if v in (0, "0", "0s") and v is not False else parse_duration(v)
    except ValueError as e:
        raise err(f, f"{key} settle", str(e),
                  'write a duration, e.g. settle = "5s" ("0s": check at once)') from None
    if seconds > SETTLE_MAX:
        raise err(f, f"{key} settle", f"{v!r} is longer than {SETTLE_MAX:g} s",
                  'e.g. settle = "5s"; a switch waits this long for every start')
    return seconds


def _unit_file(entry: Entries, key: str) -> Path | None:
    if "unit_file" not in entry:
        return None
    v, f = entry["unit_file"]
    expect(f, f"{key} unit_file", v, str, "a string")
    unit_file = resolve(f, v)
    if not unit_file.is_file():
        raise err(f, f"{key} unit_file", f"{as_given(v, unit_file)} does not exist",
                  "fix the path; relative paths are relative to this file")
    if not (NAME.match(unit_file.name) or names.is_valid(unit_file.name)):
        raise err(f, f"{key} unit_file", f"bad unit file name {unit_file.name!r}",
                  "name the file like its unit, e.g. nginx.service or srv-foo\\x2dbar.mount")
    return unit_file


def _unit(entry: Entries, key: str, name: str, unit_file: Path | None) -> str:
    if "unit" not in entry:
        return unit_file.name if unit_file is not None else name
    v, f = entry["unit"]
    expect(f, f"{key} unit", v, str, "a string")
    # A unit never begins with '-' (it would read as an option); systemd escapes
    # (`srv-foo\x2dbar.mount`, `foo\x2dbar` for foo\x2dbar.service) are accepted.
    base = v.rsplit("/", 1)[-1]
    valid = NAME.match(base) or names.is_valid(names.full_name(base))
    if not v or v.startswith("-") or not valid:
        given = v if v.startswith("/") and v.endswith(".mount") else base
        # A TOML literal string: "\x2d" would not parse (TOML has no \x escape).
        hint = f"e.g. unit = '{names.suggest(given)}' (systemd-escape rules)" if base else \
            'e.g. unit = "nginx"'
        raise err(f, f"{key} unit", f"bad unit name {v!r}", hint)
    return str(v)


def _triggers(entry: Entries, key: str, etc_paths: list[str]) -> tuple[str, ...]:
    if "restart_triggers" not in entry:
        return ()
    v, f = entry["restart_triggers"]
    triggers = tuple(expect_str_list(f, f"{key} restart_triggers", v))
    for t in triggers:
        if not any(p == t or p.startswith(t.rstrip("/") + "/") for p in etc_paths):
            close = difflib.get_close_matches(t, etc_paths, n=1)
            raise err(
                f, f"{key} restart_triggers", f"'{t}' is not an /etc path this profile manages",
                f"did you mean '{close[0]}'?" if close else
                "name a path declared under [etc], relative to /etc",
            )
    return triggers
