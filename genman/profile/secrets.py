"""[secrets."path"]: /etc files whose content must never reach the store.

    [secrets."ssl/private/fra1.key"]
    file = "keys/fra1.key"               # on the building machine, or:
    command = ["pass", "show", "fra1/tls"]   # its stdout is the content
    mode = "0600"                        # default 0600, owner root:root
    user = "root"
    group = "ssl-cert"

The content is read while the profile loads and kept in memory only; see genman.secretstore
for where it goes. A template may not read a secret's file (a rendered template goes to
the store), nor may an [etc] source be one.
"""

from __future__ import annotations

import itertools
import os
import shlex
from pathlib import Path

from genman import process
from genman.errors import GenmanError
from genman.layout import Layout
from genman.profile.common import as_given, err, expect, expect_str_list, q, resolve, show
from genman.profile.etc import check_etc_path, parse_mode
from genman.profile.merge import Entries, Raw
from genman.profile.model import EtcFile, SecretSpec
from genman.profile.owners import Owners

DEFAULT_MODE = 0o600
COMMAND_TIMEOUT = 60


def parse(raw: Raw, layout: Layout, owners: Owners) -> tuple[SecretSpec, ...]:
    out = []
    for etc_path, entries in sorted(raw.tables("secrets").items()):
        key = f"[secrets.{q(etc_path)}]"
        file = next(iter(entries.values()))[1] if entries else raw.files[-1]
        check_etc_path(layout, file, key, etc_path)
        content, source = _content(entries, key, file)
        mode = parse_mode(entries["mode"][1], key, entries["mode"][0]) \
            if "mode" in entries else DEFAULT_MODE
        user, uid = owners.user(entries["user"][1], key, entries["user"][0]) \
            if "user" in entries else ("root", 0)
        group, gid = owners.group(entries["group"][1], key, entries["group"][0]) \
            if "group" in entries else ("root", 0)
        out.append(SecretSpec(etc_path, key, file, content, source, mode, user, group, uid, gid))
    return tuple(out)


def _content(entries: Entries, key: str, file: Path) -> tuple[bytes, Path | None]:
    if "file" in entries:
        value, f = entries["file"]
        expect(f, f"{key} file", value, str, "a string")
        path = resolve(f, value)
        try:
            return path.read_bytes(), path.resolve()
        except FileNotFoundError:
            raise err(f, f"{key} file", f"{as_given(value, path)} does not exist",
                      "fix the path; relative paths are relative to this file") from None
        except OSError as e:
            raise err(f, f"{key} file", f"cannot read {show(path)}: {e.strerror}",
                      "fix its permissions (genman reads it on the building machine)") from None
    if "command" in entries:
        value, f = entries["command"]
        argv = expect_str_list(f, f"{key} command", value)
        if not argv:
            raise err(f, f"{key} command", "empty command",
                      'write it as an argument list, e.g. command = ["pass", "show", "x"]')
        return _run(argv, f, key), None
    raise err(file, key, "no content",
              'give file = "..." or command = ["pass", "show", "..."]')


def _run(argv: list[str], file: Path, key: str) -> bytes:
    try:
        r = process.run(argv, check=False, timeout=COMMAND_TIMEOUT)
    except GenmanError as e:
        raise err(file, f"{key} command", e.message, e.hint or "fix the command") from None
    if not r.ok:  # stderr only: stdout may be (part of) the secret
        detail = r.stderr.strip().splitlines()[-1:] or [""]
        raise err(file, f"{key} command", f"{shlex.join(argv)} failed with exit code "
                  f"{r.returncode}" + (f": {detail[0]}" if detail[0] else ""),
                  "run the command by hand; it must print the secret and exit 0")
    return r.stdout.encode()


def check(secrets: tuple[SecretSpec, ...], etc: tuple[EtcFile, ...]) -> None:
    """A secret's path is not also an [etc] path, and no [etc] source copies a secret's
    file into the store."""
    by_path = {e.path: e for e in etc}
    files = {s.source: s for s in secrets if s.source is not None}
    for a, b in itertools.pairwise(sorted(secrets, key=lambda s: s.path)):
        if b.path.startswith(a.path + "/"):
            raise err(a.declared_in, a.key, f"/etc/{a.path} is a file but {b.key} puts "
                      f"/etc/{b.path} below it", "a path cannot be both a file and a directory")
    for s in secrets:
        other = by_path.get(s.path)
        if other is not None:
            raise err(s.declared_in, s.key, f"/etc/{s.path} is also declared by {other.key} "
                      f"in {show(other.declared_in)}", "declare it in one place only")
        below = [p for p in by_path if p.startswith(s.path + "/") or s.path.startswith(p + "/")]
        if below:
            raise err(s.declared_in, s.key, f"/etc/{s.path} and [etc] path /etc/{below[0]} "
                      "cannot both exist", "a path cannot be both a file and a directory")
    for e in etc:
        if e.source is not None and files:
            real = Path(os.path.realpath(e.source))
            if real in files:
                raise err(e.declared_in, f"{e.key} source",
                          f"{show(Path(e.source))} is the file of "
                          f"{files[real].key}; an [etc] source is copied into the "
                          "world-readable store", f"drop {e.key} and let {files[real].key} "
                          "install it")
