"""The only place genman starts a child process."""

from __future__ import annotations

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
    daemon's pid (read back through a pipe from the intermediate child)."""
    log.debug("spawn detached: %s", shlex.join(argv))
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:  # intermediate child: never returns into the caller's code
        try:
            os.close(read_end)
            os.setsid()
            second = os.fork()
            if second != 0:
                os.write(write_end, str(second).encode())
                os._exit(0)
            os.close(write_end)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            devnull = os.open(os.devnull, os.O_RDONLY)
            out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(devnull, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.chdir("/")
            os.execv(argv[0], list(argv))
        except BaseException:  # noqa: BLE001 - a forked child must never unwind into the caller
            os._exit(127)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        pid_text = f.read().decode()
    os.waitpid(first, 0)
    if not pid_text.isdigit():
        raise GenmanError(f"could not start {argv[0]} in the background")
    return int(pid_text)
