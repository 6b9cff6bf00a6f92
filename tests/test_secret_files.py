"""[secrets]: the content reaches /etc and /var/lib/genman/secrets only, never the store, a
cache or a generation file; mode and owner hold after switch and rollback."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import generation
from genman.layout import Layout
from tests.conftest import Run

ONE = b"SECRET-ONE-a81f3c"
TWO = b"SECRET-TWO-77d0e2"
CMD = b"SECRET-CMD-0b9e44"


def _files_holding(top: Path, needle: bytes) -> set[str]:
    """Every regular file below `top` whose bytes hold `needle`, relative to `top`."""
    out = set()
    for dirpath, _, names in os.walk(top):
        for n in names:
            p = Path(dirpath) / n
            if stat.S_ISREG(os.lstat(p).st_mode) and needle in p.read_bytes():
                out.add(str(p.relative_to(top)))
    return out


def _profile(tmp_path: Path, secret: bytes, mode: str) -> Path:
    d = tmp_path / f"p-{mode}"
    d.mkdir()
    (d / "host.key").write_bytes(secret + b"\n")
    (d / "motd.j2").write_text("welcome to {{ system.hostname }}\n")
    (d / "plain.conf").write_text("plain\n")
    old = time.time() - 60  # old enough for the hash cache to remember them
    for p in d.iterdir():
        os.utime(p, (old, old))
    (d / "profile.toml").write_text(
        '[system]\nhostname = "fra1"\n'
        '[etc.motd]\ntemplate = "motd.j2"\n[etc."plain.conf"]\nsource = "plain.conf"\n'
        '[secrets."ssl/private/host.key"]\nfile = "host.key"\n'
        f'mode = "{mode}"\ngroup = "bird"\n'
        '[secrets."api.token"]\n'
        f'command = ["sh", "-c", "printf %s {CMD.decode()}"]\n'
        '[services.api]\nunit = "api"\nrestart_triggers = ["api.token"]\n')
    return d / "profile.toml"


def _mode_owner(path: Path) -> tuple[str, int, int]:
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode), path
    return oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid


def test_secret_content_is_nowhere_but_etc_and_the_secrets_dir(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, two = _profile(tmp_path, ONE, "0640"), _profile(tmp_path, TWO, "0600")
    for p in (one, two):
        r = genman("--root", root, "--bootloader", "none", "switch", p)
        assert r.code == 0, r.err
        assert ONE not in (r.out + r.err).encode() and TWO not in (r.out + r.err).encode()
    cache = tmp_path / "build-cache"
    assert list(cache.rglob("hashes.sqlite")) and list(cache.rglob("*.cache")), \
        "the hash cache and the template cache were written"
    layout = Layout.for_root(root)
    secrets_dir = layout.host(layout.secrets_dir)
    for needle in (ONE, TWO, CMD):
        found = _files_holding(root, needle) | {f"cache:{p}" for p in _files_holding(cache, needle)}
        outside = {p for p in found if not p.startswith("var/lib/genman/secrets/")
                   and not p.startswith("etc/")}
        assert outside == set(), (needle, outside)
        assert any(p.startswith("var/lib/genman/secrets/") for p in found), needle
    # Every generation file, read through its links (manifest, scripts, etc tree).
    for n in generation.generation_numbers(layout):
        top = layout.host(layout.store_dir / generation.toplevel_of(layout, n))
        for dirpath, _, names in os.walk(top, followlinks=True):
            for name in names:
                p = Path(dirpath) / name
                if p.is_file():
                    data = p.read_bytes()
                    assert ONE not in data and TWO not in data and CMD not in data, p
    # The manifest names a keyed hash, not the content's plain sha256.
    entry = generation.manifest_of(layout, 2).secrets["ssl/private/host.key"]
    assert entry.name != hashlib.sha256(TWO + b"\n").hexdigest()
    assert stat.S_IMODE(os.stat(secrets_dir).st_mode) == 0o700
    assert {oct(stat.S_IMODE(os.stat(p).st_mode)) for p in secrets_dir.iterdir()} == {"0o600"}


def test_mode_and_owner_after_switch_and_rollback(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, two = _profile(tmp_path, ONE, "0640"), _profile(tmp_path, TWO, "0600")
    key = root / "etc/ssl/private/host.key"
    uid_ok = os.geteuid() == 0  # the owner is set only where genman may chown
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    assert key.read_bytes() == ONE + b"\n"
    mode, uid, gid = _mode_owner(key)
    assert mode == "0o640"
    assert (uid, gid) == ((0, 115) if uid_ok else (os.geteuid(), os.getegid()))
    assert _mode_owner(root / "etc/api.token")[0] == "0o600"
    assert (root / "etc/api.token").read_bytes() == CMD

    r = genman("--root", root, "--bootloader", "none", "switch", two)
    assert r.code == 0, r.err
    assert key.read_bytes() == TWO + b"\n"
    assert _mode_owner(key)[0] == "0o600"

    dry = genman("--root", root, "--bootloader", "none", "rollback", "--dry-run")
    assert "etc: ~ /etc/ssl/private/host.key (secret, mode 0640" in dry.out, dry.out
    r = genman("--root", root, "--bootloader", "none", "rollback")
    assert r.code == 0, r.err
    assert key.read_bytes() == ONE + b"\n"
    mode, uid, gid = _mode_owner(key)
    assert mode == "0o640"
    assert (uid, gid) == ((0, 115) if uid_ok else (os.geteuid(), os.getegid()))


def test_the_boot_time_activate_installs_secrets(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    import subprocess

    assert genman("--root", root, "--bootloader", "none", "build",
                  _profile(tmp_path, ONE, "0640")).code == 0
    layout = Layout.for_root(root)
    top = layout.host(layout.store_dir / generation.toplevel_of(layout, 1))
    subprocess.run(["sh", str(top / "activate"), "--root", str(root)], check=True)
    key = root / "etc/ssl/private/host.key"
    assert key.read_bytes() == ONE + b"\n"
    assert _mode_owner(key)[0] == "0o640"


def test_a_template_reading_a_secret_is_refused(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    (tmp_path / "key").write_bytes(ONE)
    (tmp_path / "t.j2").write_text("{% include 'key' %}\n")
    (tmp_path / "p.toml").write_text(
        '[secrets.key]\nfile = "key"\n[etc."leak"]\ntemplate = "t.j2"\n')
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1
    assert "[etc.leak] template: template " in r.err and \
        "t.j2 reads " in r.err and "key, the file of a [secrets] entry" in r.err, r.err
    (tmp_path / "p.toml").write_text('[secrets.key]\nfile = "key"\n[etc.leak]\nsource = "key"\n')
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1 and "[etc.leak] source: " in r.err, r.err
    assert "key is the file of [secrets.key]" in r.err, r.err
    assert not (root / "var/lib/genman/store").exists() or \
        _files_holding(root / "var/lib/genman/store", ONE) == set()
    assert _files_holding(tmp_path / "build-cache", ONE) == set() \
        if (tmp_path / "build-cache").exists() else True


@pytest.mark.parametrize(("entry", "message"), [
    ('file = "nope"', 'p.toml: [secrets.key] file: nope ('),
    ('file = "key"\nowner = "root"', "p.toml: [secrets.key].owner: unknown key"),
    ('file = "key"\nmode = "rw"', "p.toml: [secrets.key] mode: bad mode 'rw'"),
    ('file = "key"\nuser = "nobody"', "p.toml: [secrets.key] user: user 'nobody' does not exist"),
    ('command = []', "p.toml: [secrets.key] command: empty command"),
    ('file = "key"\ncommand = ["cat", "key"]', "p.toml: [secrets.key]: two sources for one path"),
    ('mode = "0600"', "p.toml: [secrets.key]: no content"),
])
def test_bad_secret_entries_name_file_and_key(
        tmp_path: Path, root: Path, genman: Callable[..., Run], entry: str, message: str) -> None:
    (tmp_path / "key").write_bytes(ONE)
    (tmp_path / "p.toml").write_text(f"[secrets.key]\n{entry}\n")
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1
    assert message in r.err and "hint:" in r.err, r.err
    assert not (root / "var/lib/genman").exists()


def test_a_failing_command_never_shows_its_output(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    (tmp_path / "get").write_text(f"echo {ONE.decode()}; echo locked >&2; exit 3\n")
    (tmp_path / "p.toml").write_text(f'[secrets.key]\ncommand = ["sh", "{tmp_path}/get"]\n')
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1
    assert "[secrets.key] command: " in r.err and "exit code 3: locked" in r.err, r.err
    assert ONE.decode() not in r.err


def test_a_secret_path_that_is_also_an_etc_path_is_refused(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    (tmp_path / "key").write_bytes(ONE)
    (tmp_path / "p.toml").write_text('[secrets.key]\nfile = "key"\n[etc.key]\ntext = "x"\n')
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1 and "[secrets.key]: /etc/key is also declared by [etc.key]" in r.err


def test_gc_keeps_the_secrets_of_retained_generations_only(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one, two = _profile(tmp_path, ONE, "0640"), _profile(tmp_path, TWO, "0600")
    for p in (one, two):
        assert genman("--root", root, "--bootloader", "none", "switch", p).code == 0
    secrets_dir = root / "var/lib/genman/secrets"
    names = lambda: {p.name for p in secrets_dir.iterdir() if p.name != ".key"}  # noqa: E731
    assert len(names()) == 3  # ONE, TWO and the command's
    assert genman("--root", root, "--bootloader", "none", "gc").code == 0
    assert len(names()) == 3, "generation 1 still names ONE: a rollback needs it"
    r = genman("--root", root, "--bootloader", "none", "prune", "--keep", "1")
    assert r.code == 0, r.err
    layout = Layout.for_root(root)
    assert names() == {s.name for s in generation.manifest_of(layout, 2).secrets.values()}
    assert (secrets_dir / ".key").is_file()



def test_a_secret_below_another_secret_is_refused(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    (tmp_path / "key").write_bytes(ONE)
    (tmp_path / "p.toml").write_text(
        '[secrets.a]\nfile = "key"\n[secrets."a/b"]\nfile = "key"\n')
    r = genman("--root", root, "build", tmp_path / "p.toml")
    assert r.code == 1 and '[secrets.a]: /etc/a is a file but [secrets."a/b"]' in r.err, r.err
