"""genman in the guests as a user gets it: the .deb built from this checkout (tools/build-deb),
installed into each image's tree with `apt-get install ./genman_*.deb`, so the guests run
/usr/bin/genman from Debian's python3 with Debian's own click, jinja2, psutil, pyudev
and yaml, and dpkg knows genman (its kernel hooks run when a guest's apt installs or
removes a kernel).

The .deb is built once per change of what goes into it and cached beside the trees
(cache.py): ~5 s to build, ~5 s to install per image.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from .cache import build_once, log
from .trees import INITRD_HOOK_FILES, REPO, chroot

# What git knows but the package never holds: editing a test does not rebuild the .deb.
NOT_PACKAGED = ("tests/", "vm-tests/", "bench/")
GUEST_GENMAN = "/usr/bin/genman"


def package_inputs() -> str:
    """Content hash of the files tools/build-deb copies (every file git knows, committed
    or not, nothing ignored) that can end up in the package, modes included."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    h = hashlib.sha256()
    for rel in sorted(set(listed.decode().split("\0"))):
        path = REPO / rel
        if not rel or rel.startswith(NOT_PACKAGED) or not path.is_file():
            continue  # deleted but still in the index, or a submodule
        h.update(f"{rel}\0{os.access(path, os.X_OK)}\0".encode())
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.cache
def genman_deb() -> Path:
    """The .deb of this checkout; built at most once per test session (and per content)."""

    def build(tmp: Path) -> None:
        res = subprocess.run(
            ["sh", str(REPO / "tools/build-deb"), str(tmp)],
            cwd=REPO,
            env={**os.environ, "TMPDIR": str(tmp)},
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(f"tools/build-deb failed ({res.returncode}):\n{res.stderr}")

    debs = sorted(build_once(f"deb-{package_inputs()}", build).glob("genman_*.deb"))
    if len(debs) != 1:
        raise RuntimeError(f"expected one genman_*.deb from tools/build-deb, found {debs}")
    return debs[0]


def _hook_digests(tree: Path) -> dict[str, str]:
    return {
        dest: hashlib.sha256((tree / dest).read_bytes()).hexdigest()
        if (tree / dest).is_file()
        else ""
        for dest, _ in INITRD_HOOK_FILES.values()
    }


def install_genman(tree: Path) -> None:
    """`apt-get install` of the .deb in the tree (chroot; no network: the base tree has
    every dependency). The base tree's initrds were made with genman's hook at the
    packaged paths; the package's trigger (update-initramfs -u) would make the newest one
    again, the same, for 20-40 s per image, so update-initramfs is held off during the
    install, and only if the packaged hook files differ from the base tree's are the
    initrds rebuilt."""
    deb = genman_deb()
    started = time.monotonic()
    before = _hook_digests(tree)
    staged = tree / "tmp" / deb.name
    shutil.copyfile(deb, staged)
    conf = tree / "etc/initramfs-tools/update-initramfs.conf"
    saved = conf.read_bytes()
    # update-initramfs sources this file: the last assignment wins.
    conf.write_bytes(saved + b"\nupdate_initramfs=no\n")
    try:
        out = chroot(
            tree, "apt-get", "install", "-y", "--no-install-recommends", f"/tmp/{deb.name}"
        )
    finally:
        conf.write_bytes(saved)
        staged.unlink()
    if "Setting up genman " not in out:
        raise RuntimeError(f"apt-get install of {deb.name} did not set up genman:\n{out}")
    if _hook_digests(tree) != before:
        log(f"{tree}: the packaged initramfs hook differs from the base tree's: update-initramfs")
        chroot(tree, "update-initramfs", "-u", "-k", "all")
    # apt's package cache, made here natively: the guest's apt-get (under TCG) reuses it.
    chroot(tree, "apt-cache", "gencaches")
    version = chroot(tree, GUEST_GENMAN, "--version").strip()
    log(f"{tree}: {version} installed from {deb.name} in {time.monotonic() - started:.1f}s")
