"""The Debian package: built with dpkg-buildpackage from a clean copy of the checkout
(tools/build-deb), lintian-clean of errors, holding what it must where Debian's tools look
for it, and working from its extracted tree with Debian's own Python packages: the CLI and
its templates build the shipped example, the man pages render, bash completes, the kernel
hooks speak, and removal or purge leave what the machine boots."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SITE = "usr/lib/python3/dist-packages"

MUST_SHIP = [
    "usr/bin/genman",
    f"{SITE}/genman/cli/__init__.py",
    f"{SITE}/genman/bootloaders/09_genman.j2",
    f"{SITE}/genman/bootloaders/grub-menu.cfg.j2",
    f"{SITE}/genman/bootloaders/systemd-boot-entry.conf.j2",
    f"{SITE}/genman/templates/init.sh.j2",
    f"{SITE}/genman/templates/activate.sh.j2",
    "etc/kernel/postinst.d/zz-genman",
    "etc/kernel/postrm.d/zz-genman",
    "usr/share/genman/kernel-hook.sh",
    "usr/share/genman/initrd/genman-initrd.sh",
    "usr/share/initramfs-tools/hooks/genman",
    "usr/share/initramfs-tools/scripts/local-bottom/genman",
    "usr/lib/dracut/modules.d/90genman/module-setup.sh",
    "usr/lib/dracut/modules.d/90genman/genman-pre-pivot.sh",
    "usr/lib/dracut/modules.d/90genman/genman-initrd.sh",
    "usr/share/bash-completion/completions/genman",
    "usr/share/zsh/vendor-completions/_genman",
    "usr/share/fish/vendor_completions.d/genman.fish",
    "usr/share/man/man1/genman.1.gz",
    "usr/share/man/man1/genman-switch.1.gz",
    "usr/share/man/man1/genman-bootloader-install.1.gz",
    "usr/share/doc/genman/examples/fra1/profile.toml",
    "usr/share/doc/genman/copyright",
]


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool, path=SYSTEM_PATH) is None:
            pytest.fail(f"{tool} is missing: tools/bootstrap.sh --test installs it")


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("dpkg-buildpackage", "dh", "git", "python3")
    out = tmp_path_factory.mktemp("deb")
    r = subprocess.run(["sh", str(REPO / "tools/build-deb"), str(out)], cwd=REPO,
                       env={**os.environ, "TMPDIR": str(out)},
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = sorted(out.glob("genman_*_all.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def tree(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    t = tmp_path_factory.mktemp("extracted")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(t)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(t / "DEBIAN")], check=True)
    return t


def system_env(tree: Path, **extra: str) -> dict[str, str]:
    """Debian's python3 with Debian's python3-* packages, and genman from the package tree."""
    return {"PATH": f"{tree}/usr/bin:{SYSTEM_PATH}", "PYTHONPATH": str(tree / SITE),
            "HOME": str(tree), "LC_ALL": "C.UTF-8", **extra}


def run_genman(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/usr/bin/python3", str(tree / "usr/bin/genman"), *args], cwd=tree,
                          env=system_env(tree), capture_output=True, text=True, check=False)


def test_lintian_reports_no_error(deb: Path) -> None:
    need("lintian")
    r = subprocess.run(["lintian", "--fail-on", "error", str(deb)], capture_output=True,
                       text=True, check=False, env={**os.environ, "PATH": SYSTEM_PATH})
    errors = [ln for ln in r.stdout.splitlines() if ln.startswith("E:")]
    assert (r.returncode, errors) == (0, []), r.stdout + r.stderr


def test_contents_list_cli_templates_hooks_completion_and_man_pages(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    paths = {line.split()[5].removeprefix("./") for line in listing.splitlines()}
    assert [p for p in MUST_SHIP if p not in paths] == []
    # Every module of the checkout: a subpackage missing from pyproject.toml's list is a
    # command that fails with ModuleNotFoundError on an installed host.
    modules = sorted(f"{SITE}/{m.relative_to(REPO)}" for m in (REPO / "genman").rglob("*.py"))
    assert [m for m in modules if m not in paths] == []
    modes = {line.split()[5].removeprefix("./"): line.split()[0]
             for line in listing.splitlines()}
    for hook in ("etc/kernel/postinst.d/zz-genman", "etc/kernel/postrm.d/zz-genman",
                 "usr/share/initramfs-tools/hooks/genman",
                 "usr/lib/dracut/modules.d/90genman/module-setup.sh"):
        assert modes[hook] == "-rwxr-xr-x", hook
    # Nothing of what the machine boots belongs to the package, so dpkg never removes it.
    assert not [p for p in paths if p.startswith(("var/lib/genman", "boot", "etc/grub.d",
                                                  "etc/genman"))]


def test_control_depends_on_debians_python_packages_and_triggers_initramfs(tree: Path) -> None:
    control = (tree / "DEBIAN/control").read_text()
    depends = re.search(r"^Depends: (.*)$", control, re.M)
    assert depends is not None
    for pkg in ("python3-click", "python3-jinja2", "python3-psutil", "python3-pyudev",
                "python3-yaml"):
        assert pkg in depends.group(1)
    assert (tree / "DEBIAN/conffiles").read_text().split() == [
        "/etc/kernel/postinst.d/zz-genman", "/etc/kernel/postrm.d/zz-genman"]
    assert "activate-noawait update-initramfs" in (tree / "DEBIAN/triggers").read_text()


def test_installed_cli_runs_and_builds_the_shipped_example(tree: Path, tmp_path: Path) -> None:
    r = run_genman(tree, "--help")
    assert r.returncode == 0, r.stderr
    assert "switch-generation" in r.stdout and "list-generations" in r.stdout
    r = subprocess.run(["/usr/bin/python3", "-c", "import genman; print(genman.__file__)"],
                       cwd=tree, env=system_env(tree), capture_output=True, text=True,
                       check=True)
    assert r.stdout.startswith(str(tree / SITE))  # the package's copy, not the checkout's
    # The shipped example, built with the shipped templates into a sandbox root.
    examples = tmp_path / "examples"
    subprocess.run(["cp", "-r", str(tree / "usr/share/doc/genman/examples"), str(examples)],
                   check=True)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nbird:x:115:\n")
    (root / "boot/vmlinuz-6.1.0-28-amd64").write_bytes(b"K" * 1000)
    (root / "boot/initrd.img-6.1.0-28-amd64").write_bytes(b"I" * 1000)
    r = run_genman(tree, "--root", str(root), "--bootloader", "none", "switch",
                   str(examples / "fra1/profile.toml"))
    assert r.returncode == 0, r.stderr
    r = run_genman(tree, "--root", str(root), "list-generations", "--json")
    assert '"kernel_version": "6.1.0-28-amd64"' in r.stdout, r.stdout + r.stderr


def test_man_genman_switch_renders_from_the_package(tree: Path) -> None:
    need("man")
    page = tree / "usr/share/man/man1/genman-switch.1.gz"
    r = subprocess.run(["man", "--warnings", "-l", str(page)],
                       env={**system_env(tree), "MANWIDTH": "100", "MANPAGER": "cat"},
                       capture_output=True, text=True, check=False)
    assert (r.returncode, r.stderr) == (0, "")
    text = re.sub(r".\x08", "", r.stdout)
    assert "genman-switch - Build PROFILE, activate it now and make it the boot default" in text


def test_packaged_bash_completion_completes_commands(tree: Path) -> None:
    script = tree / "usr/share/bash-completion/completions/genman"
    driver = (f'. "{script}"\nCOMP_WORDS=(genman switch)\nCOMP_CWORD=1\n'
              '_genman_completion genman\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "-c", driver], cwd=tree, env=system_env(tree), capture_output=True,
                       text=True, check=False)
    assert (r.returncode, r.stdout.split()) == (0, ["switch", "switch-generation"]), r.stderr


def test_packaged_kernel_hooks_find_their_library(tree: Path, tmp_path: Path) -> None:
    # The installed hooks name /usr/share/genman/kernel-hook.sh; point them at the tree's.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "genman"
    fake.write_text('#!/bin/sh\necho \'[{"number": 1, "kernel_version": "6.1.0-28-amd64", '
                    '"default": true}]\'\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{SYSTEM_PATH}",
           "GENMAN_KERNEL_HOOK_LIB": str(tree / "usr/share/genman/kernel-hook.sh")}
    r = subprocess.run(["dash", str(tree / "etc/kernel/postrm.d/zz-genman"), "6.1.0-28-amd64"],
                       env=env, capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout) == (0, "")
    assert "generation 1 boots it and still does" in r.stderr


def test_remove_and_purge_leave_what_the_machine_boots(tree: Path) -> None:
    postrm = tree / "DEBIAN/postrm"
    text = postrm.read_text()
    # Outside the message it prints, the script runs nothing that could delete anything.
    commands = re.sub(r"<<'MSG'\n.*?\nMSG\n", "\n", text, flags=re.S)
    code = [ln.strip() for ln in commands.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]
    assert code == ["set -e", 'if [ "$1" = purge ]; then', "cat >&2", "fi", "exit 0"], code
    for action in ("remove", "upgrade"):
        r = subprocess.run(["sh", str(postrm), action], capture_output=True, text=True,
                           check=False, env={"PATH": SYSTEM_PATH})
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = subprocess.run(["sh", str(postrm), "purge"], capture_output=True, text=True,
                       check=False, env={"PATH": SYSTEM_PATH})
    assert (r.returncode, r.stdout) == (0, "")
    for left in ("/var/lib/genman", "/etc/genman", "/boot/genman", "loader/entries/genman-*",
                 "/etc/grub.d/09_genman", "update-grub", "rm -rf /var/lib/genman"):
        assert left in r.stderr, left
