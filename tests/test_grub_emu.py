"""GRUB's boot counting run by GRUB itself: grub-emu (Debian's GRUB 2.06 as a program)
executes genman's menu from a small ext2 image, so load_env/save_env, the countdown chain
and the default it picks are the real GRUB's. Each run is one boot: the entry GRUB
starts prints "Loading generation N ...", and `linux` (no such command in grub-emu) is
defined as a function that stops the emulator there. grubenv is read back from the
image with debugfs."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bootsandbox import Sandbox
from tests.conftest import Run
from tests.test_health_counting import profile, states

Genman = Callable[..., Run]
EMU_MODULES = Path("/usr/lib/grub/x86_64-emu")

# What grub-mkconfig's 00_header writes with GRUB_DEFAULT=saved (Debian's), then the
# hook's job (09_genman): genman's menu sourced from the boot file system.
WRAPPER = """\
insmod loadenv
insmod ext2
insmod test
insmod echo
insmod halt
insmod search
insmod part_gpt
insmod part_msdos
function linux {
  echo "LINUX $@"
  halt
}
set prefix=(hd0)/grub
if [ -s $prefix/grubenv ]; then
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="${saved_entry}"
fi
set timeout=0
source (hd0)/genman/grub.cfg
"""


def _tools() -> None:
    for tool in ("grub-emu", "mke2fs", "debugfs", "grub-editenv"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: tools/bootstrap.sh --test installs it "
                        "(tools/apt-packages.txt)")
    if not (EMU_MODULES / "loadenv.mod").is_file():
        pytest.fail(f"{EMU_MODULES} has no GRUB modules: apt install grub-emu")


class Emu:
    """An ext2 image holding /grub/grubenv and /genman/grub.cfg, booted by grub-emu."""

    def __init__(self, tmp: Path, root: Path) -> None:
        _tools()
        self.dir = tmp / "emu"
        src = self.dir / "src"
        (src / "grub").mkdir(parents=True)
        (src / "genman").mkdir()
        shutil.copy(root / "boot/grub/grubenv", src / "grub/grubenv")
        shutil.copy(root / "boot/genman/grub.cfg", src / "genman/grub.cfg")
        self.image = self.dir / "disk.img"
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", str(src), str(self.image),
                        "4M"], check=True, capture_output=True)
        (self.dir / "device.map").write_text(f"(hd0) {self.image}\n")
        (self.dir / "x86_64-emu").symlink_to(EMU_MODULES)
        (self.dir / "grub.cfg").write_text(WRAPPER)

    def boot(self) -> int:
        """One boot: the generation whose entry GRUB started."""
        r = subprocess.run(["grub-emu", "-d", str(self.dir), "-m", str(self.dir / "device.map"),
                            "-r", "host"], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, check=False)
        out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", r.stdout.decode(errors="replace"))
        started = re.findall(r"Loading generation ([0-9]+) \.\.\.", out)
        assert len(started) == 1 and "LINUX " in out, f"grub-emu booted nothing:\n{out}"
        return int(started[0])

    def env(self) -> dict[str, str]:
        text = subprocess.run(["debugfs", "-R", "cat /grub/grubenv", str(self.image)],
                              capture_output=True, text=True, check=True).stdout
        return dict(line.split("=", 1) for line in text.splitlines()
                    if "=" in line and not line.startswith("#"))

    def set_env(self, **values: str) -> None:
        """What `grub-reboot` would do to the image's grubenv."""
        env = self.dir / "grubenv"
        subprocess.run(["debugfs", "-R", f"dump /grub/grubenv {env}", str(self.image)],
                       capture_output=True, check=True)
        subprocess.run(["grub-editenv", str(env), "set",
                        *(f"{k}={v}" for k, v in values.items())], check=True)
        subprocess.run(["debugfs", "-w", "-R", f"write {env} /grub/grubenv.new",
                        str(self.image)], capture_output=True, check=True)
        for cmd in ("rm /grub/grubenv", "ln /grub/grubenv.new /grub/grubenv",
                    "unlink /grub/grubenv.new"):
            subprocess.run(["debugfs", "-w", "-R", cmd, str(self.image)],
                           capture_output=True, check=True)


@pytest.fixture
def sb(tmp_path: Path, root: Path, genman: Genman) -> Sandbox:
    return Sandbox(tmp_path, root, genman)


def _two_generations(sb: Sandbox, genman: Genman, second_check: str) -> tuple[object, ...]:
    g = ("--root", sb.root, "--bootloader", "grub")
    env = sb.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    assert genman(*g, "health", "--install-marker", "--init-system", "systemd").code == 0
    assert genman(*g, "switch", profile(sb, "one")).code == 0
    sb.set_link("booted", 1)
    assert genman(*g, "boot-mark").code == 0  # 1 is good (no loader ran: counted by hand)
    assert genman(*g, "switch", profile(sb, "two", second_check)).code == 0
    return g


def mark_boot(sb: Sandbox, emu: Emu, genman: Genman, g: tuple[object, ...], booted: int) -> None:
    """Generation `booted` came up: GRUB's grubenv (as it wrote it in the image) back in
    the sandbox, and genman's boot-time marker runs."""
    subprocess.run(["debugfs", "-R", f"dump /grub/grubenv {sb.root / 'boot/grub/grubenv'}",
                    str(emu.image)], capture_output=True, check=True)
    sb.set_link("booted", booted)
    assert genman(*g, "boot-mark").code == 0


def test_grub_counts_an_unblessed_default_down_then_boots_the_last_good_one(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    """A generation that never reaches userspace: nothing but GRUB acts."""
    g = _two_generations(sb, genman, "true")
    emu = Emu(tmp_path, sb.root)
    assert emu.env()["genman_trying"] == "2" and emu.env()["genman_good"] == "1"
    for left in (2, 1, 0):
        assert emu.boot() == 2
        assert emu.env()["genman_tries_left"] == str(left)
    # Out of tries: the last good generation, and the count stays at 0.
    for _ in range(2):
        assert emu.boot() == 1
        assert emu.env()["genman_tries_left"] == "0"
    # That boot's marker records the fallback.
    mark_boot(sb, emu, genman, g, 1)
    assert states(genman, *g)[1][:2] == (2, "failed")
    # genman's new menu and grubenv: 1 boots, nothing is counted any more.
    emu = Emu(tmp_path / "after", sb.root)
    assert "genman_trying" not in emu.env()
    assert emu.boot() == 1 and emu.boot() == 1


def test_grub_does_not_count_a_blessed_default_or_a_boot_once(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    g = _two_generations(sb, genman, "true")
    emu = Emu(tmp_path, sb.root)
    # A boot-once of generation 1 (grub-reboot's next_entry) is not counted.
    emu.set_env(next_entry="genman-older>genman-1")
    assert emu.boot() == 1
    assert emu.env()["genman_tries_left"] == "3" and emu.env().get("next_entry", "") == ""
    assert emu.boot() == 2
    assert emu.env()["genman_tries_left"] == "2"
    # Blessed by the marker: GRUB boots it and counts nothing.
    mark_boot(sb, emu, genman, g, 2)
    emu = Emu(tmp_path / "blessed", sb.root)
    assert "genman_trying" not in emu.env() and emu.env()["genman_good"] == "2"
    for _ in range(2):
        assert emu.boot() == 2
    assert "genman_tries_left" not in emu.env()
