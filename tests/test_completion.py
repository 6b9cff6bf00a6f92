"""Shell completion: the script click generates, sourced into a real bash, completes
commands and the generation numbers of the root on the command line; zsh and fish get
their scripts too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from genman.cli import cli
from genman.completion import generation_numbers
from tests.bootsandbox import Sandbox


def completion_script(shell: str) -> str:
    r = subprocess.run([sys.executable, "-m", "genman"], env={**os.environ,
                       "_GENMAN_COMPLETE": f"{shell}_source"},
                       capture_output=True, text=True, check=True)
    return r.stdout


def bash_complete(tmp_path: Path, words: list[str]) -> list[str]:
    """COMPREPLY of the generated bash completion for `words` (the last one being typed)."""
    if shutil.which("bash") is None:
        pytest.fail("bash is missing")
    bin_dir = tmp_path / "compbin"
    bin_dir.mkdir(exist_ok=True)
    genman = bin_dir / "genman"
    genman.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m genman "$@"\n')
    genman.chmod(0o755)
    script = tmp_path / "genman.bash"
    script.write_text(completion_script("bash"))
    words_q = " ".join(f"'{w}'" for w in words)
    driver = (f'. "{script}"\nCOMP_WORDS=({words_q})\nCOMP_CWORD={len(words) - 1}\n'
              '_genman_completion genman\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "-c", driver], env={**os.environ,
                       "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_bash_completes_commands(tmp_path: Path) -> None:
    assert bash_complete(tmp_path, ["genman", "sw"]) == ["switch", "switch-generation"]
    assert set(bash_complete(tmp_path, ["genman", ""])) == {
        n for n, c in cli.commands.items() if not c.hidden}


def test_bash_completes_generation_numbers_of_the_given_root(
        tmp_path: Path, root: Path, genman: Callable[..., object]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    for i in range(12):
        sb.build(f"generation {i}")
    sb.set_link("default", 12)
    words = ["genman", "--root", str(root), "switch-generation", ""]
    assert bash_complete(tmp_path, words) == [str(n) for n in range(12, 0, -1)]
    assert bash_complete(tmp_path, ["genman", "--root", str(root), "pin", "1"]) == [
        "12", "11", "10", "1"]
    assert bash_complete(tmp_path, ["genman", "--root", str(root), "diff", "3", ""])[:2] == [
        "12", "11"]


def test_no_generations_no_candidates(tmp_path: Path) -> None:
    ctx = cli.make_context("genman", ["--root", str(tmp_path)], resilient_parsing=True)
    param = cli.params[0]
    assert generation_numbers(ctx, param, "") == []


def test_default_generation_is_described(tmp_path: Path, root: Path,
                                         genman: Callable[..., object]) -> None:
    sb = Sandbox(tmp_path, root, genman)
    sb.build_many(2)
    sb.set_link("default", 1)
    ctx = cli.make_context("genman", ["--root", str(root)], resilient_parsing=True)
    items = generation_numbers(ctx, cli.params[0], "")
    assert [(i.value, i.help) for i in items] == [("2", None), ("1", "default")]


@pytest.mark.parametrize("shell,marker", [("zsh", "#compdef genman"),
                                          ("fish", "complete --no-files --command genman")])
def test_zsh_and_fish_scripts_are_generated(shell: str, marker: str) -> None:
    assert marker in completion_script(shell)
