"""Writing an imported profile directory:

    DIR/profile.toml     [system], [kernel], [etc], [secrets], [services]
    DIR/files/<path>     the content of each [etc] entry (readable: it is no secret)
    DIR/secrets/<path>   the content of each [secrets] entry (0700 directory, 0600 files)
    DIR/left-out.txt     every path left out, with the reason

Every [etc] entry names its mode, so it stays a real file with that mode and owner: the
first switch finds each file already as the profile wants it and changes no byte of it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from genman.adopt.scan import Entry, Scan, Verdict
from genman.adopt.services import table_name
from genman.errors import GenmanError


def toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, for the characters genman allows)."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Host:
    hostname: str
    description: str
    kernel: list[str]  # the [kernel] lines, or comments saying why there are none
    services: list[str]  # units enabled at boot
    users: dict[int, str]  # uid -> name on the target
    groups: dict[int, str]


def _owner_lines(e: Entry, host: Host) -> list[str]:
    if e.mode is None:
        return []
    lines = [f'mode = "{e.mode:04o}"']
    if e.uid != 0:
        lines.append(f"user = {toml_str(host.users.get(e.uid, str(e.uid)))}")
    if e.gid != 0:
        lines.append(f"group = {toml_str(host.groups.get(e.gid, str(e.gid)))}")
    return lines


def _entries(section: str, key: str, entries: Iterable[Entry], host: Host) -> list[str]:
    out: list[str] = []
    where = "secrets" if section == "secrets" else "files"
    for e in entries:
        out += ["", f"# {e.reason}", f"[{section}.{toml_str(e.path)}]",
                f"{key} = {toml_str(f'{where}/{e.path}')}", *_owner_lines(e, host)]
    return out


def profile_text(scan: Scan, host: Host, stamp: str) -> str:
    left = scan.of(Verdict.LEFT_OUT)
    lines = [
        f"# Imported by `genman import` from {host.hostname} on {stamp}.",
        "# Built as it is, it reproduces /etc byte for byte. Review it before the first switch:",
        "#   genman switch --dry-run --diff profile.toml",
        f"# {len(scan.of(Verdict.SHIPPED))} files under /etc are as their packages shipped "
        f"them and are not listed; {len(left)} paths were left out (see left-out.txt).",
        "", "[system]", f"hostname = {toml_str(host.hostname)}",
        f"description = {toml_str(host.description)}", "", *host.kernel,
    ]
    lines += _entries("etc", "source", scan.of(Verdict.FILE), host)
    lines += _entries("secrets", "file", scan.of(Verdict.SECRET), host)
    for unit in host.services:
        lines += ["", f"[services.{toml_str(table_name(unit))}]", f"unit = {toml_str(unit)}"]
    return "\n".join(lines) + "\n"


def _prepare(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise GenmanError(f"{directory} exists and is not empty",
                          hint="name a new directory: genman import never overwrites files")
    directory.mkdir(parents=True, exist_ok=True)


def _copy_secret(src: Path, dst: Path) -> None:
    for d in reversed([p for p in dst.parents if not p.exists()]):
        d.mkdir(mode=0o700)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
        shutil.copyfileobj(f, out)


def write(directory: Path, source: Callable[[str], Path], scan: Scan, host: Host,
          stamp: str) -> None:
    """Write the profile directory (refused when it exists and holds anything). `source`:
    the host path of an /etc path, links followed inside the target's root."""
    _prepare(directory)
    for e in scan.of(Verdict.FILE):
        dst = directory / "files" / e.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source(e.path), dst)
        os.chmod(dst, 0o644)
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700)
    os.chmod(secrets, 0o700)
    for e in scan.of(Verdict.SECRET):
        _copy_secret(source(e.path), secrets / e.path)
    (directory / "profile.toml").write_text(profile_text(scan, host, stamp))
    left = "".join(f"{e.shown}: {e.reason}\n" for e in scan.of(Verdict.LEFT_OUT))
    (directory / "left-out.txt").write_text(left)
    if stat.S_IMODE(os.stat(secrets).st_mode) != 0o700:
        raise GenmanError(f"cannot make {secrets} private", hint="check the file system")
