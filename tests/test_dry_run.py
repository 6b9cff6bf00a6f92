"""--dry-run prints the plan that then runs: for each command, the plan a dry run returns
equals the plan the real run executed (boot entries of a generation not built yet
included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genman import activation, operations
from genman.bootloader.model import CopyFile, Phase, WriteFile
from genman.context import Options
from genman.layout import Layout
from genman.plan import BootEntries
from tests.conftest import Run
from tests.helpers import install_systemd_boot, kernel_profile, make_root


def quiet(_: str) -> None:
    pass


@pytest.fixture
def opts(tmp_path: Path, genman: Callable[..., Run]) -> Options:
    """Generations 1 and 2, each switched to, with entries on a sandbox ESP."""
    root = make_root(tmp_path)
    install_systemd_boot(root)
    for n in (1, 2):
        assert genman("--root", root, "switch", kernel_profile(tmp_path, n)).code == 0
    return Options(Layout.for_root(root))


def _switch(mode: activation.Mode) -> Callable[[Options, Path, bool], Any]:
    return lambda o, tmp, dry: activation.switch(o, kernel_profile(tmp, 3), quiet, mode,
                                                 dry_run=dry).plan


COMMANDS: dict[str, Callable[[Options, Path, bool], Any]] = {
    "switch": _switch(activation.Mode.SWITCH),
    "boot": _switch(activation.Mode.BOOT),
    "test": _switch(activation.Mode.TEST),
    "switch-generation": lambda o, _, dry: activation.switch_generation(
        o, 1, quiet, dry_run=dry).plan,
    "rollback": lambda o, _, dry: activation.rollback(o, quiet, dry_run=dry).plan,
    "prune": lambda o, _, dry: operations.prune(o, 1, None, dry),
    "boot-once": lambda o, _, dry: operations.boot_once(o, 1, dry),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_dry_run_plan_is_the_plan_that_runs(opts: Options, tmp_path: Path,
                                            command: str) -> None:
    dry = COMMANDS[command](opts, tmp_path, True)
    ran = COMMANDS[command](opts, tmp_path, False)
    assert dry == ran
    assert dry.describe() and dry.describe() != ["nothing to do"]


def test_dry_run_of_a_new_generation_shows_its_boot_entry(opts: Options, tmp_path: Path,
                                                          genman: Callable[..., Run]) -> None:
    plan = activation.switch(opts, kernel_profile(tmp_path, 3), quiet, activation.Mode.SWITCH,
                             dry_run=True).plan
    boot = next(a.plan for a in plan.actions if isinstance(a, BootEntries))
    esp = opts.layout.root / "boot/efi"
    writes = {a.path: a for a in boot.actions if isinstance(a, WriteFile)}
    # The new default's entry, sorted first (loader.conf says `default genman-*`), is
    # what flips the default: written last of the entries.
    entry = writes[esp / "loader/entries/genman-3.conf"]
    assert "sort-key genman-1-default\n" in entry.text and entry.phase is Phase.DEFAULT
    assert "sort-key genman-1-default\n" not in writes[esp / "loader/entries/genman-2.conf"].text
    assert sum(isinstance(a, CopyFile) for a in boot.actions) == 2  # the new kernel, initrd
    r = genman("--root", opts.layout.root, "switch", "--dry-run", kernel_profile(tmp_path, 3))
    assert "loader/entries/genman-3.conf (entry)" in r.out
    assert not (esp / "loader/entries/genman-3.conf").exists()
