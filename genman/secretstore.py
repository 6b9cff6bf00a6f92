"""Where [secrets] content lives on the target: /var/lib/genman/secrets/<name>, 0700 root.

A secret never enters the store, a cache or a generation file. A generation records only
its /etc path and its *name*: the HMAC-SHA256 of the content under a key of the host's own
(`secrets/.key`, 0600), so the name says nothing about the content to whoever reads the
world-readable store, yet the same content always gets the same name on one host and
files are stored once (content-addressed, like the store). Activation copies the file from
here into /etc with the profile's mode and owner; an older generation's secret stays here,
so a rollback brings the old content back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from genman import fsutil
from genman.errors import GenmanError
from genman.layout import Layout, is_secret_name

KEY_BYTES = 32


def keyed_name(key: bytes, content: bytes) -> str:
    return hmac.new(key, content, hashlib.sha256).hexdigest()


def _private_dir(layout: Layout) -> Path:
    d = layout.host(layout.secrets_dir)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode):
        raise GenmanError(f"{d} is not a directory",
                          hint="move it away; genman keeps the host's secrets there")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(d, 0o700)
    return d


def _read_key(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) != KEY_BYTES:
        raise GenmanError(f"{path} is damaged",
                          hint="remove it; the next build makes a new key and stores every "
                          "secret again")
    return data


def read_key(layout: Layout) -> bytes | None:
    return _read_key(layout.host(layout.secrets_key))


class Keeper:
    """Names secrets and, when `write`, puts them into the secrets directory. A dry run
    (write False) on a host without a key names them with a throw-away key: every secret
    then reads as new, which it is.

    `Keeper.for_deploy`: on a deploying machine, names them with a key of its own for that
    host and only collects them (`collected`), to go over SSH into the target's secrets
    directory: nothing is written but the key."""

    def __init__(self, layout: Layout, write: bool) -> None:
        self.layout = layout
        self.write = write
        self.key_path = layout.host(layout.secrets_key)
        self.collected: dict[str, bytes] | None = None
        self._key: bytes | None = None

    @classmethod
    def for_deploy(cls, layout: Layout, key_path: Path) -> Keeper:
        keeper = cls(layout, write=False)
        keeper.key_path = key_path
        keeper.collected = {}
        return keeper

    def _get_key(self) -> bytes:
        if self._key is None:
            key = _read_key(self.key_path)
            if key is None:
                key = secrets.token_bytes(KEY_BYTES)
                if self.write or self.collected is not None:
                    fsutil.private_dir(self.key_path.parent)
                    fsutil.atomic_write(self.key_path, key, 0o600)
            self._key = key
        return self._key

    def add(self, content: bytes) -> str:
        name = keyed_name(self._get_key(), content)
        if self.collected is not None:
            self.collected[name] = content
        if self.write:
            path = _private_dir(self.layout) / name
            if not path.is_file():
                fsutil.atomic_write(path, content, 0o600, uid=_root_uid(), gid=_root_uid())
        return name


def _root_uid() -> int | None:
    return 0 if os.geteuid() == 0 else None


def receive(layout: Layout, contents: dict[str, bytes]) -> list[str]:
    """Store secrets a deploying machine sent (the caller holds the lock); the names that
    were new. The names are the sender's: content-addressed under its key for this host."""
    bad = [n for n in contents if not is_secret_name(n)]
    if bad:
        raise GenmanError(f"the deploy sent a secret named {bad[0][:80]!r}, which is not a "
                          "secret's name", hint="deploy again with the same genman version")
    d = _private_dir(layout)
    made = []
    for name, content in sorted(contents.items()):
        if not (d / name).is_file():
            fsutil.atomic_write(d / name, content, 0o600, uid=_root_uid(), gid=_root_uid())
            made.append(name)
    return made
