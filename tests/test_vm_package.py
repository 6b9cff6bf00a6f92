"""How the VM guests get genman (vm-tests/vmlib/package.py): from the .deb, cached by the
content of what goes into it, with the base trees' initrds made by the hook files at the
very paths the package installs them (so installing the .deb leaves those initrds right)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "vm-tests"))

from vmlib import package  # noqa: E402
from vmlib.trees import INITRD_HOOK_FILES  # noqa: E402


def test_base_tree_puts_the_initrd_hook_where_the_package_does() -> None:
    installed = set()
    for line in (REPO / "debian/genman.install").read_text().splitlines():
        src, dest = line.split()
        installed.add((src, f"{dest.rstrip('/')}/{Path(src).name}"))
    for src, (dest, _mode) in INITRD_HOOK_FILES.items():
        assert (f"initrd/{src}", dest) in installed, (src, dest)
    # A script the package adds to initramfs-tools is not forgotten in the base trees.
    packaged = {dest for _src, dest in installed if dest.startswith("usr/share/initramfs-tools/")}
    assert packaged <= {dest for dest, _mode in INITRD_HOOK_FILES.values()}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    for rel, text in {"genman/cli.py": "x = 1\n", "tests/test_a.py": "t = 1\n",
                      "vm-tests/test_b.py": "v = 1\n", ".gitignore": "ignored/\n"}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    monkeypatch.setattr(package, "REPO", repo)
    return repo


def test_deb_cache_key_follows_packaged_files_only(checkout: Path) -> None:
    key = package.package_inputs()
    (checkout / "tests/test_a.py").write_text("t = 2\n")
    (checkout / "vm-tests/test_b.py").write_text("v = 2\n")
    (checkout / "ignored").mkdir()
    (checkout / "ignored/junk").write_text("junk\n")
    assert package.package_inputs() == key
    (checkout / "genman/new.py").write_text("y = 1\n")  # untracked, but build-deb copies it
    new_file = package.package_inputs()
    assert new_file != key
    (checkout / "genman/new.py").chmod(0o755)
    assert package.package_inputs() != new_file
