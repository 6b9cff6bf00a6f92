"""Shared fixtures. Every test runs under a guard that makes any write outside its own
tmp_path fail, so a path that escapes `--root` shows up as a failing test, not a dirty host."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import PROFILE, write_tree

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class YouForgotToUseTheRoot(PermissionError):
    """Raised (as an OSError, so callers see a failed write) for a write outside the test."""


_allowed: list[str] = []
_active = False
_violations: list[str] = []

# Events whose first argument is a path being changed.
_PATH_EVENTS = {
    "os.mkdir", "os.rmdir", "os.remove", "os.chmod", "os.chown", "os.utime", "os.truncate",
    "shutil.rmtree", "os.chflags", "os.setxattr", "os.removexattr",
}
_TWO_PATH_EVENTS = {"os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.move"}


def _outside(path: object) -> str | None:
    if isinstance(path, int):
        return None  # an fd opened earlier, already checked
    if isinstance(path, bytes):
        path = path.decode(errors="replace")
    if not isinstance(path, (str, os.PathLike)):
        return None
    p = os.path.abspath(os.fspath(path))
    if p == os.devnull or any(p == a or p.startswith(a + os.sep) for a in _allowed):
        return None
    return p


def _relative_to_fd(args: tuple[object, ...]) -> bool:
    """fd-relative calls (shutil.rmtree's) name a path inside a directory already opened;
    the top of such a walk is checked through its own event."""
    return any(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in args[1:]) and (
        isinstance(args[0], (str, bytes)) and not os.path.isabs(args[0])
    )


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _active:
        return
    if event != "open" and args and _relative_to_fd(args):
        return
    bad: str | None = None
    if event == "open":
        path, mode, flags = (*args, None, None, None)[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing:
            bad = _outside(path)
    elif event in _PATH_EVENTS:
        bad = _outside(args[0]) if args else None
    elif event in _TWO_PATH_EVENTS:
        # For symlink the first argument is the link's text, not a place written.
        targets = args[1:2] if event == "os.symlink" else args[:2]
        for a in targets:
            bad = bad or _outside(a)
    elif event == "sqlite3.connect":
        bad = _outside(args[0]) if args and args[0] != ":memory:" else None
    if bad is not None:
        _violations.append(f"{event} {bad}")
        raise YouForgotToUseTheRoot(f"test tried to write outside its tmp_path: {event} {bad}")


sys.addaudithook(_hook)


@pytest.fixture(autouse=True)
def _build_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """genman's caches live on the building machine, outside --root: here, in the test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "build-cache"))


@pytest.fixture(autouse=True)
def _write_guard(tmp_path: Path) -> Iterator[None]:
    global _active
    _allowed[:] = [str(tmp_path.resolve()), str(tmp_path)]
    _violations.clear()
    _active = True
    try:
        yield
    finally:
        _active = False
    assert not _violations, f"writes outside the test root: {_violations}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty target root with the bits of a system genman reads."""
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nbird:x:108:115::/run/bird:/usr/sbin/nologin\n"
    )
    (r / "etc/group").write_text("root:x:0:\nbird:x:115:\n")
    (r / "etc/hostname").write_text("sandbox\n")
    return r


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def genman(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run the CLI in-process (so the write guard sees it); returns exit code and output."""
    from genman.cli import main

    def run(*args: str | Path) -> Run:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def example(tmp_path: Path, root: Path) -> Path:
    write_tree(tmp_path / "p", {
        "profile.toml": PROFILE,
        "bird.conf.j2": "router id 172.18.{{ idx }}.1;\n",
        "sites/a.conf": "a\n",
        "sites/b.conf": "b\n",
        "pkg/bin/hello": "#!/bin/sh\necho hello\n",
        "pkg/sbin/ctl": "#!/bin/sh\n",
    })
    for exe in ("pkg/bin/hello", "pkg/sbin/ctl"):
        (tmp_path / "p" / exe).chmod(0o755)
    (root / "boot").mkdir()
    (root / "boot/vmlinuz-6.1.0-28-amd64").write_bytes(b"kernel")
    (root / "boot/initrd.img-6.1.0-28-amd64").write_bytes(b"initrd")
    (root / "lib/modules/6.1.0-28-amd64/kernel").mkdir(parents=True)
    (root / "lib/modules/6.1.0-28-amd64/kernel/x.ko").write_bytes(b"module")
    return tmp_path / "p/profile.toml"
