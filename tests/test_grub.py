"""GRUB: genman's menu and hook (golden, and accepted by the real grub-script-check),
kernels from the store or copied to /boot/genman, UUIDs, grubenv default and boot-once."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from genman.bootloader import execute_boot, grub, plan_boot
from genman.bootloader import plan_boot as plan_with_probe
from genman.bootloader.model import BootEntry
from genman.bootloader.probe import Mount, Probe
from genman.context import Options
from tests.bootsandbox import Sandbox, grub_opts

GOLDEN = Path(__file__).parent / "golden"
UUID = "0b9a3c1e-5d4f-4e2a-9c8b-7a6f5e4d3c2b"


@pytest.fixture
def sandbox(tmp_path: Path, root: Path, genman: Callable[..., object]) -> Sandbox:
    return Sandbox(tmp_path, root, genman)


def grub_script_check(path: Path) -> None:
    if shutil.which("grub-script-check") is None:
        pytest.fail("grub-script-check is missing: apt install grub-common")
    r = subprocess.run(["grub-script-check", str(path)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def entry(n: int, uuid: str | None) -> BootEntry:
    return BootEntry(
        number=n,
        title=f"fra1 generation {n}: Bob's router (2024-05-0{n}, Linux 6.1.0-28-amd64)",
        version=f"{n} 2024-05-0{n} 6.1.0-28-amd64",
        linux="/var/lib/genman/store/0123456789abcdef0123456789abcdef-vmlinuz-6.1.0-28-amd64",
        initrd="/var/lib/genman/store/fedcba9876543210fedcba9876543210-initrd.img-6.1.0-28-amd64",
        params=("console=ttyS0", "quiet", "foo=a;b", "bar=$x",
                "init=/var/lib/genman/store/00112233445566778899aabbccddeeff-genman-fra1/init",
                f"genman.generation={n}"),
        fs_uuid=uuid,
        modules=("ext2",),
    )


@pytest.mark.parametrize(("name", "uuid"), [("grub-menu.cfg", UUID),
                                            ("grub-menu-search-file.cfg", None)])
def test_menu_matches_golden_and_passes_grub_script_check(name: str, uuid: str | None,
                                                          tmp_path: Path) -> None:
    text = grub.render_menu(entry(3, uuid), [entry(2, uuid), entry(1, uuid)], "fra1")
    assert text == (GOLDEN / name).read_text()
    out = tmp_path / name
    out.write_text(text)
    grub_script_check(out)
    assert grub.entry_numbers(text) == {1, 2, 3}
    assert grub.top_number(text) == 3
    assert grub.entry_id(text, 3) == "genman-3"
    assert grub.entry_id(text, 1) == "genman-older>genman-1"


def test_menu_with_one_generation_has_no_submenu(tmp_path: Path) -> None:
    text = grub.render_menu(entry(1, UUID), [], "fra1")
    assert "submenu" not in text
    (tmp_path / "m.cfg").write_text(text)
    grub_script_check(tmp_path / "m.cfg")


def test_hook_matches_golden_and_its_output_passes_grub_script_check(tmp_path: Path) -> None:
    hook = grub.render_hook()
    assert hook == (GOLDEN / "09_genman").read_text()
    script = tmp_path / "09_genman"
    script.write_text(hook)
    # A fake grub-probe: the hook runs as update-grub would run it.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "grub-probe").write_text(f"#!/bin/sh\necho {UUID}\n")
    (fake / "grub-probe").chmod(0o755)
    r = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True,
                       env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert 'source "${genman_dir}/grub.cfg"' in r.stdout
    (tmp_path / "out.cfg").write_text(r.stdout)
    grub_script_check(tmp_path / "out.cfg")


def test_sandbox_copies_kernels_to_boot_genman_once(sandbox: Sandbox) -> None:
    numbers = sandbox.build_many(4)
    opts = grub_opts(sandbox)
    sandbox.set_link("default", 2)
    execute_boot(opts, plan_boot(opts, default=2, retained=numbers))
    mdir = sandbox.root / "boot/genman"
    assert len([n for n in os.listdir(mdir) if n != "grub.cfg"]) == 2
    menu = (mdir / "grub.cfg").read_text()
    assert grub.top_number(menu) == 2
    assert grub.entry_numbers(menu) == {1, 2, 3, 4}
    assert "search --no-floppy --file --set=root /boot/genman/" in menu
    assert "linux /boot/genman/" in menu and "genman.generation=4" in menu
    grub_script_check(mdir / "grub.cfg")
    r = sandbox.genman("--root", sandbox.root, "--bootloader", "grub", "list-generations",
                       "--json")
    assert r.code == 0  # type: ignore[attr-defined]
    assert '"boot_entry": true' in r.out  # type: ignore[attr-defined]


class FakeProbe(Probe):
    """Mounts and UUIDs as a real system would report them."""

    def __init__(self, opts: Options, mounts: list[Mount], uuids: dict[str, str]) -> None:
        super().__init__(opts, mounts)
        self.uuids = uuids

    def _uuid(self, m: Mount) -> str | None:
        return self.uuids.get(m.dev)

    def _is_layered(self, dev: str) -> bool:
        return dev == "254:0"


def test_kernels_from_the_store_when_grub_reads_it(sandbox: Sandbox) -> None:
    sandbox.build_many(2)
    opts = grub_opts(sandbox)
    probe = FakeProbe(opts, [Mount(sandbox.root, "ext4", "/dev/vda2", "252:2")],
                      {"252:2": UUID})
    plan = plan_with_probe(opts, default=2, retained=[1, 2], probe=probe)
    assert not [a for a in plan.actions if type(a).__name__ == "CopyFile"]
    execute_boot(opts, plan)
    menu = (sandbox.root / "boot/genman/grub.cfg").read_text()
    assert f"search --no-floppy --fs-uuid --set=root {UUID}" in menu
    assert "linux /var/lib/genman/store/" in menu


def test_separate_boot_and_encrypted_root_copy_with_paths_relative_to_boot(
        sandbox: Sandbox) -> None:
    sandbox.build_many(1)
    opts = grub_opts(sandbox)
    boot_uuid = "1111-2222"
    probe = FakeProbe(opts, [Mount(sandbox.root, "ext4", "/dev/mapper/root", "254:0"),
                             Mount(sandbox.root / "boot", "ext4", "/dev/vda1", "252:1")],
                      {"254:0": UUID, "252:1": boot_uuid})
    plan = plan_with_probe(opts, default=1, retained=[1], probe=probe)
    assert sum(type(a).__name__ == "CopyFile" for a in plan.actions) == 2
    execute_boot(opts, plan)
    menu = (sandbox.root / "boot/genman/grub.cfg").read_text()
    assert f"--fs-uuid --set=root {boot_uuid}" in menu
    assert "linux /genman/" in menu and "initrd /genman/" in menu


def test_grubenv_saved_entry_is_the_default(sandbox: Sandbox) -> None:
    sandbox.build_many(3)
    opts = grub_opts(sandbox)
    env = sandbox.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    subprocess.run(["grub-editenv", str(env), "set", "mine=kept"], check=True)
    execute_boot(opts, plan_boot(opts, default=2, retained=[1, 2, 3]))
    assert env.stat().st_size == 1024
    listed = subprocess.run(["grub-editenv", str(env), "list"], capture_output=True,
                            text=True, check=True).stdout
    assert listed.splitlines() == ["mine=kept", "saved_entry=genman-2"]


def test_boot_once_sets_next_entry_with_the_submenu_path(sandbox: Sandbox) -> None:
    sandbox.build_many(3)
    opts = grub_opts(sandbox)
    sandbox.set_link("default", 3)
    execute_boot(opts, plan_boot(opts, default=3, retained=[1, 2, 3]))
    env = sandbox.root / "boot/grub/grubenv"
    for n, want in ((1, "genman-older>genman-1"), (3, "genman-3")):
        r = sandbox.genman("--root", sandbox.root, "--bootloader", "grub", "boot-once", str(n))
        assert r.code == 0, r.err  # type: ignore[attr-defined]
        listed = subprocess.run(["grub-editenv", str(env), "list"], capture_output=True,
                                text=True, check=True).stdout
        assert f"next_entry={want}" in listed.splitlines()
    r = sandbox.genman("--root", sandbox.root, "--bootloader", "grub", "boot-once", "9")
    assert r.code == 1 and "generation 9" in r.err  # type: ignore[attr-defined]


def test_bootloader_install_writes_the_hook_once(sandbox: Sandbox) -> None:
    sandbox.build_many(2)
    sandbox.set_link("default", 2)
    args = ("--root", sandbox.root, "--bootloader", "grub", "bootloader", "install")
    r = sandbox.genman(*args)
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    hook = sandbox.root / "etc/grub.d/09_genman"
    assert hook.read_text() == grub.render_hook() and os.access(hook, os.X_OK)
    assert "update-grub" in r.out  # type: ignore[attr-defined]  # told to run it in the target
    assert (sandbox.root / "boot/genman/grub.cfg").is_file()
    r = sandbox.genman(*args)
    assert "09_genman" not in r.out  # type: ignore[attr-defined]  # nothing left to do
