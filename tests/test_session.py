"""Every writing command enters one session: lock, then recovery of an interrupted switch,
before it does its own work. Each command here runs on a tree a killed switch left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import execute, transaction
from genman.layout import Layout
from genman.transaction import read_journal
from tests.conftest import Run
from tests.helpers import REPO, env, genman_cmd, install_systemd_boot, make_root, snapshot
from tests.helpers import kernel_profile as profile

Genman = Callable[..., Run]


class Killed(KeyboardInterrupt):
    """Stands for SIGKILL in-process: the journal stays, the lock goes with the process."""


@pytest.fixture
def killed(tmp_path: Path, genman: Genman, monkeypatch: pytest.MonkeyPatch
           ) -> tuple[Path, dict[str, object]]:
    """Generations 1 and 2 switched to, then a switch to 3 killed after its third step.
    Returns the root and the snapshot of generation 2 (what recovery must bring back)."""
    root = make_root(tmp_path)
    install_systemd_boot(root)
    for n in (1, 2):
        assert genman("--root", root, "switch", profile(tmp_path, n)).code == 0
    before = snapshot(root)

    def crash(step: int) -> None:
        if step == 3:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(execute, "crash_point", crash)
        m.setattr(transaction, "crash_point", crash)
        r = genman("--root", root, "switch", profile(tmp_path, 3))
    assert r.code == 130, r.err
    assert read_journal(Layout.for_root(root)) is not None
    assert snapshot(root) != before
    return root, before


UNDONE = "warning: an interrupted `genman switch`"
# Commands that leave /etc and the default/active links as recovery made them.
KEEPING = [
    ["build", "{p3}"],
    ["prune", "--keep", "2"],
    ["gc"],
    ["pin", "1"],
    ["unpin", "1"],
    ["boot-once", "1"],
    ["bootloader", "install"],
]


@pytest.mark.parametrize("argv", KEEPING, ids=lambda a: a[0])
def test_command_recovers_first(killed: tuple[Path, dict[str, object]], tmp_path: Path,
                                genman: Genman, argv: list[str]) -> None:
    root, before = killed
    r = genman("--root", root, *[a.format(p3=tmp_path / "p3.toml") for a in argv])
    assert r.code == 0, r.err
    assert UNDONE in r.err
    assert read_journal(Layout.for_root(root)) is None
    assert snapshot(root) == before


@pytest.mark.parametrize(("argv", "number"), [
    (["switch", "{p3}"], 3), (["test", "{p3}"], 3), (["boot", "{p3}"], 3),
    (["switch-generation", "1"], 1), (["rollback"], 1),
], ids=lambda a: a[0] if isinstance(a, list) else str(a))
def test_activation_recovers_first(killed: tuple[Path, dict[str, object]], tmp_path: Path,
                                   genman: Genman, argv: list[str], number: int) -> None:
    root, _ = killed
    r = genman("--root", root, *[a.format(p3=tmp_path / "p3.toml") for a in argv])
    assert r.code == 0, r.err
    assert UNDONE in r.err
    assert read_journal(Layout.for_root(root)) is None
    layout = Layout.for_root(root)
    link = layout.default_link if argv[0] == "boot" else layout.active_link
    assert (root / str(link).lstrip("/")).readlink().name == str(number)


def test_warning_reaches_a_pipe(tmp_path: Path, genman: Genman) -> None:
    """stderr not a terminal (a pipe): warnings are printed all the same."""
    root = make_root(tmp_path)
    assert genman("--root", root, "switch", profile(tmp_path, 1)).code == 0
    stray = root / "etc/.genman-tmp-0123456789ab-motd"
    stray.symlink_to("/etc/static/motd")
    r = subprocess.run(genman_cmd(root, "pin", "1"), env=env(), cwd=REPO, text=True,
                       capture_output=True, check=False)  # pipes: not a terminal
    assert r.returncode == 0, r.stderr
    assert f"warning: removed a stray temp file {stray}\n" in r.stderr
    assert not stray.is_symlink()


def test_warnings_keep_the_order_they_were_raised(tmp_path: Path, genman: Genman,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery warns first, then the plan (no bootloader here), each line once."""
    root = make_root(tmp_path)
    assert genman("--root", root, "switch", profile(tmp_path, 1)).code == 0

    def crash(step: int) -> None:
        if step == 2:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(execute, "crash_point", crash)
        m.setattr(transaction, "crash_point", crash)
        assert genman("--root", root, "switch", profile(tmp_path, 2)).code == 130
    r = genman("--root", root, "switch", profile(tmp_path, 3))
    assert r.code == 0, r.err
    warnings = [line for line in r.err.splitlines() if line.startswith("warning: ")]
    assert warnings[0].startswith(UNDONE)
    assert warnings[-1].startswith("warning: no bootloader found")
    assert len(warnings) == len(set(warnings))
    assert "no bootloader" not in r.out
