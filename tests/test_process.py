"""process.run: argv lists, check= semantics, missing binaries and stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from genman import process
from genman.errors import GenmanError

PY = sys.executable


def test_argv_is_not_a_shell_string(tmp_path: Path) -> None:
    r = process.run([PY, "-c", "import sys; print(sys.argv[1:])", "a b", "$HOME", ";x"],
                    check=True)
    assert r.ok
    assert r.stdout.strip() == "['a b', '$HOME', ';x']"
    assert r.argv[0] == PY


def test_failure_without_check_is_returned() -> None:
    r = process.run([PY, "-c", "import sys; sys.stderr.write('bad thing\\n'); sys.exit(3)"],
                    check=False)
    assert r.returncode == 3
    assert not r.ok
    assert r.stderr == "bad thing\n"
    assert r.stdout == ""


def test_failure_with_check_raises_with_stderr() -> None:
    with pytest.raises(GenmanError) as e:
        process.run([PY, "-c", "import sys; sys.stderr.write('disk on fire'); sys.exit(4)"],
                    check=True)
    assert "exit code 4" in str(e.value)
    assert "disk on fire" in str(e.value)


def test_failure_with_check_falls_back_to_stdout() -> None:
    with pytest.raises(GenmanError, match="only stdout"):
        process.run([PY, "-c", "print('only stdout'); raise SystemExit(1)"], check=True)


def test_missing_known_binary_hints_package(tmp_path: Path) -> None:
    with pytest.raises(GenmanError) as e:
        process.run([str(tmp_path / "bin" / "grub-editenv"), "list"], check=False)
    assert "grub-editenv not found" in str(e.value)
    assert e.value.hint == "apt install grub-common"


def test_missing_unknown_binary_hint(tmp_path: Path) -> None:
    with pytest.raises(GenmanError) as e:
        process.run([str(tmp_path / "no-such-tool")], check=True)
    assert "not found" in str(e.value)
    assert e.value.hint == "install it or check PATH"


def test_env_and_input_are_passed() -> None:
    r = process.run([PY, "-c", "import os, sys; print(os.environ['GM_X'], sys.stdin.read())"],
                    check=True, env={"GM_X": "hello"}, input="from stdin")
    assert r.stdout.strip() == "hello from stdin"


def test_stdin_file_is_streamed(tmp_path: Path) -> None:
    f = tmp_path / "in"
    f.write_bytes(b"streamed bytes")
    with open(f, "rb") as fh:
        r = process.run([PY, "-c", "import sys; print(len(sys.stdin.buffer.read()))"],
                        check=True, stdin=fh)
    assert r.stdout.strip() == "14"


def test_timeout_becomes_genman_error() -> None:
    with pytest.raises(GenmanError, match=r"did not finish within 0\.1 s"):
        process.run([PY, "-c", "import time; time.sleep(5)"], check=False, timeout=0.1)


def test_spawn_detached_runs_a_daemon_with_its_output_in_the_log(tmp_path: Path) -> None:
    import os
    import time

    log = tmp_path / "daemon.log"
    pid = process.spawn_detached(
        [PY, "-c", "import os; print('daemon', os.getpid(), os.getsid(0) == os.getpid())"],
        log)
    for _ in range(600):  # bounded: the daemon prints at once
        if log.read_text().strip():
            break
        time.sleep(0.05)
    assert log.read_text() == f"daemon {pid} False\n"  # not a session leader: no tty ever
    assert pid != os.getpid()


def test_spawn_detached_that_cannot_start_is_an_error_not_a_silent_exit(
        tmp_path: Path) -> None:
    with pytest.raises(GenmanError) as missing_log:
        process.spawn_detached([PY, "-c", "pass"], tmp_path / "no-such-dir/daemon.log")
    assert f"cannot open {tmp_path}/no-such-dir/daemon.log" in missing_log.value.message
    with pytest.raises(GenmanError) as missing_program:
        process.spawn_detached([str(tmp_path / "no-such-program")], tmp_path / "daemon.log")
    assert missing_program.value.message == (
        f"could not start {tmp_path}/no-such-program in the background: "
        "No such file or directory")
