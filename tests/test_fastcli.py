"""The read commands' fast way in (genman.fastcli) prints what the click commands print,
byte for byte, for every option they take; anything else goes to click; and it imports
none of click, jinja2, psutil, pyudev."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import fastcli
from genman.health import state
from genman.layout import Layout
from tests.conftest import Run
from tests.helpers import PROFILE, REPO


@pytest.fixture
def fast(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run an argv through the fast path only (fails if it would go to click)."""

    def run(*args: str | Path) -> Run:
        call = fastcli.parse([str(a) for a in args])
        assert call is not None, f"not taken by the fast path: {args}"
        capsys.readouterr()
        code = fastcli.run(call)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def rich_root(example: Path, root: Path, genman: Callable[..., Run]) -> Path:
    """Three generations: one switched to (default and active), one pinned, one failed,
    one with boots left to count."""
    for i, desc in enumerate(("edge router", "with a \"quote\" and é", "third")):
        example.write_text(PROFILE.replace("idx = 3", f"idx = {i + 3}")
                           .replace('"edge router"', json.dumps(desc)))
        r = genman("--root", root, "--bootloader", "none", "build", example)
        assert r.code == 0, r.err
    assert genman("--root", root, "--bootloader", "none", "switch-generation", "2").code == 0
    assert genman("--root", root, "pin", "1").code == 0
    layout = Layout.for_root(root)
    state.mark_failed(layout, 3, "a required check failed: ssh")
    state.mark_trying(layout, 2, 2)
    return root


def _variants(root: Path, tmp: Path) -> list[list[str]]:
    esp = tmp / "esp"
    esp.mkdir(exist_ok=True)
    heads = [["--root", str(root)], [f"--root={root}", "--bootloader", "none"],
             ["--bootloader=none", "--root", str(root), "--esp", str(esp), "--boot-dir",
              str(tmp / "absent")],
             ["--root", "/nonexistent", "--root", str(root), "--bootloader", "grub"]]
    tails = [["list-generations"], ["list-generations", "--json"],
             ["list-generations", "--json", "--json"], ["status"], ["status", "--json"],
             ["diff", "1", "3"], ["diff", "3", "1", "--json"], ["diff", "--json", "2", "2"],
             ["diff", "1", "99"], ["diff", "007", "2"]]
    return [h + t for h in heads for t in tails]


def test_fast_path_prints_what_click_prints(rich_root: Path, tmp_path: Path,
                                            genman: Callable[..., Run],
                                            fast: Callable[..., Run]) -> None:
    seen_error = seen_json = 0
    for argv in _variants(rich_root, tmp_path):
        slow, quick = genman(*argv), fast(*argv)
        assert (quick.code, quick.out, quick.err) == (slow.code, slow.out, slow.err), argv
        seen_error += slow.code == 1 and "does not exist" in slow.err
        seen_json += slow.out.startswith(("[", "{"))
    assert seen_error and seen_json  # the variants reach errors and JSON both


def test_fast_path_on_an_empty_root(root: Path, genman: Callable[..., Run],
                                    fast: Callable[..., Run]) -> None:
    for tail in (["list-generations"], ["list-generations", "--json"], ["status"],
                 ["status", "--json"], ["diff", "1", "2"]):
        argv = ["--root", str(root), *tail]
        slow, quick = genman(*argv), fast(*argv)
        assert (quick.code, quick.out, quick.err) == (slow.code, slow.out, slow.err), argv


@pytest.mark.parametrize("argv", [
    ["--help"], ["list-generations", "--help"], ["status", "-h"], ["diff", "--help"],
    ["--debug", "status"], ["--version"], ["status", "--jsn"], ["diff", "1"],
    ["diff", "1", "2", "3"], ["diff", "one", "2"], ["diff", "-1", "2"], ["diff", "--", "1", "2"],
    ["--bootloader", "lilo", "status"], ["--root"], ["--root", "--debug", "status"],
    ["--root", "", "status"], ["list-generations", "extra"], ["build"], ["prune", "--keep", "1"],
    [], ["--root=/x", "--json", "status"], ["statuS"],
])
def test_everything_else_goes_to_click(argv: list[str]) -> None:
    assert fastcli.parse(argv) is None


def test_a_root_that_is_a_file_goes_to_click(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    assert fastcli.parse(["--root", str(f), "status"]) is None
    assert fastcli.parse(["--root", str(tmp_path), "status"]) is not None


@pytest.mark.parametrize("argv", [
    ["list-generations", "--help"], ["diff", "1"], ["--bootloader", "lilo", "status"],
    ["diff", "x", "1"], ["status", "--bogus"],
])
def test_main_falls_back_to_click(argv: list[str], root: Path, genman: Callable[..., Run],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    full = ["--root", str(root), *argv]
    slow = genman(*full)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        fastcli.main(full)
    out = capsys.readouterr()
    assert (e.value.code, out.out, out.err) == (slow.code, slow.out, slow.err)


def test_read_commands_import_no_heavy_module(rich_root: Path) -> None:
    heavy = ("click", "jinja2", "psutil", "pyudev", "sqlite3")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['genman', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('genman', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})\n"
        "print('IMPORTED', code, bad, file=sys.stderr)\n"
    )
    for tail in (["list-generations"], ["list-generations", "--json"], ["status"],
                 ["status", "--json"], ["diff", "1", "2"], ["diff", "1", "2", "--json"]):
        r = subprocess.run([sys.executable, "-c", probe, "--root", str(rich_root),
                            "--bootloader", "none", *tail], cwd=REPO, capture_output=True,
                           text=True, check=False)
        assert "IMPORTED 0 []" in r.stderr, (tail, r.stderr)
    # and the click path really is the other one: --help imports click
    r = subprocess.run([sys.executable, "-c", probe, "status", "--help"], cwd=REPO,
                       capture_output=True, text=True, check=False)
    assert "IMPORTED 0 ['click'" in r.stderr, r.stderr


@pytest.mark.parametrize("boom", [ZeroDivisionError("boom"), KeyboardInterrupt,
                                  BrokenPipeError(), PermissionError(13, "denied", "/x")])
def test_failures_exit_as_click_does(boom: BaseException, root: Path,
                                     genman: Callable[..., Run], fast: Callable[..., Run],
                                     mocker: pytest.MockerFixture) -> None:
    from genman import status

    mocker.patch.object(status, "rows", side_effect=boom)
    argv = ["--root", str(root), "list-generations"]
    slow, quick = genman(*argv), fast(*argv)
    assert (quick.code, quick.out, quick.err) == (slow.code, slow.out, slow.err)
    assert slow.code in (0, 1, 3, 130)


def test_a_lazy_warning_handler_still_prints_every_warning() -> None:
    """The fast path does not load `logging` up front; a warning raised later (through
    genman.channel, the one place warnings come from) is printed all the same."""
    code = (
        "import sys\n"
        "from genman import termout\n"
        "termout.install_warning_handler(termout.echo, lazy=True)\n"
        "print('logging loaded:', 'logging' in sys.modules)\n"
        "from genman.channel import warn\n"
        "warn('first'); warn('first'); warn('second')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "logging loaded: False\n"
    assert r.stderr == "warning: first\nwarning: second\n"
