from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import status
from genman.cli import cli
from tests.conftest import Run
from tests.helpers import PROFILE

COMMANDS = sorted(n for n, c in cli.commands.items() if not c.hidden)


def test_top_level_help_teaches(genman: Callable[..., Run]) -> None:
    r = genman("--help")
    assert r.code == 0
    assert "Examples:" in r.out and "--root" in r.out
    for name in COMMANDS:
        assert name in r.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command: str, genman: Callable[..., Run]) -> None:
    r = genman(command, "--help")
    assert r.code == 0, r.err
    assert "Example" in r.out, f"`genman {command} --help` shows no example"


def test_list_generations_json_has_every_field(example: Path, root: Path,
                                               genman: Callable[..., Run]) -> None:
    assert genman("--root", root, "build", example).code == 0
    example.write_text(PROFILE.replace("idx = 3", "idx = 4"))
    assert genman("--root", root, "build", example).code == 0
    r = genman("--root", root, "list-generations", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [row["number"] for row in rows] == [1, 2]
    for row in rows:
        assert set(row) >= {"number", "created", "description", "kernel_version", "store_path",
                            "default", "active", "booted", "pinned", "boot_entry"}
        assert isinstance(row["number"], int)
        for flag in ("default", "active", "booted", "pinned", "boot_entry"):
            assert isinstance(row[flag], bool)
        assert row["kernel_version"] == "6.1.0-28-amd64"
        assert row["store_path"].startswith("/var/lib/genman/store/")
        assert row["description"] == "edge router"
        assert "T" in row["created"]


def test_table_fits_80_columns(example: Path, root: Path,
                               genman: Callable[..., Run]) -> None:
    example.write_text(PROFILE.replace('"edge router"', '"' + "a very long description " * 5 + '"'))
    genman("--root", root, "build", example)
    r = genman("--root", root, "list-generations")
    lines = r.out.splitlines()
    assert lines[0].split() == ["GEN", "CREATED", "KERNEL", "DESCRIPTION", "MARKERS"]
    assert len(lines) == 2
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[1].split()[0] == "1"


def test_empty_list_says_how_to_start(root: Path, genman: Callable[..., Run]) -> None:
    r = genman("--root", root, "list-generations")
    assert r.code == 0 and "genman build" in r.out
    assert json.loads(genman("--root", root, "list-generations", "--json").out) == []


def test_diff_shows_changed_files(example: Path, root: Path,
                                  genman: Callable[..., Run]) -> None:
    genman("--root", root, "build", example)
    example.write_text(PROFILE.replace("idx = 3", "idx = 4").replace('text = "hello\\n"', "")
                       .replace("[etc.motd]\n", ""))
    genman("--root", root, "build", example)
    r = genman("--root", root, "diff", "1", "2")
    assert r.code == 0
    assert "~ /etc/bird/bird.conf" in r.out
    assert "- /etc/motd" in r.out
    assert "~ bird" in r.out
    d = json.loads(genman("--root", root, "diff", "1", "2", "--json").out)
    assert d["etc"] == {"added": [], "removed": ["motd"], "changed": ["bird/bird.conf"]}
    assert genman("--root", root, "diff", "1", "1").out == "generations 1 and 1 are the same\n"


def test_missing_generation_is_a_clear_error(root: Path, genman: Callable[..., Run]) -> None:
    r = genman("--root", root, "diff", "1", "7")
    assert r.code == 1
    assert r.err.startswith("error: generation 1 does not exist")
    assert "hint:" in r.err


def test_usage_error_exits_2(genman: Callable[..., Run]) -> None:
    assert genman("diff", "one").code == 2
    assert genman("no-such-command").code == 2


def test_bug_exits_3_without_traceback_unless_debug(
    root: Path, genman: Callable[..., Run], mocker: pytest.MockerFixture
) -> None:
    mocker.patch.object(status, "rows", side_effect=ZeroDivisionError("boom"))
    r = genman("--root", root, "list-generations")
    assert r.code == 3
    assert "internal error: ZeroDivisionError: boom" in r.err and "Traceback" not in r.err
    r = genman("--root", root, "--debug", "list-generations")
    assert r.code == 3 and "Traceback" in r.err


def test_interrupt_exits_130(root: Path, genman: Callable[..., Run],
                             mocker: pytest.MockerFixture) -> None:
    mocker.patch.object(status, "rows", side_effect=KeyboardInterrupt)
    assert genman("--root", root, "list-generations").code == 130


def test_number_ranges_keep_long_prunes_on_one_line() -> None:
    from genman.report import number_ranges

    assert number_ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert number_ranges([4]) == "4"
    assert number_ranges(list(range(1, 996))) == "1-995"
