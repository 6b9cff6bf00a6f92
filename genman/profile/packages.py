"""[packages]: directories or executables whose bin/ and sbin/ join the generation's PATH."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genman.profile.common import (
    NAME,
    err,
    expect,
    expect_str_list,
    q,
    resolve,
    show,
    type_name,
    unknown,
)
from genman.profile.merge import Raw
from genman.profile.model import PackageSpec

ALLOWED = frozenset({"path", "bin"})


def parse(raw: Raw) -> tuple[PackageSpec, ...]:
    entries = sorted(raw.flat("packages").items())
    out = [_package(name, value, file) for name, (value, file) in entries]
    _check_path_collisions(out)
    return tuple(out)


def _spec(name: str, value: Any, file: Path, key: str) -> tuple[str, list[str] | None]:
    """The package's path as written and its bin directories, if named."""
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict):
        raise err(
            file, key, f"expected a path or a table, got {type_name(value)}",
            f'write {name} = "/opt/{name}" or {name} = {{ path = "...", bin = ["bin"] }}',
        )
    for k in value:
        if k not in ALLOWED:
            raise unknown(file, key, k, ALLOWED)
    if "path" not in value:
        raise err(file, key, "missing 'path'", f'write {name} = {{ path = "/opt/{name}" }}')
    expect(file, f"{key}.path", value["path"], str, "a string")
    bin_dirs = expect_str_list(file, f"{key}.bin", value["bin"]) if "bin" in value else None
    return value["path"], bin_dirs


def _package(name: str, value: Any, file: Path) -> PackageSpec:
    key = f"[packages] {q(name)}"
    if not NAME.match(name):
        raise err(file, key, "bad package name", "use letters, digits, '-', '_' and '.'")
    path_s, bin_dirs = _spec(name, value, file, key)
    path = resolve(file, path_s)
    if path.is_file():
        if not os.access(path, os.X_OK):
            raise err(file, key, f"{show(path)} is not executable", "chmod +x it")
        return PackageSpec(name, path, (), file)
    if not path.is_dir():
        raise err(
            file, key, f"{show(path)} does not exist",
            "point it at a directory with bin/ or sbin/, or at one executable",
        )
    if bin_dirs is None:
        bin_dirs = [d for d in ("bin", "sbin") if (path / d).is_dir()]
        if not bin_dirs:
            raise err(
                file, key, f"{show(path)} has neither bin/ nor sbin/",
                'name its executable dirs: { path = "...", bin = ["libexec"] }',
            )
    for d in bin_dirs:
        if d.startswith("/") or ".." in d.split("/") or not (path / d).is_dir():
            raise err(
                file, f"{key}.bin", f"'{d}' is not a directory inside {show(path)}",
                "list directories relative to the package path",
            )
    return PackageSpec(name, path, tuple(bin_dirs), file)


def _check_path_collisions(packages: list[PackageSpec]) -> None:
    owner: dict[str, str] = {}
    for pkg in packages:
        names = [f"bin/{pkg.name}"] if not pkg.bin_dirs else [
            f"{'sbin' if d == 'sbin' else 'bin'}/{e.name}"
            for d in pkg.bin_dirs for e in os.scandir(pkg.path / d) if not e.is_dir()
        ]
        for n in names:
            if n in owner:
                raise err(
                    pkg.declared_in, f"[packages] {q(pkg.name)}",
                    f"{n} is provided by both '{owner[n]}' and '{pkg.name}'",
                    "drop one package or narrow its `bin` directories",
                )
            owner[n] = pkg.name
