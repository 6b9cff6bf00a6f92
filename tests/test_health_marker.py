"""Boot-time scripts of genman.health under both dash and busybox sh: the marker (what it
does with each answer of `genman boot-mark`) and the watchdog a generation's init starts
(a boot not marked good in time reboots; a good one does not)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest

from genman.health.config import HealthConfig
from genman.manifest import Manifest

SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}


def shell(name: str) -> list[str]:
    argv = SHELLS[name]
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed (tools/apt-packages.txt)")
    return argv


def fake(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("sh", sorted(SHELLS))
@pytest.mark.parametrize(("rc", "good", "rebooted"), [(0, True, False), (5, False, True),
                                                      (3, True, False)])
def test_marker_acts_on_boot_marks_answer(sh: str, rc: int, good: bool, rebooted: bool,
                                          tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    args = tmp_path / "args"
    genman = fake(tmp_path / "genman", f'echo "$*" > {args}\nexit {rc}')
    reboot = fake(tmp_path / "reboot", f": > {tmp_path}/rebooted")
    script = resources.files("genman.health.marker").joinpath("genman-boot-mark")
    r = subprocess.run([*shell(sh), str(script)], capture_output=True, text=True, check=False,
                       env={**os.environ, "GENMAN_MARK_ROOT": str(root), "GENMAN": str(genman),
                            "GENMAN_REBOOT": str(reboot)}, timeout=30)
    assert r.returncode == 0, r.stderr
    assert args.read_text() == f"--root {root} boot-mark\n"
    assert (root / "run/genman/boot-good").exists() is good
    assert (tmp_path / "rebooted").exists() is rebooted


def _init(tmp_path: Path, timeout: float) -> tuple[Path, Path]:
    from genman import bootscripts

    root = tmp_path / "root"
    (root / "sbin").mkdir(parents=True)
    fake(root / "sbin/init", "exit 0")
    gen = tmp_path / "gen"
    gen.mkdir()
    fake(gen / "activate", "exit 0")
    m = Manifest("h", "d", "/sbin/init", None, health=HealthConfig(boot_timeout=timeout))
    init = gen / "init"
    init.write_text(bootscripts.render(m)["init"])
    return root, init


def _wait_for(path: Path, limit: float = 30.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.1)
    return path.exists()


@pytest.mark.parametrize("sh", sorted(SHELLS))
def test_init_watchdog_reboots_a_boot_not_marked_good(sh: str, tmp_path: Path) -> None:
    root, init = _init(tmp_path, 1)
    reboot = fake(tmp_path / "reboot", f": > {tmp_path}/rebooted")
    r = subprocess.run([*shell(sh), str(init)], capture_output=True, text=True, check=False,
                       env={**os.environ, "GENMAN_INIT_ROOT": str(root),
                            "GENMAN_REBOOT": str(reboot)}, timeout=30)
    assert r.returncode == 0, r.stderr  # the real init ran; the watchdog runs on
    assert _wait_for(tmp_path / "rebooted")


@pytest.mark.parametrize("sh", sorted(SHELLS))
def test_init_watchdog_leaves_a_good_boot_alone(sh: str, tmp_path: Path) -> None:
    root, init = _init(tmp_path, 2)
    reboot = fake(tmp_path / "reboot", f": > {tmp_path}/rebooted")
    # The marker's job, done as soon as the real init runs.
    fake(root / "sbin/init", f"mkdir -p {root}/run/genman; : > {root}/run/genman/boot-good")
    done = fake(tmp_path / "done", f": > {tmp_path}/watchdog-over")
    subprocess.run([*shell(sh), str(init)], capture_output=True, text=True, check=True,
                   env={**os.environ, "GENMAN_INIT_ROOT": str(root),
                        "GENMAN_REBOOT": str(reboot)}, timeout=30)
    # Past the 2 s limit, plus a margin: no reboot happened.
    subprocess.run([*shell(sh), "-c", f"sleep 4; {done}"], check=True, timeout=30)
    assert (tmp_path / "watchdog-over").exists()
    assert not (tmp_path / "rebooted").exists()


def test_no_watchdog_without_health(tmp_path: Path) -> None:
    from genman import bootscripts

    text = bootscripts.render(Manifest("h", "d", None, None))["init"]
    assert "boot-good" not in text and "watchdog" not in text


@pytest.mark.parametrize("sh", sorted(SHELLS))
def test_marker_passes_the_options_given_at_install(sh: str, tmp_path: Path) -> None:
    from genman.health import install
    from genman.layout import Layout
    from genman.services import InitSystem

    root = tmp_path / "root"
    root.mkdir()
    install.install(Layout.for_root(root), InitSystem.SYSTEMD,
                    ["--bootloader", "systemd-boot", "--esp", "/boot/efi"])
    args = tmp_path / "args"
    genman = fake(tmp_path / "genman", f'echo "$*" > {args}')
    subprocess.run([*shell(sh), str(root / "usr/lib/genman/genman-boot-mark")], check=True,
                   env={**os.environ, "GENMAN_MARK_ROOT": str(root), "GENMAN": str(genman)},
                   capture_output=True, timeout=30)
    assert args.read_text() == \
        f"--root {root} --bootloader systemd-boot --esp /boot/efi boot-mark\n"
