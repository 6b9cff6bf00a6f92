"""A generation's `init` and `activate` (POSIX sh) run under busybox sh in a sandbox root:
the same /etc as the Python activation, older generations bootable from the menu without
touching the default, and an interrupted switch left consistent.

The scripts take their root from GENMAN_INIT_ROOT (init, ignored as PID 1) or --root
(activate); the real boot path uses /."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genman import generation
from genman.layout import Layout
from genman.ledger import Ledger
from tests.helpers import (
    REPO,
    check_generation,
    env,
    genman_cmd,
    make_root,
    snapshot,
    write_profiles,
)

BUSYBOX = shutil.which("busybox")


@pytest.fixture(autouse=True)
def _busybox() -> None:
    if BUSYBOX is None:
        pytest.fail("busybox is not installed: tools/bootstrap.sh --test installs it")


def toplevel_host(root: Path, number: int) -> Path:
    return root / "var/lib/genman/store" / generation.toplevel_of(Layout.for_root(root), number)


def boot(root: Path, number: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Run generation `number`'s init as the kernel would, with genman.generation=N."""
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/cmdline").write_text(
        f"root=/dev/vda1 ro init=/var/lib/genman/generations/{number}/init "
        f"genman.generation={number} quiet\n")
    assert BUSYBOX is not None
    env = {**os.environ, "GENMAN_INIT_ROOT": str(root)}
    return subprocess.run([BUSYBOX, "sh", str(toplevel_host(root, number) / "init"), *args],
                          env=env, capture_output=True, text=True, check=False, timeout=60)


def activate(root: Path, number: int) -> subprocess.CompletedProcess[str]:
    assert BUSYBOX is not None
    return subprocess.run([BUSYBOX, "sh", str(toplevel_host(root, number) / "activate"),
                           "--root", str(root)], capture_output=True, text=True, check=False,
                          timeout=60)


@pytest.fixture
def real_init(tmp_path: Path) -> Any:
    def install(root: Path) -> Path:
        marker = root / "real-init-ran"
        (root / "sbin").mkdir(exist_ok=True)
        (root / "sbin/init").write_text(f'#!/bin/sh\necho "$0 $*" > "{marker}"\n')
        (root / "sbin/init").chmod(0o755)
        return marker
    return install


def etc_and_active(root: Path) -> dict[str, Any]:
    return {k: v for k, v in snapshot(root).items() if not k.startswith("var/")}


def test_busybox_activate_matches_python_activation(tmp_path: Path, genman: Any) -> None:
    py = make_root(tmp_path / "py")
    sh = make_root(tmp_path / "sh")
    profiles = write_profiles(tmp_path)
    for n in (1, 2, 3, 1, 3):
        if n not in generation.generation_numbers(Layout.for_root(sh)):
            assert genman("--root", sh, "build", profiles[n]).code == 0
            assert genman("--root", py, "switch", profiles[n]).code == 0
        else:
            assert genman("--root", py, "switch-generation", str(n)).code == 0
        r = activate(sh, n)
        assert r.returncode == 0, r.stderr
        check_generation(sh, n)
        assert etc_and_active(sh) == etc_and_active(py)
        # The ledger is byte for byte what Python writes.
        assert (sh / "etc/genman/ledger.json").read_bytes() == \
            (py / "etc/genman/ledger.json").read_bytes()


def test_init_activates_records_and_execs_real_init(
    tmp_path: Path, genman: Any, real_init: Any
) -> None:
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    marker = real_init(root)
    assert genman("--root", root, "boot", profiles[1]).code == 0
    assert not (root / "etc/motd").exists()  # `boot` activates nothing now
    r = boot(root, 1, "single")
    assert r.returncode == 0, r.stderr
    check_generation(root, 1)
    assert os.readlink(root / "run/genman/booted") == "/var/lib/genman/generations/1"
    assert marker.read_text().strip() == f"{root}/sbin/init single"


def test_booting_an_older_generation_brings_back_its_etc_not_the_default(
    tmp_path: Path, genman: Any, real_init: Any
) -> None:
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    real_init(root)
    for n in (1, 2, 3):
        assert genman("--root", root, "switch", profiles[n]).code == 0
    r = boot(root, 1)
    assert r.returncode == 0, r.stderr
    check_generation(root, 1)
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/3"
    st = genman("--root", root, "status")
    assert "booted:  1" in st.out and "default: 3" in st.out
    assert "booted generation 1 is not the default (3)" in st.err
    # and genman carries on from there
    assert genman("--root", root, "switch-generation", "3").code == 0
    check_generation(root, 3)


def test_unmanaged_file_in_the_way_at_boot_is_moved_aside(
    tmp_path: Path, genman: Any, real_init: Any
) -> None:
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    real_init(root)
    assert genman("--root", root, "boot", profiles[1]).code == 0
    (root / "etc/motd").write_text("mine\n")
    assert boot(root, 1).returncode == 0
    check_generation(root, 1)
    backups = list((root / "etc").glob("motd.genman-backup-*"))
    assert [b.read_text() for b in backups] == ["mine\n"]


def test_booting_the_live_generation_again_checks_and_rewrites_only_copies(
    tmp_path: Path, genman: Any, real_init: Any
) -> None:
    """The common boot: the generation whose /etc is live boots again. Nothing is written
    but its copies (the ledger keeps its inode), and what a hand changed is put right: an
    edited copy in place, a removed link or a link pointed elsewhere the full way."""
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    real_init(root)
    assert genman("--root", root, "switch", profiles[1]).code == 0
    ledger = root / "etc/genman/ledger.json"
    inode = ledger.stat().st_ino
    assert boot(root, 1).returncode == 0
    check_generation(root, 1)
    assert ledger.stat().st_ino == inode
    assert os.readlink(root / "run/genman/booted") == "/var/lib/genman/generations/1"
    (root / "etc/secret.conf").write_text("edited by hand\n")
    assert boot(root, 1).returncode == 0
    check_generation(root, 1)
    assert ledger.stat().st_ino == inode
    for change in ("unlink", "relink"):
        (root / "etc/motd").unlink()
        if change == "relink":
            (root / "etc/motd").symlink_to("/etc/static/web.conf")
        assert boot(root, 1).returncode == 0
        check_generation(root, 1)
        assert ledger.stat().st_ino != inode
        inode = ledger.stat().st_ino


def test_init_after_an_interrupted_switch(tmp_path: Path, genman: Any, real_init: Any) -> None:
    """Power lost mid-switch, then the machine boots generation 2 from the menu: init makes
    2's /etc live from the grown ledger; the next genman run (another boot id) keeps it and
    only puts the default back."""
    import json
    import signal

    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    real_init(root)
    assert genman("--root", root, "switch", profiles[1]).code == 0
    r = subprocess.run(genman_cmd(root, "switch", profiles[2]),
                       env=env(GENMAN_TEST_CRASH_AFTER="6"), cwd=REPO, capture_output=True,
                       text=True, check=False)
    assert r.returncode == -signal.SIGKILL, r.stderr
    journal = root / "var/lib/genman/journal.json"
    assert journal.exists()
    # The grown ledger already names 2's toplevel but still holds 1's files: not in place.
    grown = Ledger.parse((root / "etc/genman/ledger.json").read_text())
    assert grown.toplevel == f"/var/lib/genman/store/{toplevel_host(root, 2).name}"
    assert "d1/d2/f1" in grown.files
    r2 = boot(root, 2)
    assert r2.returncode == 0, r2.stderr
    check_generation(root, 2)
    # the reboot: another boot id
    j = json.loads(journal.read_text())
    j["boot_id"] = "another-boot"
    journal.write_text(json.dumps(j))
    r3 = genman("--root", root, "switch-generation", "2")
    assert r3.code == 0, r3.err
    check_generation(root, 2)
    assert not journal.exists()


def test_rendered_scripts_pass_shellcheck(tmp_path: Path, genman: Any) -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed: tools/bootstrap.sh --test installs it")
    root = make_root(tmp_path)
    profiles = write_profiles(tmp_path)
    assert genman("--root", root, "build", profiles[1]).code == 0
    top = toplevel_host(root, 1)
    r = subprocess.run(["shellcheck", "--shell=sh", "--severity=warning",
                        str(top / "init"), str(top / "activate")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout


# A mount unit for /srv/foo-bar and a swap on a disk label, as systemd-escape names them,
# with a drop-in directory and a copy (mode) among them: TOML's "\\x2d" is the file name's
# \x2d.
ESCAPED_UNITS = """
[system]
hostname = "sandbox"
[etc."systemd/system/srv-foo\\\\x2dbar.mount"]
text = "[Mount]\\nWhat=/dev/vdb\\nWhere=/srv/foo-bar\\n"
[etc."systemd/system/srv-foo\\\\x2dbar.mount.d/10-opts.conf"]
text = "[Mount]\\nOptions=ro\\n"
[etc."systemd/system/dev-disk-by\\\\x2dlabel-x.swap"]
text = "[Swap]\\nWhat=/dev/disk/by-label/x\\n"
mode = "0600"
[etc."motd"]
text = "escaped\\n"
"""


@pytest.mark.parametrize("shell", ["busybox", "dash"])
def test_activate_with_escaped_unit_names_matches_python(tmp_path: Path, genman: Any,
                                                         shell: str) -> None:
    """Unit names with systemd escapes go through the ledger (JSON: the backslash doubled)
    and the sh script the same way as through Python, in and out again."""
    sh_bin = shutil.which(shell)
    if sh_bin is None:
        pytest.fail(f"{shell} is not installed: tools/bootstrap.sh --test installs it")
    py = make_root(tmp_path / "py")
    sh = make_root(tmp_path / "sh")
    profiles = write_profiles(tmp_path)
    escaped = tmp_path / "profiles/escaped.toml"
    escaped.write_text(ESCAPED_UNITS)
    mount = "etc/systemd/system/srv-foo\\x2dbar.mount"
    for step, (profile, n) in enumerate([(profiles[1], 1), (escaped, 2), (profiles[1], 1)]):
        if step < 2:
            assert genman("--root", sh, "build", profile).code == 0
            r = genman("--root", py, "switch", profile)
        else:
            r = genman("--root", py, "switch-generation", str(n))
        assert r.code == 0, r.err
        argv = [sh_bin, "sh"] if shell == "busybox" else [sh_bin]
        a = subprocess.run([*argv, str(toplevel_host(sh, n) / "activate"), "--root", str(sh)],
                           capture_output=True, text=True, check=False, timeout=60)
        assert a.returncode == 0, a.stderr
        check_generation(sh, n)
        assert etc_and_active(sh) == etc_and_active(py)
        assert (sh / "etc/genman/ledger.json").read_bytes() == \
            (py / "etc/genman/ledger.json").read_bytes()
        if n == 2:
            assert os.readlink(sh / mount) == "/etc/static/systemd/system/srv-foo\\x2dbar.mount"
            assert os.readlink(sh / f"{mount}.d/10-opts.conf") == \
                "/etc/static/systemd/system/srv-foo\\x2dbar.mount.d/10-opts.conf"
            assert '"systemd/system/srv-foo\\\\x2dbar.mount"' in \
                (sh / "etc/genman/ledger.json").read_text()
    # back on generation 1: the escaped files and the drop-in directory genman made are gone
    assert not (sh / mount).is_symlink() and not (sh / f"{mount}.d").exists()
    assert not (sh / "etc/systemd/system/dev-disk-by\\x2dlabel-x.swap").exists()
