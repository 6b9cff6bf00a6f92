"""Which hosts there are and how to reach them: genman's hosts.toml, or an Ansible
inventory read as it is (see `ansible`). Both give the same frozen Host records."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from genman.deploy.hosts import Host, Inventory, inventory_error, make_host
from genman.errors import GenmanError

__all__ = ["Host", "Inventory", "load", "load_toml"]
ALLOWED_DEFAULTS = {"ssh_user", "ssh_options", "port", "profile", "root", "genman", "python",
                    "vars"}
ALLOWED_HOST = ALLOWED_DEFAULTS | {"address", "groups"}
ALLOWED_GROUP = {"vars"}


def load(path: Path) -> Inventory:
    """hosts.toml by its suffix; anything else (a .ini, .yml or extensionless file, or a
    directory holding one) is read as an Ansible inventory."""
    if not path.exists():
        raise GenmanError(f"inventory {path} does not exist",
                          hint="pass -i hosts.toml or an Ansible inventory")
    if path.suffix == ".toml":
        return load_toml(path)
    from genman.deploy import ansible

    return ansible.load(path)


def _check_keys(file: Path, key: str, table: dict[str, Any], allowed: set[str]) -> None:
    for k in table:
        if k not in allowed:
            raise inventory_error(file, f"{key}.{k}", "unknown key",
                                  "allowed keys: " + ", ".join(sorted(allowed)))


def _str_list(file: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise inventory_error(file, key, "expected an array of strings",
                              'write it as ["-o", "ConnectTimeout=10"]')
    return tuple(value)


def _table(file: Path, key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise inventory_error(file, key, "expected a table", f"write it as [{key}]")
    return value


def _setting(file: Path, key: str, name: str, value: object) -> object:
    """Type-check one connection setting."""
    where = f"{key}.{name}"
    if name == "port":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            raise inventory_error(file, where, "expected a port number", "e.g. port = 2222")
        return value
    if name == "ssh_options":
        return _str_list(file, where, value)
    if name in ("vars", "groups"):
        return value
    if not isinstance(value, str) or not value:
        raise inventory_error(file, where, "expected a non-empty string", f'{name} = "..."')
    return value


def load_toml(path: Path) -> Inventory:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise GenmanError(f"{path}: invalid TOML: {e}") from None
    _check_keys(path, "", data, {"defaults", "groups", "hosts"})
    defaults = _table(path, "defaults", data.get("defaults", {}))
    _check_keys(path, "defaults", defaults, ALLOWED_DEFAULTS)
    group_vars: dict[str, dict[str, Any]] = {}
    for g, table in _table(path, "groups", data.get("groups", {})).items():
        table = _table(path, f"groups.{g}", table)
        _check_keys(path, f"groups.{g}", table, ALLOWED_GROUP)
        group_vars[g] = _table(path, f"groups.{g}.vars", table.get("vars", {}))
    hosts = []
    for name, table in _table(path, "hosts", data.get("hosts", {})).items():
        key = f"hosts.{name}"
        table = _table(path, key, table)
        _check_keys(path, key, table, ALLOWED_HOST)
        s = {k: _setting(path, "defaults", k, v) for k, v in defaults.items()}
        s.update({k: _setting(path, key, k, v) for k, v in table.items()})
        groups = _str_list(path, f"{key}.groups", table.get("groups", []))
        for g in groups:
            if g not in group_vars:
                raise inventory_error(path, f"{key}.groups", f"no group '{g}'",
                                      f"declare [groups.{g}] or drop it from groups")
        merged = dict(_table(path, "defaults.vars", defaults.get("vars", {})))
        for g in groups:
            merged.update(group_vars[g])
        merged.update(_table(path, f"{key}.vars", table.get("vars", {})))
        hosts.append(make_host(path, name, s, groups, merged))
    if not hosts:
        raise inventory_error(path, "hosts", "no hosts", 'add [hosts.NAME] address = "..."')
    return Inventory(path, tuple(hosts))
