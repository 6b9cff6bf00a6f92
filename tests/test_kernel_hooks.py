"""The kernel hooks /etc/kernel/postinst.d/zz-genman and postrm.d/zz-genman, run as the
kernel packages run them (VERSION IMAGE), under dash and busybox sh: what they say on
stderr, that they never read stdin nor write stdout, and that they exit 0 whatever genman
does. First against a fake genman on PATH, then against the real one on a sandbox root."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bootsandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
POSTINST = REPO / "kernel/postinst.d/zz-genman"
POSTRM = REPO / "kernel/postrm.d/zz-genman"
LIB = REPO / "kernel/kernel-hook.sh"
SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}
STDIN = "stdin must not be read\n"


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    argv = SHELLS[request.param]
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed: tools/bootstrap.sh --test installs it")
    return argv


def gen(number: int, kernel: str | None, default: bool = False) -> dict[str, object]:
    return {"number": number, "created": "2026-01-01T00:00:00+00:00",
            "description": f"gen {number}, {{with: \"braces\"}}", "kernel_version": kernel,
            "store_path": f"/var/lib/genman/store/x-{number}", "default": default,
            "active": default, "booted": False, "pinned": False, "boot_entry": True}


def fake_genman(tmp: Path, generations: list[dict[str, object]] | None, code: int = 0) -> Path:
    """A genman that logs its arguments and anything it can read on stdin, then prints
    `generations` as list-generations --json does (newest first)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (tmp / "out.json").write_text(json.dumps(generations or [], indent=2) + "\n")
    script = bin_dir / "genman"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "args: $*" >> "{tmp}/log"\n'
        f'if read -r line; then echo "stdin: $line" >> "{tmp}/log"; fi\n'
        f'cat "{tmp}/out.json"\n'
        f"exit {code}\n")
    script.chmod(0o755)
    return bin_dir


def run_hook(shell: list[str], hook: Path, bin_dir: Path | None, version: str,
             profile: Path | None = None, lib: Path = LIB,
             maint_params: str = "'configure'") -> subprocess.CompletedProcess[str]:
    path = "/usr/bin:/bin" if bin_dir is None else f"{bin_dir}:/usr/bin:/bin"
    # As the kernel package's maintainer script passes its own arguments, quoted.
    env = {"PATH": path, "GENMAN_KERNEL_HOOK_LIB": str(lib), "DEB_MAINT_PARAMS": maint_params}
    if profile is not None:
        env["GENMAN_PROFILE"] = str(profile)
    return subprocess.run([*shell, str(hook), version, f"/boot/vmlinuz-{version}"],
                          input=STDIN, env=env, capture_output=True, text=True, check=False)


GENERATIONS = [gen(4, "6.1.0-29-amd64", default=True), gen(3, "6.1.0-29-amd64"),
               gen(2, "6.1.0-28-amd64"), gen(1, None)]


def test_postinst_names_each_kernel_and_how_to_use_the_new_one(
        tmp_path: Path, shell: list[str]) -> None:
    bin_dir = fake_genman(tmp_path, GENERATIONS)
    profile = tmp_path / "etc/profile.toml"
    profile.parent.mkdir()
    profile.write_text('imports = ["common.toml"]\n')
    (profile.parent / "common.toml").write_text('[kernel]\nimage = "latest"\n')
    r = run_hook(shell, POSTINST, bin_dir, "6.1.0-30-amd64", profile)
    assert (r.returncode, r.stdout) == (0, "")
    assert r.stderr.splitlines() == [
        "genman: kernel 6.1.0-30-amd64 installed; every generation keeps booting its own "
        "stored kernel:",
        "genman:   no kernel: generation 1",
        "genman:   kernel 6.1.0-28-amd64: generation 2",
        "genman:   kernel 6.1.0-29-amd64: generations 3 and 4 (4 is the boot default)",
        'genman: to make a generation with 6.1.0-30-amd64: genman boot (the profile says '
        'image = "latest"),',
        "genman: then reboot; or genman switch to also activate it now.",
    ]
    assert (tmp_path / "log").read_text() == "args: list-generations --json\n"


def test_postinst_without_latest_says_what_to_set(tmp_path: Path, shell: list[str]) -> None:
    bin_dir = fake_genman(tmp_path, GENERATIONS)
    profile = tmp_path / "profile.toml"
    profile.write_text('[kernel]\nimage = "/boot/vmlinuz-6.1.0-29-amd64"\n')
    r = run_hook(shell, POSTINST, bin_dir, "6.1.0-30-amd64", profile)
    assert r.returncode == 0
    assert f'"/boot/vmlinuz-6.1.0-30-amd64") in {profile}, then genman boot' in r.stderr
    assert "the profile says" not in r.stderr


def test_postrm_says_which_generations_still_boot_the_removed_kernel(
        tmp_path: Path, shell: list[str]) -> None:
    bin_dir = fake_genman(tmp_path, GENERATIONS)
    r = run_hook(shell, POSTRM, bin_dir, "6.1.0-29-amd64", maint_params="'remove'")
    assert (r.returncode, r.stdout) == (0, "")
    assert r.stderr.splitlines() == [
        "genman: kernel 6.1.0-29-amd64 was removed; generations 3 and 4 boot it and still do:",
        "genman: each keeps its own copy (kernel, initrd, modules) in /var/lib/genman/store.",
    ]
    assert "stdin" not in (tmp_path / "log").read_text()


def test_postrm_speaks_on_remove_not_again_on_purge(tmp_path: Path, shell: list[str]) -> None:
    bin_dir = fake_genman(tmp_path, GENERATIONS)
    removed = run_hook(shell, POSTRM, bin_dir, "6.1.0-29-amd64", maint_params="'remove'")
    purged = run_hook(shell, POSTRM, bin_dir, "6.1.0-29-amd64", maint_params="'purge'")
    assert "generations 3 and 4 boot it" in removed.stderr
    assert (purged.returncode, purged.stdout, purged.stderr) == (0, "", "")


def test_postrm_of_a_kernel_no_generation_boots_is_silent(tmp_path: Path,
                                                          shell: list[str]) -> None:
    r = run_hook(shell, POSTRM, fake_genman(tmp_path, GENERATIONS), "5.10.0-9-amd64")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@pytest.mark.parametrize("hook", [POSTINST, POSTRM], ids=["postinst", "postrm"])
def test_a_failing_genman_never_fails_the_kernel_package(tmp_path: Path, shell: list[str],
                                                         hook: Path) -> None:
    r = run_hook(shell, hook, fake_genman(tmp_path, None, code=1), "6.1.0-30-amd64")
    assert (r.returncode, r.stdout) == (0, "")
    assert "could not list generations" in r.stderr


@pytest.mark.parametrize("hook", [POSTINST, POSTRM], ids=["postinst", "postrm"])
def test_after_genman_is_removed_the_left_conffiles_do_nothing(tmp_path: Path,
                                                               shell: list[str],
                                                               hook: Path) -> None:
    # Removed, not purged: the hooks stay (conffiles), the command and library are gone.
    r = run_hook(shell, hook, None, "6.1.0-30-amd64", lib=tmp_path / "gone.sh")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = run_hook(shell, hook, fake_genman(tmp_path, GENERATIONS), "6.1.0-30-amd64",
                 lib=tmp_path / "gone.sh")
    assert (r.returncode, r.stderr) == (0, "")


def test_hooks_read_the_real_genman_on_a_sandbox_root(
        tmp_path: Path, root: Path, genman: Callable[..., object], shell: list[str]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    sb.set_kernel(b"K" * 100, b"I" * 100, "6.1.0-28-amd64")
    sb.build("old kernel")
    sb.set_kernel(b"L" * 100, b"J" * 100, "6.1.0-29-amd64")
    sb.build("new kernel")
    sb.set_link("default", 2)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "genman"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m genman --root "{root}" "$@"\n')
    wrapper.chmod(0o755)
    r = run_hook(shell, POSTINST, bin_dir, "6.1.0-30-amd64", sb.profile)
    assert r.returncode == 0, r.stderr
    assert "genman:   kernel 6.1.0-28-amd64: generation 1\n" in r.stderr
    assert "genman:   kernel 6.1.0-29-amd64: generation 2 (2 is the boot default)\n" in r.stderr
    r = run_hook(shell, POSTRM, bin_dir, "6.1.0-28-amd64")
    assert r.returncode == 0, r.stderr
    assert "kernel 6.1.0-28-amd64 was removed; generation 1 boots it and still does:" in r.stderr
