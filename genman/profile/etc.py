"""[etc."path"]: the files a generation puts under /etc, and the checks on their paths."""

from __future__ import annotations

import itertools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from genman import templating
from genman.layout import Layout, etc_path_problem, resolve_in_root
from genman.profile.common import as_given, err, expect, q, resolve, show
from genman.profile.merge import CONTENT_KEYS, Entries, Raw
from genman.profile.model import EtcFile, EtcKind
from genman.profile.owners import Owners

_MODE = re.compile(r"^0?[0-7]{3,4}$")


@dataclass(frozen=True)
class _Entry:
    """One [etc."path"] entry with its kind, value and metadata checked."""

    path: str
    key: str
    kind: EtcKind
    value: str
    file: Path  # the profile file that gave the content
    mode: int | None
    user: str | None
    group: str | None
    uid: int | None
    gid: int | None

    def make(self, path: str, source: Path | str | None = None, content: bytes | None = None,
             source_mode: int | None = None) -> EtcFile:
        return EtcFile(path, self.kind, self.file, self.key,
                       source=None if source is None else os.fspath(source), content=content,
                       mode=self.mode, user=self.user, group=self.group, uid=self.uid,
                       gid=self.gid, source_mode=source_mode)


def parse(raw: Raw, layout: Layout, context: dict[str, Any],
          compiled: templating.CompiledTemplates,
          owners: Owners | None = None) -> tuple[EtcFile, ...]:
    """`owners`: the target's users and groups, when they are not the layout's."""
    owners = owners or Owners.read(layout)
    by_path: dict[str, EtcFile] = {}
    checked: set[str] = set()
    for etc_path, entries in sorted(raw.tables("etc").items()):
        entry = _entry(layout, owners, etc_path, entries)
        for ef in _produce(layout, entry, context, compiled):
            check_etc_path(layout, entry.file, entry.key, ef.path, checked)
            if ef.path in by_path:
                other = by_path[ef.path]
                raise err(
                    entry.file, entry.key, f"/etc/{ef.path} is also declared by {other.key} in "
                    f"{show(other.declared_in)}", "two sources for one path: keep one of them",
                )
            by_path[ef.path] = ef
    # A path cannot be both a file and the directory of another file.
    paths = sorted(by_path)
    for a, b in itertools.pairwise(paths):
        if b.startswith(a + "/"):
            fa = by_path[a]
            raise err(
                fa.declared_in, fa.key, f"/etc/{a} is a file but {by_path[b].key} puts "
                f"/etc/{b} below it", "a path cannot be both a file and a directory",
            )
    return tuple(by_path[p] for p in paths)


def _entry(layout: Layout, owners: Owners, etc_path: str, entries: Entries) -> _Entry:
    key = f"[etc.{q(etc_path)}]"
    content = [k for k in CONTENT_KEYS if k in entries]
    decl_file = entries[content[0]][1] if content else next(iter(entries.values()))[1]
    problem = etc_path_problem(etc_path, reserved=False)
    if problem is not None:  # before anything is read or rendered for it
        raise err(decl_file, key, problem,
                  'use a path relative to /etc, e.g. [etc."nginx/nginx.conf"]')
    if not content:
        raise err(decl_file, key, "no content",
                  'give one of source = "...", template = "..." or text = "..."')
    kind = EtcKind(content[0])
    value, vfile = entries[kind.value]
    expect(vfile, f"{key} {kind.value}", value, str, "a string")
    mode = parse_mode(entries["mode"][1], key, entries["mode"][0]) if "mode" in entries else None
    user = uid = group = gid = None
    if "user" in entries:
        user, uid = owners.user(entries["user"][1], key, entries["user"][0])
    if "group" in entries:
        group, gid = owners.group(entries["group"][1], key, entries["group"][0])
    return _Entry(etc_path, key, kind, value, vfile, mode, user, group, uid, gid)


def _produce(layout: Layout, e: _Entry, context: dict[str, Any],
             compiled: templating.CompiledTemplates) -> list[EtcFile]:
    if e.kind is EtcKind.TEXT:
        rendered = templating.render(where=f"{show(e.file)}: {e.key} text", context=context,
                                     text=e.value)
        return [e.make(e.path, content=rendered.encode())]
    src = resolve(e.file, e.value)
    if e.kind is EtcKind.TEMPLATE:
        if not src.is_file():
            raise err(
                e.file, f"{e.key} template", f"{as_given(e.value, src)} does not exist",
                "fix the path; relative paths are relative to the file that names them",
            )
        rendered = templating.render(
            where=f"{show(e.file)}: {e.key} template", context=context,
            template_file=src.resolve(), cache=compiled,
        )
        mode = stat.S_IMODE(os.stat(src).st_mode) & 0o666
        return [e.make(e.path, content=rendered.encode(), source_mode=mode)]
    if src.is_dir():
        produced = []
        for rel, p, regular in _walk_source_dir(src):
            if not regular:
                raise err(e.file, f"{e.key} source", f"{show(Path(p))} is not a regular file",
                          "remove the broken link or special file from the directory")
            produced.append(e.make(f"{e.path}/{rel}", source=p))
        return produced
    if src.is_file():
        if not os.access(src, os.R_OK):
            raise err(e.file, f"{e.key} source", f"cannot read {show(src)}",
                      "fix its permissions")
        return [e.make(e.path, source=src)]
    raise err(
        e.file, f"{e.key} source", f"{as_given(e.value, src)} does not exist",
        "fix the path; relative paths are relative to the file that names them",
    )


def _walk_source_dir(src: Path) -> list[tuple[str, str, bool]]:
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
                files.append((rel, entry.path, entry.is_file()))
        stack.extend(reversed(subdirs))
    return sorted(files)


def check_etc_path(layout: Layout, file: Path, key: str, etc_path: str,
                   checked: set[str] | None = None) -> None:
    """The one check for a path a profile puts under /etc, whether named as a key or found
    in a source directory: etc_path_problem, then its directory resolved in the target
    must stay inside /etc (once per directory when `checked` is given)."""
    problem = etc_path_problem(etc_path)
    if problem is not None:
        shown = key if etc_path == key.removeprefix("[etc.").strip('"]') else \
            f"{key} (/etc/{etc_path!r})"
        raise err(file, shown, problem,
                  'use another path relative to /etc, e.g. [etc."nginx/nginx.conf"]')
    parent_key = etc_path.rpartition("/")[0]
    if checked is not None:  # per directory, keyed by its string: no path object per file
        if parent_key in checked:
            return
        checked.add(parent_key)
    parent = PurePosixPath("/etc", parent_key) if parent_key else PurePosixPath("/etc")
    try:
        real = resolve_in_root(layout.root, parent)
    except OSError:
        raise err(file, key, "a symlink loop in the path", "fix the links under /etc") from None
    if real != PurePosixPath("/etc") and PurePosixPath("/etc") not in real.parents:
        raise err(
            file, key, f"/etc/{etc_path} resolves outside /etc (to {real})",
            "a directory in this path is a symlink leaving /etc; manage the real location "
            "or remove the link",
        )


def parse_mode(file: Path, key: str, value: object) -> int:
    if not isinstance(value, str) or not _MODE.match(value):
        raise err(
            file, f"{key} mode", f"bad mode {value!r}",
            'write it as an octal string, e.g. mode = "0640"',
        )
    return int(value, 8)
