"""Finding the ESP, /boot and the bootloader; the --root rule (nothing outside the root is
probed); systemd-boot boot-once under --root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from genman.bootloader import entry_numbers, execute_boot, plan_boot
from genman.bootloader.model import Kind
from genman.bootloader.ops import finish_boot_once
from genman.bootloader.probe import FsInfo, Mount, Probe, detect, read_mounts
from genman.context import BootloaderChoice, Options
from genman.errors import GenmanError
from genman.layout import Layout
from tests.bootsandbox import Sandbox

MOUNTINFO = """\
22 1 252:2 / / rw,relatime shared:1 - ext4 /dev/vda2 rw
30 22 252:1 / /boot/efi rw,relatime shared:2 - vfat /dev/vda1 rw,fmask=0077
31 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw
40 22 252:2 /var/lib/genman/store /var/lib/genman/store ro,relatime shared:1 - ext4 /dev/vda2 rw
"""


@pytest.fixture
def sandbox(tmp_path: Path, root: Path, genman: Callable[..., object]) -> Sandbox:
    return Sandbox(tmp_path, root, genman)


def test_read_mounts_parses_mountinfo(tmp_path: Path) -> None:
    f = tmp_path / "mountinfo"
    f.write_text(MOUNTINFO)
    mounts = read_mounts(str(f))
    assert mounts[1] == Mount(Path("/boot/efi"), "vfat", "/dev/vda1", "252:1")
    assert mounts[2].point == Path("/mnt/with space")
    assert mounts[3].fsroot == "/var/lib/genman/store"


def test_a_bind_mounted_store_keeps_its_path_on_the_file_system(tmp_path: Path) -> None:
    """The store, bind-mounted read-only onto itself, is still /var/lib/genman/store to a
    GRUB that reads the root file system raw (not "/<hash>-vmlinuz")."""
    f = tmp_path / "mountinfo"
    f.write_text(MOUNTINFO)
    probe = Probe(Options(Layout.for_root(Path("/"))), read_mounts(str(f)))
    fs = probe.fs_of(Path("/var/lib/genman/store"))
    assert fs.mount == Path("/var/lib/genman/store")
    kernel = Path("/var/lib/genman/store/0123-vmlinuz-6.1.0-28-amd64")
    assert fs.loader_path(kernel) == "/var/lib/genman/store/0123-vmlinuz-6.1.0-28-amd64"
    assert probe.fs_of(Path("/boot/efi/EFI")).loader_path(Path("/boot/efi/EFI/k")) == "/EFI/k"


def test_under_root_only_mounts_inside_the_root_count(root: Path) -> None:
    opts = Options(Layout.for_root(root))
    inside = Mount(root / "boot", "ext4", "/dev/vdb1", "253:1")
    probe = Probe(opts, [Mount(Path("/"), "ext4", "/dev/vda2", "252:2"), inside])
    assert probe.mounts == [inside]
    assert probe.fs_of(root / "var/lib/genman/store") == FsInfo(root)
    assert probe.fs_of(root / "boot/genman").mount == root / "boot"


def test_loader_paths_are_relative_to_the_file_system() -> None:
    fs = FsInfo(Path("/x/boot"), "ext4", "u")
    assert fs.loader_path(Path("/x/boot/genman/k")) == "/genman/k"
    assert fs.grub_module == "ext2"
    assert FsInfo(Path("/"), "tmpfs").grub_module is None
    assert FsInfo(Path("/"), "ext4", layered=True).grub_module is None


def test_detects_systemd_boot_grub_or_none(sandbox: Sandbox) -> None:
    opts = sandbox.opts()
    assert detect(opts).kind is Kind.NONE
    (sandbox.root / "boot/grub").mkdir(parents=True)
    assert detect(opts).kind is Kind.GRUB
    sandbox.install_systemd_boot()
    t = detect(opts)
    assert t.kind is Kind.SYSTEMD_BOOT and t.esp == sandbox.root / "boot/efi"
    assert detect(sandbox.opts(bootloader=BootloaderChoice.NONE)).kind is Kind.NONE
    assert detect(sandbox.opts(bootloader=BootloaderChoice.GRUB)).kind is Kind.GRUB


def test_esp_given_outside_the_root_and_machine_id(sandbox: Sandbox, tmp_path: Path) -> None:
    esp = tmp_path / "esp"
    sandbox.install_systemd_boot(esp)
    (sandbox.root / "etc/machine-id").write_text("4f1c3b2a9d8e7f6a5b4c3d2e1f0a9b8c\n")
    n = sandbox.build("one")
    opts = sandbox.opts(esp=esp)
    execute_boot(opts, plan_boot(opts, default=n, retained=[n]))
    assert "machine-id 4f1c3b2a9d8e7f6a5b4c3d2e1f0a9b8c\n" in (
        esp / "loader/entries/genman-1.conf").read_text()
    assert entry_numbers(opts) == {1}


def test_explicit_systemd_boot_without_an_esp_is_an_error(sandbox: Sandbox) -> None:
    with pytest.raises(GenmanError, match="no EFI system partition"):
        plan_boot(sandbox.opts(bootloader=BootloaderChoice.SYSTEMD_BOOT), default=None,
                  retained=[])


def test_systemd_boot_boot_once_under_root_is_undone_at_next_boot(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.install_systemd_boot()
    numbers = sandbox.build_many(3)
    sandbox.set_link("default", 3)
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=3, retained=numbers))
    conf = sandbox.esp / "loader/loader.conf"
    r = sandbox.genman("--root", sandbox.root, "boot-once", "1")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert "default genman-1.conf" in conf.read_text()
    record = sandbox.root / "var/lib/genman/boot-once"
    assert record.is_file()
    assert not finish_boot_once(opts)  # same boot: the one-shot boot has not happened yet
    assert "default genman-1.conf" in conf.read_text()
    # After the reboot, the first mutating genman command restores the real default.
    import genman.probe

    monkeypatch.setattr(genman.probe, "boot_id", lambda: "another-boot")
    r = sandbox.genman("--root", sandbox.root, "gc")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert "default genman-*" in conf.read_text() and not record.exists()
    monkeypatch.undo()
    # A switch (a new boot plan) also ends a pending one-shot.
    sandbox.genman("--root", sandbox.root, "boot-once", "2")
    execute_boot(opts, plan_boot(opts, default=3, retained=numbers))
    assert "default genman-*" in conf.read_text() and not record.exists()
    assert "sort-key genman-1-default" in (sandbox.esp / "loader/entries/genman-3.conf").read_text()


def test_boot_once_needs_a_bootloader_and_an_entry(sandbox: Sandbox) -> None:
    sandbox.build("one")
    r = sandbox.genman("--root", sandbox.root, "boot-once", "1")
    assert r.code == 1 and "needs a bootloader" in r.err  # type: ignore[attr-defined]
    sandbox.install_systemd_boot()
    r = sandbox.genman("--root", sandbox.root, "boot-once", "1")
    assert r.code == 1 and "no boot entry" in r.err  # type: ignore[attr-defined]


def test_live_boot_once_calls_bootctl(sandbox: Sandbox, mocker: object) -> None:
    from genman.bootloader import ops

    sandbox.install_systemd_boot()
    n = sandbox.build("one")
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=n, retained=[n]))
    live = Options(Layout(Path("/")), esp=sandbox.esp)
    mocker.patch.object(ops.generation, "toplevel_of", return_value="x")  # type: ignore[attr-defined]
    run = mocker.patch("genman.bootloader.execute.process.run", autospec=True)  # type: ignore[attr-defined]
    ops.boot_once(live, 1)
    run.assert_called_once_with(
        ["bootctl", f"--esp-path={sandbox.esp}", "set-oneshot", "genman-1.conf"], check=True)
