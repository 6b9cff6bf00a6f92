"""Sandbox helpers the test modules share: a target root with unmanaged files, three
profiles, snapshots of /etc, a check that /etc is exactly one generation, and how to run
genman as a separate process (for the crash hook)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from genman import generation
from genman.execute import CRASH_ENV
from genman.layout import Layout
from genman.ledger import Ledger
from genman.profile import resolve_in_root

UNMANAGED = {
    "hostname": b"sandbox\n",
    "app/local.conf": b"# the admin's own file\n",
    "profile.d/other.sh": b"export X=1\n",
}

PROFILES: dict[int, str] = {
    1: """
[system]
hostname = "sandbox"
description = "first"
[etc."motd"]
text = "one {{ system.hostname }}\\n"
[etc."app/app.conf"]
text = "threads = 1\\n"
[etc."secret.conf"]
text = "token = 1\\n"
mode = "0600"
[etc."d1/d2/f1"]
text = "deep\\n"
[etc."web.conf"]
text = "port = 80\\n"
[services.app]
unit = "app"
restart_triggers = ["app/app.conf"]
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
""",
    2: """
[system]
hostname = "sandbox"
description = "second"
[etc."motd"]
text = "two {{ system.hostname }}\\n"
[etc."app/app.conf"]
text = "threads = 1\\n"
[etc."secret.conf"]
text = "token = 2\\n"
mode = "0640"
[etc."new/x"]
text = "x\\n"
[etc."web.conf"]
text = "port = 8080\\n"
[services.app]
unit = "app"
restart_triggers = ["app/app.conf"]
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
""",
    3: """
[system]
hostname = "sandbox"
description = "third"
[etc."motd"]
text = "three\\n"
[etc."web.conf"]
text = "port = 8080\\n"
[etc."d1/other"]
text = "again\\n"
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
[services.api]
unit_file = "api.service"
""",
}


def make_root(base: Path) -> Path:
    r = base / "root"
    (r / "etc/genman").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\n")
    for p, data in UNMANAGED.items():
        (r / "etc" / p).parent.mkdir(parents=True, exist_ok=True)
        (r / "etc" / p).write_bytes(data)
    return r


def write_profiles(base: Path) -> dict[int, Path]:
    d = base / "profiles"
    d.mkdir(exist_ok=True)
    (d / "api.service").write_text("[Service]\nExecStart=/bin/true\n")
    out = {}
    for n, text in PROFILES.items():
        out[n] = d / f"p{n}.toml"
        out[n].write_text(text)
    return out


def snapshot(root: Path) -> dict[str, Any]:
    """/etc (type, link target, content hash, mode) and the state links."""
    snap: dict[str, Any] = {}
    etc = root / "etc"
    for dirpath, dirnames, filenames in os.walk(etc):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                snap[rel] = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                snap[rel] = ("d", stat.S_IMODE(st.st_mode))
            else:
                snap[rel] = ("f", stat.S_IMODE(st.st_mode),
                             hashlib.sha256(p.read_bytes()).hexdigest())
    for link in ("var/lib/genman/default", "run/genman/active"):
        snap[link] = os.readlink(root / link) if os.path.islink(root / link) else None
    return snap


def tree_hash(root: Path, skip: Callable[[str], bool] | None = None,
              mtimes: bool = True) -> str:
    """Everything under root (but the relative paths `skip` names): names, types, modes,
    owners, link targets, content, and with `mtimes` the mtimes."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if skip is not None and skip(rel):
                continue
            st = os.lstat(p)
            when = st.st_mtime_ns if mtimes else 0
            h.update(f"{rel}\0{st.st_mode}\0{st.st_uid}:{st.st_gid}\0{when}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(p.read_bytes())
    return h.hexdigest()


def check_generation(root: Path, number: int) -> None:
    """/etc is exactly generation `number`'s, and everything else in /etc is untouched."""
    layout = Layout.for_root(root)
    m = generation.manifest_of(layout, number)
    for path, entry in m.etc.items():
        host = root / "etc" / path
        want = (root / "var/lib/genman/store" / entry.store).read_bytes()
        if entry.is_copy:
            st = os.lstat(host)
            assert stat.S_ISREG(st.st_mode), path
            assert stat.S_IMODE(st.st_mode) == entry.mode, path
            assert host.read_bytes() == want, path
        else:
            real = resolve_in_root(root, PurePosixPath("/etc", path))
            assert (root / str(real).lstrip("/")).read_bytes() == want, path
            assert os.readlink(host) == f"/etc/static/{path}"
    for p, data in UNMANAGED.items():
        assert (root / "etc" / p).read_bytes() == data, p
    ledger = Ledger.parse((root / "etc/genman/ledger.json").read_text())
    assert ledger.files == set(m.etc) | {
        f"systemd/system/{s.unit if '.' in s.unit else s.unit + '.service'}"
        for s in m.services.values() if s.unit_file}
    # No stale managed link: every link into /etc/static is a path of this generation.
    for dirpath, dirnames, filenames in os.walk(root / "etc"):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink() and os.readlink(p).startswith("/etc/static/"):
                assert str(p.relative_to(root / "etc")) in m.etc, p
    toplevel = generation.toplevel_of(layout, number)
    assert os.readlink(root / "etc/static") == f"/var/lib/genman/store/{toplevel}/etc"
    assert os.readlink(root / "run/genman/active") == f"/var/lib/genman/generations/{number}"
    assert (root / "etc/profile.d/genman.sh").read_text().count("/run/genman/active/sw/bin")


REPO = Path(__file__).resolve().parent.parent


def genman_cmd(root: Path, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "genman", "--root", str(root), *map(str, args)]


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    e.update(extra)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def copy_root(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def kernel_profile(tmp: Path, n: int) -> Path:
    """Profile n: /etc/motd says n, and a kernel whose image differs per n."""
    p = tmp / f"p{n}.toml"
    image, initrd = tmp / f"vmlinuz-6.1.0-{n}-amd64", tmp / f"initrd.img-6.1.0-{n}-amd64"
    image.write_bytes(b"K" * 100 + bytes([n]))
    initrd.write_bytes(b"I" * 100)
    p.write_text(f'[system]\nhostname = "sandbox"\ndescription = "g{n}"\n'
                 f'[etc."motd"]\ntext = "{n}\\n"\n[etc."d{n}/f"]\ntext = "x\\n"\n'
                 f'[kernel]\nimage = "{image}"\ninitrd = "{initrd}"\n')
    return p


def install_systemd_boot(root: Path) -> Path:
    """A sandbox ESP at /boot/efi with systemd-boot's binary on it."""
    esp = root / "boot/efi"
    (esp / "EFI/systemd").mkdir(parents=True)
    (esp / "EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")
    return esp


def write_tree(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


# The example profile of the generation and CLI tests (the `example` fixture writes it).
PROFILE = """
[system]
hostname = "fra1"
description = "edge router"
[vars]
idx = 3
[kernel]
image = "latest"
params = ["console=ttyS0"]
[packages]
tools = "pkg"
[etc."bird/bird.conf"]
template = "bird.conf.j2"
mode = "0640"
group = "bird"
[etc.motd]
text = "hello\\n"
[etc."nginx/sites"]
source = "sites/"
[services.bird]
restart_triggers = ["bird/bird.conf"]
"""
