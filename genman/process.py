"""The only place genman starts a child process."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from genman.errors import GenmanError

log = logging.getLogger(__name__)

# Where a missing command comes from, for the hint.
PACKAGE_OF = {
    "systemctl": "systemd",
    "service": "init-system-helpers",
    "invoke-rc.d": "init-system-helpers",
    "rc-service": "openrc",
    "rc-update": "openrc",
    "update-rc.d": "init-system-helpers",
    "grub-script-check": "grub-common",
    "grub-editenv": "grub-common",
    "grub-probe": "grub-common",
    "bootctl": "systemd-boot",
}


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str],
    *,
    check: bool,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
    stdin: IO[bytes] | None = None,
) -> Result:
    """Run argv (never a shell string). With check=True a failure raises GenmanError once,
    naming the command and its stderr. `stdin` streams a (binary) file to the child."""
    log.debug("run: %s", shlex.join(argv))
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            input=input,
            stdin=stdin,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        pkg = PACKAGE_OF.get(argv[0].rsplit("/", 1)[-1])
        raise GenmanError(
            f"{argv[0]} not found",
            hint=f"apt install {pkg}" if pkg else "install it or check PATH",
        ) from None
    except subprocess.TimeoutExpired:
        raise GenmanError(f"{shlex.join(argv)} did not finish within {timeout} s") from None
    result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and not result.ok:
        detail = (proc.stderr or proc.stdout).strip()
        raise GenmanError(
            f"{shlex.join(argv)} failed with exit code {proc.returncode}"
            + (f": {detail}" if detail else "")
        )
    return result


def spawn_detached(argv: Sequence[str], log_file: os.PathLike[str] | str) -> int:
    """Start argv as a daemon that outlives this process, its session and its terminal:
    fork, setsid, fork again (so it can never reacquire a controlling terminal), stdin
    from /dev/null, stdout and stderr appended to log_file, SIGHUP ignored. Returns the
    daemon's pid (read back through a pipe from the intermediate child). A daemon that
    cannot start is an error here, not a silent exit in a forked child: the log is opened
    before forking, and a failed exec is reported through a close-on-exec pipe, which a
    successful exec closes empty."""
    log.debug("spawn detached: %s", shlex.join(argv))
    try:
        out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise GenmanError(f"cannot open {log_file} for the output of {argv[0]}: {e.strerror}",
                          hint="make that directory, or fix its permissions") from None
    pid_read, pid_write = os.pipe()  # both pipes are close-on-exec (os.pipe's default)
    exec_read, exec_write = os.pipe()
    first = os.fork()
    if first == 0:  # intermediate child: never returns into the caller's code
        try:
            os.close(pid_read)
            os.close(exec_read)
            os.setsid()
            second = os.fork()
            if second != 0:
                os.write(pid_write, str(second).encode())
                os._exit(0)
            os.close(pid_write)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.chdir("/")
            os.execv(argv[0], list(argv))
        except BaseException as e:  # noqa: BLE001 - a forked child must never unwind into the caller
            with contextlib.suppress(BaseException):
                os.write(exec_write, (getattr(e, "strerror", None) or repr(e)).encode())
            os._exit(127)
    os.close(pid_write)
    os.close(exec_write)
    os.close(out)
    with os.fdopen(pid_read, "rb") as f:
        pid_text = f.read().decode()
    os.waitpid(first, 0)
    with os.fdopen(exec_read, "rb") as f:
        failure = f.read().decode(errors="replace")
    if failure or not pid_text.isdigit():
        raise GenmanError(f"could not start {argv[0]} in the background: "
                          f"{failure or 'its first child died'}")
    return int(pid_text)
