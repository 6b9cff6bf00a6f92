"""initrd/lib/genman-initrd.sh in a sandbox: fake target roots under tmp_path, run by
`busybox sh` (what a busybox initramfs has) and dash (close to klibc's sh). No VM, no root
needed; part of the vm suite because it guards the same boot path the guests take."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parent.parent
LIB = REPO / "initrd/lib/genman-initrd.sh"
STATE = "var/lib/genman"


def shells() -> list[list[str]]:
    found = []
    if shutil.which("busybox"):
        found.append(["busybox", "sh"])
    if shutil.which("dash"):
        found.append(["dash"])
    return found


@pytest.fixture(params=["busybox", "dash"])
def shell(request: pytest.FixtureRequest) -> list[str]:
    for sh in shells():
        if sh[0] == request.param:
            return sh
    pytest.fail(
        f"{request.param} not installed: "
        "apt-get install busybox-static dash (tools/apt-packages.txt)"
    )


def make_generation(
    root: Path, n: int, init_body: str | None = "#!/bin/sh\nexec /sbin/init\n"
) -> None:
    """Like genman lays it out: generations/N is an absolute link into the store, and the
    store path holds `init`."""
    store = root / STATE / "store" / f"{n:032x}-genman-host"
    store.mkdir(parents=True, exist_ok=True)
    if init_body is not None:
        (store / "init").write_text(init_body)
        (store / "init").chmod(0o755)
    gens = root / STATE / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    link = gens / str(n)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(f"/{STATE}/store/{store.name}")


def set_default(root: Path, n: int) -> None:
    link = root / STATE / "default"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(f"/{STATE}/generations/{n}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "sbin").mkdir(parents=True)
    (r / "sbin/init").write_text("#!/bin/sh\n")
    (r / "sbin/init").chmod(0o755)
    (r / "etc").mkdir()
    (r / "etc/fstab").write_text("LABEL=genroot / ext4 errors=remount-ro 0 1\n")
    for n in (1, 2, 3):
        make_generation(r, n)
    set_default(r, 3)
    return r


def choose(
    shell: list[str], root: Path, init: str, cmdline: str, env: dict[str, str] | None = None
):
    run_dir = root.parent / "run-genman"
    script = f'. "{LIB}"; genman_choose_init "$1" "$2" "$3"'
    res = subprocess.run(
        [*shell, "-c", script, "sh", str(root), init, cmdline],
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": os.environ["PATH"], "GENMAN_RUN_DIR": str(run_dir), **(env or {})},
        check=False,
    )
    report = run_dir / "initrd-fallback"
    return res, (report.read_text() if report.exists() else None)


def gen_init(n: int) -> str:
    return f"/{STATE}/generations/{n}/init"


def test_healthy_entry_boots_its_own_init(shell, root):
    res, report = choose(
        shell, root, gen_init(2), f"root=LABEL=genroot init={gen_init(2)} genman.generation=2"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == gen_init(2)
    assert res.stderr == ""
    assert report is None


def test_missing_init_falls_back_to_default(shell, root):
    (root / STATE / "store" / f"{1:032x}-genman-host" / "init").unlink()
    res, report = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == f"/{STATE}/default/init"
    assert "missing or not executable" in res.stderr
    assert "booting the default generation instead (3)" in res.stderr
    assert report is not None and f"requested={gen_init(1)}" in report


def test_non_executable_or_empty_init_falls_back(shell, root):
    store1 = root / STATE / "store" / f"{1:032x}-genman-host"
    (store1 / "init").chmod(0o644)
    res, _ = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == f"/{STATE}/default/init"
    (store1 / "init").chmod(0o755)
    (store1 / "init").write_text("")
    res, _ = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == f"/{STATE}/default/init"


def test_missing_generation_dir_falls_back(shell, root):
    # The store path is gone but the entry survived (a prune interrupted before the entries).
    shutil.rmtree(root / STATE / "store" / f"{2:032x}-genman-host")
    res, _ = choose(shell, root, gen_init(2), f"init={gen_init(2)} genman.generation=2")
    assert res.stdout.strip() == f"/{STATE}/default/init"
    assert "generation 2 is missing" in res.stderr


def test_unknown_generation_number_falls_back(shell, root):
    res, _ = choose(shell, root, gen_init(9), f"init={gen_init(9)} genman.generation=9")
    assert res.stdout.strip() == f"/{STATE}/default/init"


def test_broken_default_too_falls_back_to_sbin_init(shell, root):
    for n in (1, 3):
        (root / STATE / "store" / f"{n:032x}-genman-host" / "init").unlink()
    res, report = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == "/sbin/init"
    assert "default generation has no usable init" in res.stderr
    assert report is not None and "chosen=/sbin/init" in report


def test_absolute_links_resolve_inside_the_root_not_the_initrd(shell, root, tmp_path):
    # A link to /sbin/init must be judged by the target's /sbin/init. Make the target's
    # missing; the sandbox host's /sbin/init (if any) must not count.
    (root / "sbin/init").unlink()
    (root / STATE / "store" / f"{1:032x}-genman-host" / "init").unlink()
    (root / STATE / "store" / f"{1:032x}-genman-host" / "init").symlink_to("/sbin/init")
    res, _ = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == f"/{STATE}/default/init"


def test_symlink_loop_does_not_hang(shell, root):
    init = root / STATE / "store" / f"{1:032x}-genman-host" / "init"
    init.unlink()
    init.symlink_to("init")
    res, _ = choose(shell, root, gen_init(1), f"init={gen_init(1)} genman.generation=1")
    assert res.stdout.strip() == f"/{STATE}/default/init"


def test_distro_entry_is_left_alone(shell, root):
    res, report = choose(shell, root, "/sbin/init", "root=LABEL=genroot ro")
    assert res.stdout.strip() == "/sbin/init"
    assert res.stderr == ""
    assert report is None


def test_separate_var_is_mounted_before_init_is_checked(shell, root, tmp_path):
    """/var on its own partition: in the initrd only / is mounted, so the generation looks
    missing until /var is mounted under the root. The fake mount makes it appear."""
    shutil.rmtree(root / "var")
    (root / "var").mkdir()
    (root / "etc/fstab").write_text(
        "# comment\n"
        "LABEL=genroot / ext4 errors=remount-ro 0 1\n"
        "LABEL=var /var ext4 defaults,nofail,x-systemd.device-timeout=5 0 2\n"
        "LABEL=ESP /boot/efi vfat umask=0077 0 1\n"
    )
    calls = tmp_path / "mount-calls"
    fake_var = tmp_path / "var-partition"
    make_generation(fake_var, 2)  # builds fake_var/var/lib/genman/...
    fake_mount = tmp_path / "fake-mount"
    fake_mount.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{calls}"\n'
        # last argument is the mount point: fill it as the real mount would
        "for last; do :; done\n"
        f'cp -a "{fake_var}/var/." "$last/"\n'
    )
    fake_mount.chmod(0o755)
    fake_findfs = tmp_path / "fake-findfs"
    fake_findfs.write_text('#!/bin/sh\n[ "$1" = LABEL=var ] && echo /dev/vdb1\n')
    fake_findfs.chmod(0o755)
    res, _ = choose(
        shell,
        root,
        gen_init(2),
        f"init={gen_init(2)} genman.generation=2",
        env={"GENMAN_MOUNT": str(fake_mount), "GENMAN_FINDFS": str(fake_findfs)},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == gen_init(2)
    assert calls.read_text().split() == ["-t", "ext4", "/dev/vdb1", f"{root}/var"]
    assert "mounting LABEL=var on /var" in res.stderr


def test_state_dir_on_its_own_mount_wins_over_var(shell, root, tmp_path):
    (root / "etc/fstab").write_text(
        "LABEL=var /var ext4 defaults 0 2\nUUID=1234 /var/lib/genman/ ext4 noatime 0 2\n"
    )
    calls = tmp_path / "mount-calls"
    fake_mount = tmp_path / "fake-mount"
    fake_mount.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    fake_mount.chmod(0o755)
    fake_findfs = tmp_path / "fake-findfs"
    fake_findfs.write_text("#!/bin/sh\necho /dev/disk-for-$1\n")
    fake_findfs.chmod(0o755)
    res, _ = choose(
        shell,
        root,
        gen_init(2),
        f"init={gen_init(2)} genman.generation=2",
        env={"GENMAN_MOUNT": str(fake_mount), "GENMAN_FINDFS": str(fake_findfs)},
    )
    assert calls.read_text().split() == [
        "-t",
        "ext4",
        "-o",
        "noatime",
        "/dev/disk-for-UUID=1234",
        f"{root}/var/lib/genman",
    ]
    # The generation already existed on the root fs here, so its init is still chosen.
    assert res.stdout.strip() == gen_init(2)


def test_failed_mount_still_falls_back(shell, root, tmp_path):
    shutil.rmtree(root / "var")
    (root / "var").mkdir()
    (root / "etc/fstab").write_text("LABEL=var /var ext4 defaults 0 2\n")
    res, _ = choose(
        shell,
        root,
        gen_init(2),
        f"init={gen_init(2)} genman.generation=2",
        env={"GENMAN_MOUNT": "false", "GENMAN_FINDFS": "echo"},
    )
    assert "mounting /var failed" in res.stderr
    assert res.stdout.strip() == "/sbin/init"


def test_initramfs_tools_script_writes_param_conf(shell, root, tmp_path):
    """The local-bottom script as initramfs-tools runs it: $rootmnt and $init exported,
    the result read back from /conf/param.conf. Paths are rewritten into the sandbox."""
    (root / STATE / "store" / f"{1:032x}-genman-host" / "init").unlink()
    script = (REPO / "initrd/initramfs-tools/scripts/local-bottom/genman").read_text()
    conf = tmp_path / "param.conf"
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(f"root=LABEL=genroot init={gen_init(1)} genman.generation=1\n")
    script = (
        script.replace("/lib/genman/genman-initrd.sh", str(LIB))
        .replace("/conf/param.conf", str(conf))
        .replace("/proc/cmdline", str(cmdline))
    )
    sandboxed = tmp_path / "local-bottom-genman"
    sandboxed.write_text(script)
    res = subprocess.run(
        [*shell, str(sandboxed)],
        env={
            "PATH": os.environ["PATH"],
            "rootmnt": str(root),
            "init": gen_init(1),
            "GENMAN_RUN_DIR": str(tmp_path / "run"),
        },
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert conf.read_text() == f"init=/{STATE}/default/init\n"


def test_scripts_parse_in_every_shell(shell):
    for f in [
        LIB,
        REPO / "initrd/initramfs-tools/hooks/genman",
        REPO / "initrd/initramfs-tools/scripts/local-bottom/genman",
        REPO / "initrd/dracut/90genman/genman-pre-pivot.sh",
    ]:
        res = subprocess.run([*shell, "-n", str(f)], capture_output=True, text=True, check=False)
        assert res.returncode == 0, f"{f}: {res.stderr}"


def test_dracut_module_setup_installs_library_and_hook(tmp_path):
    """module-setup.sh as dracut drives it: install() with dracut's inst_* recorded."""
    moddir = REPO / "initrd/dracut/90genman"
    calls = tmp_path / "calls"
    script = (
        f'moddir="{moddir}"\n'
        f'inst_simple() {{ echo "inst_simple $*" >> "{calls}"; }}\n'
        f'inst_multiple() {{ echo "inst_multiple $*" >> "{calls}"; }}\n'
        f'inst_hook() {{ echo "inst_hook $*" >> "{calls}"; }}\n'
        f'. "{moddir}/module-setup.sh"\n'
        "install\n"
        "depends\n"
    )
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    lines = calls.read_text().splitlines()
    assert f"inst_simple {moddir}/genman-initrd.sh /lib/genman/genman-initrd.sh" in lines
    assert f"inst_hook pre-pivot 90 {moddir}/genman-pre-pivot.sh" in lines
    assert (moddir / "genman-initrd.sh").resolve() == LIB  # the module ships the shared library


@pytest.mark.parametrize("systemd_initrd", [False, True], ids=["shell-initrd", "systemd-initrd"])
def test_dracut_pre_pivot_overrides_init(shell, root, tmp_path, systemd_initrd):
    """The pre-pivot hook as dracut sources it, paths moved into the sandbox: a missing
    init becomes real_init= (shell initrd) or a switch-root drop-in (systemd initrd)."""
    (root / STATE / "store" / f"{1:032x}-genman-host" / "init").unlink()
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(f"root=LABEL=genroot init={gen_init(1)} genman.generation=1\n")
    etc = tmp_path / "initrd-etc"
    run = tmp_path / "initrd-run"
    hook = (REPO / "initrd/dracut/90genman/genman-pre-pivot.sh").read_text()
    hook = (
        hook.replace("/lib/genman/genman-initrd.sh", str(LIB))
        .replace("/proc/cmdline", str(cmdline))
        .replace("/etc/cmdline.d", f"{etc}/cmdline.d")
        .replace("/run/systemd/system", f"{run}/systemd/system")
    )
    stubs = (
        f'getarg() {{ for a in $(cat "{cmdline}"); do\n'
        '  case $a in "$1"*) echo "${a#"$1"}";; esac\n'
        "done; }\n"
        "systemctl() { :; }\n"
    )
    env = {"PATH": os.environ["PATH"], "NEWROOT": str(root), "GENMAN_RUN_DIR": str(tmp_path / "r")}
    if systemd_initrd:
        env["DRACUT_SYSTEMD"] = "1"
    res = subprocess.run(
        [*shell, "-c", stubs + hook],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    chosen = f"/{STATE}/default/init"
    if systemd_initrd:
        dropin = run / "systemd/system/initrd-switch-root.service.d/90-genman.conf"
        assert f"switch-root /sysroot {chosen}" in dropin.read_text()
    else:
        assert (etc / "cmdline.d/90genman-init.conf").read_text() == f"real_init={chosen}\n"
