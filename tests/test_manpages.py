"""Man pages: tools/make-manpages.py writes one per command from the click help, man renders
each without a warning, and what they say is what `--help` says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from genman.cli import cli

REPO = Path(__file__).resolve().parent.parent


def command_pages() -> set[str]:
    names = {"genman"}
    for name, command in cli.commands.items():
        if command.hidden:  # started by genman itself: no page
            continue
        names.add(f"genman-{name}")
        if isinstance(command, click.Group):
            names |= {f"genman-{name}-{sub}" for sub in command.commands}
    return names


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("man")
    subprocess.run([sys.executable, str(REPO / "tools/make-manpages.py"), str(out)],
                   check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return out


def render(page: Path) -> tuple[str, str]:
    if shutil.which("man") is None:
        pytest.fail("man is missing: apt install man-db")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", str(page)],
                       env={**os.environ, "MANWIDTH": "200", "MAN_KEEP_FORMATTING": "0",
                            "LC_ALL": "C.UTF-8", "MANPAGER": "cat", "PAGER": "cat"},
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return re.sub(r".\x08", "", r.stdout), r.stderr


def words(text: str) -> list[str]:
    return text.replace("\u2010", "-").split()


def test_one_page_per_command(pages: Path) -> None:
    assert {p.stem for p in pages.glob("*.1")} == command_pages()


def test_every_page_renders_without_warnings(pages: Path) -> None:
    for page in sorted(pages.glob("*.1")):
        out, err = render(page)
        assert err == "", f"{page.name}: {err}"
        assert "NAME" in out and "SYNOPSIS" in out, page.name


def test_switch_page_says_what_switch_help_says(pages: Path) -> None:
    out, _ = render(pages / "genman-switch.1")
    help_text = subprocess.run([sys.executable, "-m", "genman", "switch", "--help"],
                               capture_output=True, text=True, check=True).stdout
    page = " ".join(words(out))
    assert "genman [GLOBAL OPTIONS] switch [OPTIONS] [PROFILE]" in page
    for option in cli.commands["switch"].params:
        if isinstance(option, click.Option):
            assert option.help is not None
            assert " ".join(words(option.help)) in page, option.name
            assert option.opts[0] in help_text
    assert "genman switch --dry-run # show exactly what would change" in page


def test_group_page_lists_commands_and_global_options(pages: Path) -> None:
    out, _ = render(pages / "genman.1")
    page = " ".join(words(out))
    for name, command in cli.commands.items():
        if not command.hidden:
            assert f"genman-{name}(1)" in page
    assert "--root DIR" in page and "--bootloader" in page
