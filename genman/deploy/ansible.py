"""Ansible inventories read as they are: INI or YAML, `all` and children groups, and
group_vars/ and host_vars/ beside the inventory (files or directories of files).

Variables merge in Ansible's documented order, later wins: the inventory's vars of `all`,
group_vars/all, the inventory's vars of every other group, group_vars/<group> (groups
sorted by depth, ansible_group_priority, then name, so a child wins over its parent), the
inventory's host vars, host_vars/<host>.
"""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genman.deploy.hosts import Inventory, inventory_error, make_host
from genman.errors import GenmanError

YAML_SUFFIXES = (".yml", ".yaml", ".json")


@dataclass
class _Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class _Parsed:
    groups: dict[str, _Group] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)  # inventory's own
    order: list[str] = field(default_factory=list)  # hosts in the order first seen

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group(name))

    def host(self, group: str, name: str, hvars: dict[str, Any]) -> None:
        g = self.group(group)
        if name not in g.hosts:
            g.hosts.append(name)
        if name not in self.host_vars:
            self.order.append(name)
        self.host_vars.setdefault(name, {}).update(hvars)


# ---------------------------------------------------------------- INI


def _ini_value(value: str, literal: bool) -> Any:
    """Host-line values are Python literals where they parse as one; :vars values are
    strings (as Ansible documents)."""
    if not literal:
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _ini_pairs(file: Path, lineno: int, words: list[str], literal: bool) -> dict[str, Any]:
    out = {}
    for w in words:
        if "=" not in w:
            raise inventory_error(file, f"line {lineno}", f"expected key=value, got {w!r}",
                                  "write variables as name=value")
        k, v = w.split("=", 1)
        out[k] = _ini_value(v, literal)
    return out


def parse_ini(file: Path, text: str) -> _Parsed:
    p = _Parsed()
    p.group("all")
    section, kind = "ungrouped", "hosts"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise inventory_error(file, f"line {lineno}", f"bad section {line!r}",
                                      "write [group], [group:vars] or [group:children]")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise inventory_error(file, f"line {lineno}", f"unknown section kind {kind!r}",
                                      "use :vars or :children")
            p.group(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise inventory_error(file, f"line {lineno}", str(e), "check the quoting") from None
        if kind == "hosts":
            if "[" in words[0]:
                raise inventory_error(file, f"line {lineno}", "host ranges are not supported",
                                      "list the hosts one per line")
            p.host(section, words[0], _ini_pairs(file, lineno, words[1:], literal=True))
        elif kind == "vars":
            # the whole rest of the line is the value, kept as a string
            p.group(section).vars.update(_ini_pairs(file, lineno, [line], literal=False))
        else:
            p.group(section).children.append(words[0])
            p.group(words[0])
    return p


# ---------------------------------------------------------------- YAML


def _mapping(file: Path, key: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise inventory_error(file, key, "expected a mapping", "indent it as name: value")
    return value


def _yaml_group(file: Path, p: _Parsed, name: str, body: object, key: str) -> None:
    body = _mapping(file, key, body)
    g = p.group(name)
    for k in body:
        if k not in ("hosts", "vars", "children"):
            raise inventory_error(file, f"{key}.{k}", "unknown key",
                                  "a group has hosts, vars and children")
    for h, hv in _mapping(file, f"{key}.hosts", body.get("hosts")).items():
        p.host(name, str(h), _mapping(file, f"{key}.hosts.{h}", hv))
    g.vars.update(_mapping(file, f"{key}.vars", body.get("vars")))
    for child, cbody in _mapping(file, f"{key}.children", body.get("children")).items():
        if child not in g.children:
            g.children.append(str(child))
        _yaml_group(file, p, str(child), cbody, f"{key}.children.{child}")


def _read_yaml(file: Path) -> Any:
    try:
        return yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        raise GenmanError(f"{file}: invalid YAML: {e}") from None
    except OSError as e:
        raise GenmanError(f"cannot read {file}: {e.strerror}") from None


def parse_yaml(file: Path) -> _Parsed:
    p = _Parsed()
    p.group("all")
    for name, body in _mapping(file, "", _read_yaml(file)).items():
        _yaml_group(file, p, str(name), body, str(name))
    return p


# ---------------------------------------------------------------- group_vars / host_vars


def vars_from(base: Path, name: str) -> dict[str, Any]:
    """group_vars/<name> or host_vars/<name>: a file (no suffix, .yml, .yaml, .json) or a
    directory whose files merge in name order."""
    out: dict[str, Any] = {}
    files: list[Path] = []
    for candidate in (base / name, *(base / f"{name}{s}" for s in YAML_SUFFIXES)):
        if candidate.is_dir():
            files += sorted(f for f in candidate.rglob("*") if f.is_file()
                            and (f.suffix in YAML_SUFFIXES or not f.suffix))
        elif candidate.is_file():
            files.append(candidate)
    for f in files:
        out.update(_mapping(f, "", _read_yaml(f)))
    return out


def _depths(p: _Parsed) -> dict[str, int]:
    """A group's depth: its longest path from `all` (0); every other group is at least 1."""
    depth = {name: 0 if name == "all" else 1 for name in p.groups}
    for _ in range(len(p.groups)):  # cycles simply stop growing
        for g in p.groups.values():
            for c in g.children:
                if c != "all":
                    depth[c] = max(depth[c], depth[g.name] + 1)
    return depth


def _groups_of(p: _Parsed, host: str) -> set[str]:
    parents: dict[str, set[str]] = {}
    for g in p.groups.values():
        for c in g.children:
            parents.setdefault(c, set()).add(g.name)
    todo = [g.name for g in p.groups.values() if host in g.hosts]
    found = {"all"}
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(parents.get(name, set()))
    return found


def host_vars(p: _Parsed, base: Path, host: str) -> tuple[list[str], dict[str, Any]]:
    depth = _depths(p)
    groups = sorted(_groups_of(p, host) - {"all"},
                    key=lambda g: (depth[g], int(p.groups[g].vars.get(
                        "ansible_group_priority", 1)), g))
    merged = dict(p.groups["all"].vars)
    merged.update(vars_from(base / "group_vars", "all"))
    for g in groups:
        merged.update(p.groups[g].vars)
    for g in groups:
        merged.update(vars_from(base / "group_vars", g))
    merged.update(p.host_vars.get(host, {}))
    merged.update(vars_from(base / "host_vars", host))
    return [g for g in groups if g != "ungrouped"], merged


# ---------------------------------------------------------------- hosts


CONNECTION = {"ansible_host": "address", "ansible_port": "port", "ansible_user": "ssh_user",
              "genman_profile": "profile", "genman_root": "root", "genman_command": "genman",
              "ansible_python_interpreter": "python"}


def _settings(file: Path, host: str, v: dict[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = {}
    for var, key in CONNECTION.items():
        if var in v:
            s[key] = v.pop(var)
    if "port" in s:
        try:
            s["port"] = int(s["port"])
        except ValueError:
            raise inventory_error(file, f"{host} ansible_port", f"{s['port']!r} is not a port",
                                  "e.g. ansible_port=2222") from None
    opts: list[str] = []
    if "ansible_ssh_private_key_file" in v:
        opts += ["-i", str(Path(str(v.pop("ansible_ssh_private_key_file"))).expanduser())]
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if var in v:
            opts += shlex.split(str(v.pop(var)))
    s["ssh_options"] = opts
    return s


def _looks_like_yaml(text: str) -> bool:
    """An extensionless inventory is YAML when it parses as a mapping of groups."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and all(isinstance(v, dict | None) for v in data.values())


def load(path: Path) -> Inventory:
    """An inventory file, or a directory holding hosts / hosts.yml / inventory.ini ..."""
    file = path
    if path.is_dir():
        names = ("hosts", "hosts.ini", "hosts.yml", "hosts.yaml", "inventory",
                 "inventory.ini", "inventory.yml", "inventory.yaml")
        found = [path / n for n in names if (path / n).is_file()]
        if not found:
            raise GenmanError(f"{path} holds no inventory file",
                              hint="name one of: " + ", ".join(names))
        file = found[0]
    text = file.read_text()
    p = parse_yaml(file) if file.suffix in YAML_SUFFIXES or (
        file.suffix != ".ini" and _looks_like_yaml(text)) else parse_ini(file, text)
    base = file.parent
    hosts = []
    for name in p.order:
        groups, merged = host_vars(p, base, name)
        hosts.append(make_host(file, name, _settings(file, name, merged), groups, merged))
    if not hosts:
        raise inventory_error(file, "", "no hosts", "list at least one host")
    return Inventory(file, tuple(hosts))
