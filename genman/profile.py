"""TOML profile -> validated Profile. All validation lives here.

Nothing is written while a profile loads: every check (keys, types, files, templates,
/etc paths, users) runs first, and each error names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from genman import kernel as kernel_mod
from genman import templating
from genman.errors import GenmanError
from genman.layout import RESERVED_ETC, Layout


class OnChange(StrEnum):
    RESTART = "restart"
    RELOAD = "reload"
    NONE = "none"


class EtcKind(StrEnum):
    SOURCE = "source"
    TEMPLATE = "template"
    TEXT = "text"


CONTENT_KEYS = ("source", "template", "text")

ALLOWED: dict[str, set[str]] = {
    "": {"imports", "system", "vars", "kernel", "packages", "etc", "services"},
    "system": {"hostname", "description", "init"},
    "kernel": {"image", "initrd", "params", "keep_modules"},
    "etc": {"source", "template", "text", "mode", "user", "group"},
    "package": {"path", "bin"},
    "services": {"unit", "unit_file", "restart_triggers", "on_change"},
}

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})*$")
_MODE = re.compile(r"^0?[0-7]{3,4}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")


@dataclass(frozen=True)
class EtcFile:
    path: str  # relative to /etc
    kind: EtcKind
    declared_in: Path
    key: str  # the profile key, e.g. etc."nginx/sites"
    source: Path | None = None  # SOURCE: the file to copy
    content: bytes | None = None  # TEMPLATE/TEXT: rendered bytes
    mode: int | None = None  # set => a real file in /etc, not a link
    user: str | None = None
    group: str | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def is_copy(self) -> bool:
        return self.mode is not None or self.user is not None or self.group is not None


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


# ---------------------------------------------------------------- helpers


def _show(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("../..") else str(path)


def _q(name: str) -> str:
    return name if _NAME.match(name) and "." not in name else f'"{name}"'


def _err(file: Path, key: str, problem: str, hint: str) -> GenmanError:
    where = f"{_show(file)}: {key}: " if key else f"{_show(file)}: "
    return GenmanError(where + problem, hint=hint)


def _unknown(file: Path, section: str, key: str, allowed: set[str]) -> GenmanError:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "allowed keys: " + ", ".join(sorted(allowed))
    where = f"{section}.{_q(key)}" if section else _q(key)
    return _err(file, where, "unknown key", hint)


def _type_name(v: object) -> str:
    return {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        float: "a number",
        list: "an array",
        dict: "a table",
    }.get(type(v), type(v).__name__)


def _expect(file: Path, key: str, value: object, kind: type, what: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _err(file, key, f"expected {what}, got {_type_name(value)}", f"write it as {what}")


def _expect_str_list(file: Path, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise _err(
            file, key, f"expected an array of strings, got {_type_name(value)}",
            'write it as ["a", "b"]',
        )
    return list(value)


def _as_given(value: str, resolved: Path) -> str:
    """A path as the profile wrote it, with where it was looked for when that differs."""
    return value if value == str(resolved) else f"{value} ({resolved})"


def _resolve(file: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (file.parent / p)


# ---------------------------------------------------------------- loading


@dataclass
class _Raw:
    """The merged profile with, for each entry, the file that gave it (for errors and
    relative paths)."""

    files: list[Path] = field(default_factory=list)
    system: dict[str, tuple[Any, Path]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    kernel: dict[str, tuple[Any, Path]] = field(default_factory=dict)
    packages: dict[str, tuple[Any, Path]] = field(default_factory=dict)
    etc: dict[str, dict[str, tuple[Any, Path]]] = field(default_factory=dict)
    services: dict[str, dict[str, tuple[Any, Path]]] = field(default_factory=dict)


def _read_toml(path: Path, imported_from: Path | None, imp_value: str = "") -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        if imported_from is not None:
            raise _err(
                imported_from, "imports", f"{_as_given(imp_value, path)} does not exist",
                "fix the path; relative imports are relative to the importing file",
            ) from None
        raise GenmanError(
            f"profile {_show(path)} does not exist",
            hint="pass the profile's path, e.g. `genman build ./profile.toml`",
        ) from None
    except IsADirectoryError:
        raise GenmanError(
            f"profile {_show(path)} is a directory", hint="name the .toml file"
        ) from None
    except PermissionError:
        raise GenmanError(f"cannot read {_show(path)}: permission denied") from None
    except UnicodeDecodeError:
        raise GenmanError(f"{_show(path)} is not UTF-8 text", hint="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise GenmanError(
            f"{_show(path)}: invalid TOML: {e}",
            hint="check quoting and brackets at that line (https://toml.io)",
        ) from None


def _load_file(
    path: Path, raw: _Raw, stack: tuple[Path, ...], imported_from: Path | None,
    as_written: str = "",
) -> None:
    path = path.absolute()
    if path in stack:
        cycle = " -> ".join(_show(p) for p in (*stack, path))
        assert imported_from is not None
        raise _err(imported_from, "imports", f"import cycle: {cycle}", "remove one of the imports")
    data = _read_toml(path, imported_from, as_written)
    for key in data:
        if key not in ALLOWED[""]:
            raise _unknown(path, "", key, ALLOWED[""])

    imports = data.get("imports", [])
    for imp in _expect_str_list(path, "imports", imports):
        _load_file(_resolve(path, imp), raw, (*stack, path), path, imp)
    raw.files.append(path)

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        _expect(path, f"[{name}]", value, dict, "a table")
        return dict(value)

    for k, v in table("system").items():
        if k not in ALLOWED["system"]:
            raise _unknown(path, "[system]", k, ALLOWED["system"])
        raw.system[k] = (v, path)
    raw.vars.update(table("vars"))
    for k, v in table("kernel").items():
        if k not in ALLOWED["kernel"]:
            raise _unknown(path, "[kernel]", k, ALLOWED["kernel"])
        raw.kernel[k] = (v, path)
    for k, v in table("packages").items():
        raw.packages[k] = (v, path)
    for etc_path, entry in table("etc").items():
        key = f"[etc.{_q(etc_path)}]"
        _expect(path, key, entry, dict, "a table such as { source = \"files/x\" }")
        for k in entry:
            if k not in ALLOWED["etc"]:
                raise _unknown(path, key, k, ALLOWED["etc"])
        given = [k for k in CONTENT_KEYS if k in entry]
        if len(given) > 1:
            raise _err(
                path, key, f"two sources for one path ({' and '.join(given)})",
                "keep exactly one of source, template or text",
            )
        merged = raw.etc.setdefault(etc_path, {})
        if given:  # a later file's content replaces the earlier one's, whatever its kind
            for k in CONTENT_KEYS:
                merged.pop(k, None)
        for k, v in entry.items():
            merged[k] = (v, path)
    for name, entry in table("services").items():
        key = f"[services.{_q(name)}]"
        _expect(path, key, entry, dict, 'a table such as { unit = "nginx" }')
        merged = raw.services.setdefault(name, {})
        for k, v in entry.items():
            if k not in ALLOWED["services"]:
                raise _unknown(path, key, k, ALLOWED["services"])
            merged[k] = (v, path)


# ---------------------------------------------------------------- target facts


def _read_ids(layout: Layout, file: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    try:
        with open(layout.host(file), encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 3 and parts[2].isdigit():
                    ids.setdefault(parts[0], int(parts[2]))
    except FileNotFoundError:
        pass
    return ids


def resolve_in_root(root: Path, rel: PurePosixPath) -> PurePosixPath:
    """Resolve a target path as the target would, following links inside `root`."""
    parts = list(rel.parts)
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "/", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise OSError("too many levels of symbolic links")
            link = os.readlink(candidate)
            if link.startswith("/"):
                resolved = []
            parts = list(PurePosixPath(link).parts) + parts
            continue
        resolved.append(part)
    return PurePosixPath("/", *resolved)


def _check_etc_path(layout: Layout, file: Path, key: str, etc_path: str) -> None:
    fix = 'use a path relative to /etc, e.g. [etc."nginx/nginx.conf"]'
    if not etc_path or etc_path.startswith("/"):
        raise _err(file, key, "the /etc path must be relative (no leading /)", fix)
    parts = etc_path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise _err(file, key, "the /etc path may not contain '..', '.' or empty parts", fix)
    # The ledger and the boot-time sh activation carry paths verbatim.
    bad = [c for c in etc_path if c in "\"\\'" or ord(c) < 32 or ord(c) == 127]
    if bad:
        raise _err(file, key, f"the /etc path contains {bad[0]!r}",
                   "rename it: quotes, backslashes and control characters are not supported")
    for reserved in RESERVED_ETC:
        if etc_path == reserved or etc_path.startswith(reserved + "/"):
            raise _err(
                file, key, f"/etc/{reserved} is reserved for genman itself",
                "choose another path",
            )
    parent = PurePosixPath("/etc", *parts[:-1])
    try:
        real = resolve_in_root(layout.root, parent)
    except OSError:
        raise _err(file, key, "a symlink loop in the path", "fix the links under /etc") from None
    if real != PurePosixPath("/etc") and PurePosixPath("/etc") not in real.parents:
        raise _err(
            file, key, f"/etc/{etc_path} resolves outside /etc (to {real})",
            "a directory in this path is a symlink leaving /etc; manage the real location "
            "or remove the link",
        )


def _parse_mode(file: Path, key: str, value: object) -> int:
    if not isinstance(value, str) or not _MODE.match(value):
        raise _err(
            file, f"{key} mode", f"bad mode {value!r}",
            'write it as an octal string, e.g. mode = "0640"',
        )
    return int(value, 8)


def _resolve_owner(
    file: Path, key: str, value: object, names: dict[str, int], what: str, db: str
) -> tuple[str, int]:
    if not isinstance(value, str) or not value:
        raise _err(file, f"{key} {what}", "expected a name", f'write it as {what} = "root"')
    if value.isdigit():
        return value, int(value)
    if value not in names:
        raise _err(
            file, f"{key} {what}", f"{what} '{value}' does not exist in the target's {db}",
            f"create the {what} on the target first, or use a numeric id",
        )
    return value, names[value]


# ---------------------------------------------------------------- building the Profile


def _system(raw: _Raw, layout: Layout, main: Path) -> tuple[str, str, str | None]:
    hostname_v = raw.system.get("hostname")
    if hostname_v is None:
        try:
            hostname = layout.host("/etc/hostname").read_text().strip() or "localhost"
        except OSError:
            hostname = templating.host_facts()["hostname"]
    else:
        value, file = hostname_v
        _expect(file, "[system] hostname", value, str, "a string")
        if not _HOSTNAME.match(value):
            raise _err(
                file, "[system] hostname", f"'{value}' is not a valid host name",
                "use letters, digits and '-' (e.g. \"fra1\")",
            )
        hostname = value
    description = ""
    if "description" in raw.system:
        value, file = raw.system["description"]
        _expect(file, "[system] description", value, str, "a string")
        description = value
    init = None
    if "init" in raw.system:
        value, file = raw.system["init"]
        _expect(file, "[system] init", value, str, "a string")
        if not value.startswith("/"):
            raise _err(
                file, "[system] init", "must be an absolute path on the target",
                'e.g. init = "/sbin/init"',
            )
        init = value
    return hostname, description, init


def _kernel(raw: _Raw, layout: Layout) -> KernelSpec | None:
    if not raw.kernel:
        return None
    get = raw.kernel.get
    if "image" not in raw.kernel:
        file = next(iter(raw.kernel.values()))[1]
        raise _err(
            file, "[kernel] image", "missing",
            'set image = "current", "latest" or the path of a vmlinuz file',
        )
    value, file = raw.kernel["image"]
    _expect(file, "[kernel] image", value, str, "a string")
    initrd_given = get("initrd")
    if initrd_given is not None:
        _expect(initrd_given[1], "[kernel] initrd", initrd_given[0], str, "a string")
    params: tuple[str, ...] = ()
    if "params" in raw.kernel:
        pv, pf = raw.kernel["params"]
        params = tuple(_expect_str_list(pf, "[kernel] params", pv))
        for p in params:
            if p.split("=", 1)[0] in ("init", "genman.generation"):
                raise _err(
                    pf, "[kernel] params", f"'{p}' is set by genman for every entry",
                    "remove it from params",
                )
    keep_modules = True
    if "keep_modules" in raw.kernel:
        kv, kf = raw.kernel["keep_modules"]
        _expect(kf, "[kernel] keep_modules", kv, bool, "true or false")
        keep_modules = kv

    image, version, target_side = kernel_mod.resolve_image(layout, value, file)
    initrd: Path | None
    if initrd_given is not None:
        given = _resolve(initrd_given[1], initrd_given[0])
        if not given.is_file():
            raise _err(
                initrd_given[1], "[kernel] initrd", f"{_as_given(initrd_given[0], given)} does "
                "not exist", "fix the path or leave initrd out to use the one matching the image",
            )
        initrd = given
    else:
        initrd = kernel_mod.matching_initrd(image, version)
    modules = None
    if keep_modules:
        rel = f"/lib/modules/{version}"
        modules_dir = layout.host(rel) if target_side else Path(rel)
        modules = modules_dir if modules_dir.is_dir() else None
    return KernelSpec(image=image, initrd=initrd, version=version, params=params, modules=modules)


def _packages(raw: _Raw) -> tuple[PackageSpec, ...]:
    out = []
    for name, (value, file) in sorted(raw.packages.items()):
        key = f"[packages] {_q(name)}"
        if not _NAME.match(name):
            raise _err(file, key, "bad package name", "use letters, digits, '-', '_' and '.'")
        bin_dirs: list[str] | None = None
        if isinstance(value, dict):
            for k in value:
                if k not in ALLOWED["package"]:
                    raise _unknown(file, key, k, ALLOWED["package"])
            if "path" not in value:
                raise _err(file, key, "missing 'path'",
                           f'write {name} = {{ path = "/opt/{name}" }}')
            _expect(file, f"{key}.path", value["path"], str, "a string")
            path_s = value["path"]
            if "bin" in value:
                bin_dirs = _expect_str_list(file, f"{key}.bin", value["bin"])
        elif isinstance(value, str):
            path_s = value
        else:
            raise _err(
                file, key, f"expected a path or a table, got {_type_name(value)}",
                f'write {name} = "/opt/{name}" or {name} = {{ path = "...", bin = ["bin"] }}',
            )
        path = _resolve(file, path_s)
        if path.is_file():
            if not os.access(path, os.X_OK):
                raise _err(file, key, f"{_show(path)} is not executable", "chmod +x it")
            out.append(PackageSpec(name, path, (), file))
            continue
        if not path.is_dir():
            raise _err(
                file, key, f"{_show(path)} does not exist",
                "point it at a directory with bin/ or sbin/, or at one executable",
            )
        if bin_dirs is None:
            bin_dirs = [d for d in ("bin", "sbin") if (path / d).is_dir()]
            if not bin_dirs:
                raise _err(
                    file, key, f"{_show(path)} has neither bin/ nor sbin/",
                    'name its executable dirs: { path = "...", bin = ["libexec"] }',
                )
        for d in bin_dirs:
            if d.startswith("/") or ".." in d.split("/") or not (path / d).is_dir():
                raise _err(
                    file, f"{key}.bin", f"'{d}' is not a directory inside {_show(path)}",
                    "list directories relative to the package path",
                )
        out.append(PackageSpec(name, path, tuple(bin_dirs), file))
    _check_path_collisions(out)
    return tuple(out)


def _check_path_collisions(packages: list[PackageSpec]) -> None:
    owner: dict[str, str] = {}
    for pkg in packages:
        names = [f"bin/{pkg.name}"] if not pkg.bin_dirs else [
            f"{'sbin' if d == 'sbin' else 'bin'}/{e.name}"
            for d in pkg.bin_dirs for e in os.scandir(pkg.path / d) if not e.is_dir()
        ]
        for n in names:
            if n in owner:
                raise _err(
                    pkg.declared_in, f"[packages] {_q(pkg.name)}",
                    f"{n} is provided by both '{owner[n]}' and '{pkg.name}'",
                    "drop one package or narrow its `bin` directories",
                )
            owner[n] = pkg.name


def _walk_source_dir(src: Path) -> list[tuple[str, Path, bool]]:
    """(relative path, path, is a regular file) for everything below src, sorted."""
    files = []
    stack = [("", str(src))]
    while stack:
        rel_dir, abs_dir = stack.pop()
        subdirs = []
        for entry in sorted(os.scandir(abs_dir), key=lambda e: e.name):
            rel = f"{rel_dir}{entry.name}"
            if entry.is_dir():  # follows links, like cp -rL
                subdirs.append((rel + "/", entry.path))
            else:
                files.append((rel, Path(entry.path), entry.is_file()))
        stack.extend(reversed(subdirs))
    return sorted(files)


def _etc(raw: _Raw, layout: Layout, context: dict[str, Any],
         compiled: templating.CompiledTemplates) -> tuple[EtcFile, ...]:
    users = _read_ids(layout, "/etc/passwd")
    groups = _read_ids(layout, "/etc/group")
    by_path: dict[str, EtcFile] = {}
    for etc_path, entry in sorted(raw.etc.items()):
        key = f"[etc.{_q(etc_path)}]"
        files = {f for _, f in entry.values()}
        decl = entry.get("source", entry.get("template", entry.get("text", (None, None))))[1]
        decl_file = decl or next(iter(files))
        _check_etc_path(layout, decl_file, key, etc_path)
        kinds = [k for k in CONTENT_KEYS if k in entry]
        if not kinds:
            raise _err(
                decl_file, key, "no content", 'give one of source = "...", template = "..." '
                'or text = "..."',
            )
        kind = EtcKind(kinds[0])
        value, vfile = entry[kind.value]
        _expect(vfile, f"{key} {kind.value}", value, str, "a string")
        mode = uid = gid = None
        user = group = None
        if "mode" in entry:
            mode = _parse_mode(entry["mode"][1], key, entry["mode"][0])
        if "user" in entry:
            user, uid = _resolve_owner(entry["user"][1], key, entry["user"][0], users, "user",
                                       "/etc/passwd")
        if "group" in entry:
            group, gid = _resolve_owner(entry["group"][1], key, entry["group"][0], groups, "group",
                                        "/etc/group")
        def make(path: str, source: Path | None = None, content: bytes | None = None,
                 *, _kind: EtcKind = kind, _file: Path = vfile, _key: str = key,
                 _mode: int | None = mode, _user: str | None = user, _group: str | None = group,
                 _uid: int | None = uid, _gid: int | None = gid) -> EtcFile:
            return EtcFile(path, _kind, _file, _key, source=source, content=content, mode=_mode,
                           user=_user, group=_group, uid=_uid, gid=_gid)

        produced: list[EtcFile] = []
        if kind is EtcKind.SOURCE:
            src = _resolve(vfile, value)
            if src.is_dir():
                for rel, p, regular in _walk_source_dir(src):
                    if not regular:
                        raise _err(vfile, f"{key} source", f"{_show(p)} is not a regular file",
                                   "remove the broken link or special file from the directory")
                    produced.append(make(f"{etc_path}/{rel}", source=p))
            elif src.is_file():
                if not os.access(src, os.R_OK):
                    raise _err(vfile, f"{key} source", f"cannot read {_show(src)}",
                               "fix its permissions")
                produced.append(make(etc_path, source=src))
            else:
                raise _err(
                    vfile, f"{key} source", f"{_as_given(value, src)} does not exist",
                    "fix the path; relative paths are relative to the file that names them",
                )
        elif kind is EtcKind.TEMPLATE:
            src = _resolve(vfile, value)
            if not src.is_file():
                raise _err(
                    vfile, f"{key} template", f"{_as_given(value, src)} does not exist",
                    "fix the path; relative paths are relative to the file that names them",
                )
            rendered = templating.render(
                where=f"{_show(vfile)}: {key} template", context=context,
                template_file=src.resolve(), cache=compiled,
            )
            produced.append(make(etc_path, content=rendered.encode()))
        else:
            rendered = templating.render(where=f"{_show(vfile)}: {key} text", context=context,
                                         text=value)
            produced.append(make(etc_path, content=rendered.encode()))
        for ef in produced:
            if ef.path in by_path:
                other = by_path[ef.path]
                raise _err(
                    vfile, key, f"/etc/{ef.path} is also declared by {other.key} in "
                    f"{_show(other.declared_in)}",
                    "two sources for one path: keep one of them",
                )
            by_path[ef.path] = ef
    # A path cannot be both a file and the directory of another file.
    paths = sorted(by_path)
    for a, b in itertools.pairwise(paths):
        if b.startswith(a + "/"):
            fa = by_path[a]
            raise _err(
                fa.declared_in, fa.key, f"/etc/{a} is a file but {by_path[b].key} puts "
                f"/etc/{b} below it", "a path cannot be both a file and a directory",
            )
    return tuple(by_path[p] for p in paths)


def _services(raw: _Raw, etc: tuple[EtcFile, ...]) -> tuple[ServiceSpec, ...]:
    etc_paths = [e.path for e in etc]
    out = []
    for name, entry in sorted(raw.services.items()):
        key = f"[services.{_q(name)}]"
        file = next(iter(entry.values()))[1] if entry else raw.files[-1]
        if not _NAME.match(name):
            raise _err(file, key, "bad service name", "use letters, digits, '-', '_', '.', '@'")
        unit_file = None
        if "unit_file" in entry:
            v, f = entry["unit_file"]
            _expect(f, f"{key} unit_file", v, str, "a string")
            unit_file = _resolve(f, v)
            if not unit_file.is_file():
                raise _err(f, f"{key} unit_file", f"{_as_given(v, unit_file)} does not exist",
                           "fix the path; relative paths are relative to this file")
        if "unit" in entry:
            v, f = entry["unit"]
            _expect(f, f"{key} unit", v, str, "a string")
            if not v or not _NAME.match(v.rsplit("/", 1)[-1]):
                raise _err(f, f"{key} unit", f"bad unit name {v!r}", 'e.g. unit = "nginx"')
            unit = v
        elif unit_file is not None:
            unit = unit_file.name
        else:
            unit = name
        triggers: tuple[str, ...] = ()
        if "restart_triggers" in entry:
            v, f = entry["restart_triggers"]
            triggers = tuple(_expect_str_list(f, f"{key} restart_triggers", v))
            for t in triggers:
                if not any(p == t or p.startswith(t.rstrip("/") + "/") for p in etc_paths):
                    close = difflib.get_close_matches(t, etc_paths, n=1)
                    raise _err(
                        f, f"{key} restart_triggers", f"'{t}' is not an /etc path this "
                        "profile manages",
                        f"did you mean '{close[0]}'?" if close else
                        "name a path declared under [etc], relative to /etc",
                    )
        on_change = OnChange.RESTART
        if "on_change" in entry:
            v, f = entry["on_change"]
            try:
                on_change = OnChange(v)
            except ValueError:
                raise _err(f, f"{key} on_change", f"{v!r} is not one of restart, reload, none",
                           'e.g. on_change = "reload"') from None
        if unit_file is not None:
            installed = unit.rsplit("/", 1)[-1]
            installed = installed if "." in installed else f"{installed}.service"
            if f"systemd/system/{installed}" in etc_paths:
                raise _err(
                    file, f"{key} unit_file", f"/etc/systemd/system/{installed} is also an "
                    "[etc] path of this profile", "declare the unit in one place only",
                )
        out.append(ServiceSpec(name, unit, unit_file, triggers, on_change))
    return tuple(out)


def load(path: Path, layout: Layout) -> Profile:
    """Read, merge and validate a profile; render its templates. Writes nothing."""
    raw = _Raw()
    _load_file(path, raw, (), None)
    main = raw.files[-1]
    hostname, description, init = _system(raw, layout, main)
    system = {"hostname": hostname, "description": description, "init": init}
    for k in raw.vars:
        if k in ("system", "host", "vars"):
            raise _err(main, f"[vars] {k}", f"'{k}' is a name genman gives templates",
                       "rename the variable")
    context: dict[str, Any] = {
        **raw.vars, "vars": raw.vars, "system": system, "host": templating.host_facts()
    }
    kernel = _kernel(raw, layout)
    packages = _packages(raw)
    compiled = templating.CompiledTemplates(layout.host(layout.cache_dir) / "jinja")
    etc = _etc(raw, layout, context, compiled)
    services = _services(raw, etc)
    return Profile(
        path=main,
        files=tuple(raw.files),
        hostname=hostname,
        description=description,
        init=init,
        vars=dict(raw.vars),
        kernel=kernel,
        packages=packages,
        etc=etc,
        services=services,
        compiled=compiled,
    )


def source_mode(ef: EtcFile) -> int:
    """The permission bits an /etc file's content carries in the store."""
    if ef.mode is not None:
        return ef.mode
    if ef.source is not None:
        return stat.S_IMODE(os.stat(ef.source).st_mode)
    return 0o644
