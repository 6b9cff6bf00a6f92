"""ssh argv lists for one host, run through the one subprocess seam.

The system's OpenSSH client does the work: the user's ~/.ssh/config, agent and known
hosts apply. The calls of one deploy to one host share one connection (ControlMaster), so
the facts, the store query, the copy and the activation cost no new handshake; the confirm
call never does (`fresh`): a multiplexed session can outlive the network path it proves.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from genman.deploy import seed
from genman.deploy.hosts import Host
from genman.errors import GenmanError
from genman.layout import Layout
from genman.process import Result, run

SSH_FAILED = 255  # ssh's own exit code: no connection, or it broke


class Unreachable(GenmanError):
    """ssh could not reach the host, or the connection broke."""


# ssh uses the first value it is given for an option: what must hold comes first,
# the user's options next, genman's defaults last.
FRESH = ("-o", "ControlMaster=no", "-o", "ControlPath=none")
DEFAULTS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3")


@dataclass(frozen=True)
class Connection:
    host: Host
    control_dir: Path  # sockets of this deploy's shared connections
    shipped: str | None = None  # the shipped genman's store name; None: the target's own
    dry: bool = False  # a dry run: the shipped genman writes no bytecode cache either

    def _control(self) -> tuple[str, ...]:
        return ("-o", "ControlMaster=auto", "-o", f"ControlPath={self.control_dir}/%C",
                "-o", "ControlPersist=120")

    def argv(self, remote: Sequence[str], *, fresh: bool = False) -> list[str]:
        """The ssh argv that runs `remote` (an argv list, quoted for the remote shell)."""
        h = self.host
        argv = ["ssh", *(FRESH if fresh else ()), *h.ssh_options, *DEFAULTS,
                *(() if fresh else self._control())]
        if h.port is not None:
            argv += ["-p", str(h.port)]
        if h.ssh_user:
            argv += ["-l", h.ssh_user]
        if h.address.startswith("-"):
            raise GenmanError(f"host {h.name}: address {h.address!r} starts with '-'")
        return [*argv, h.address, shlex.join(remote)]

    def store(self) -> str:
        """The target's store directory, as the target sees it."""
        return str(PurePosixPath(self.host.root) / str(Layout.store_dir).lstrip("/"))

    def genman(self, *args: str) -> list[str]:
        """The target's genman command line, on the host's root: the shipped one (python3
        -m genman with PYTHONPATH at its store path) unless the inventory names one."""
        h = self.host
        if self.shipped is None:
            return [*shlex.split(h.genman or "genman"), "--root", h.root, *args]
        env = seed.genman_env(h.root, f"{self.store()}/{self.shipped}", cache=not self.dry)
        return ["env", *(f"{k}={v}" for k, v in sorted(env.items())), *shlex.split(h.python),
                "-m", "genman", "--root", h.root, *args]

    def seed(self, mode: str, *args: str) -> list[str]:
        """The seed (see seed.py): runs before, and without, any genman on the target."""
        if self.shipped is None:
            raise GenmanError("the seed runs only where deploy ships genman")
        source = Path(seed.__file__).read_text()
        if self.dry and mode == "facts":
            mode = "dryfacts"
        return [*shlex.split(self.host.python), "-c", source, mode, self.host.root,
                self.store(), self.shipped, *args]

    def run(self, remote: Sequence[str], *, what: str, timeout: float | None = 600,
            input: str | None = None, stdin: IO[bytes] | None = None,
            fresh: bool = False) -> Result:
        """Run on the host; an ssh failure raises Unreachable, any other exit is returned."""
        argv = self.argv(remote, fresh=fresh)
        try:
            result = run(argv, check=False, input=input, stdin=stdin, timeout=timeout)
        except GenmanError as e:  # a timeout
            raise Unreachable(f"{what}: {e.message}") from None
        if result.returncode == SSH_FAILED:
            detail = result.stderr.strip().splitlines()
            raise Unreachable(f"{what}: {detail[-1] if detail else 'ssh failed'}")
        return result

    def close(self) -> None:
        """End the shared connection (ControlPersist would keep it a while)."""
        h = self.host
        argv = ["ssh", *h.ssh_options, *self._control(), "-O", "exit"]
        if h.port is not None:
            argv += ["-p", str(h.port)]
        if h.ssh_user:
            argv += ["-l", h.ssh_user]
        run([*argv, h.address], check=False, timeout=30)


APT = "apt-get install " + " ".join(["python3", *seed.MODULES.values()])


def remote_failure(result: Result, what: str, shipped: bool = False) -> GenmanError:
    """One clear line for a failed remote genman: missing python3, genman or a python
    module first. `shipped`: the command was the seed or the shipped genman."""
    err = result.stderr.strip()
    if result.returncode == 127 and shipped:
        return GenmanError(f"{what}: python3 is not installed on the target: {APT}")
    if result.returncode == 127:
        return GenmanError(f"{what}: genman (or python3) is not installed on the target",
                           hint="apt install genman on the target, or set `genman` in the "
                                "inventory to its path")
    marker = "No module named "
    if marker in err:
        module = err.split(marker, 1)[1].split()[0].strip("'\"").split(".")[0]
        package = seed.MODULES.get(module, f"python3-{module}")
        return GenmanError(f"{what}: the target's python3 lacks the module {module}: "
                           f"apt-get install {package}")
    lines = [ln.removeprefix("error: ") for ln in err.splitlines()
             if not ln.startswith(("hint:", "genman:"))]
    return GenmanError(f"{what}: {lines[-1] if lines else f'exit code {result.returncode}'}")


def seed_failure(answer: dict[str, object], what: str) -> GenmanError:
    """The seed's answer that the target cannot run genman, as one line with the fix."""
    if "python" in answer:
        need = ".".join(map(str, seed.PYTHON_MIN))
        return GenmanError(f"{what}: the target's python3 is {answer['python']}, genman needs "
                           f"{need} or later (Debian 12, Ubuntu 24.04)")
    missing = answer.get("missing")
    names = [str(m) for m in missing] if isinstance(missing, list) else []
    packages = [seed.MODULES.get(m, f"python3-{m}") for m in names]
    return GenmanError(f"{what}: the target's python3 lacks {', '.join(names)}: "
                       f"apt-get install {' '.join(packages)}")
