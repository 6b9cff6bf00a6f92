"""Timing and memory of child processes, and the statistics the tables show.

Every measured command is a real child process. Wall time is taken around spawn and
reap; peak memory is the child's ru_maxrss as os.wait4 reports it for that one child
(the largest resident set of the child and of any descendant it waited for).
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


class CommandFailed(Exception):
    def __init__(self, cmd: Sequence[str], code: int, stderr: str) -> None:
        self.cmd = list(cmd)
        self.code = code
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(f"exit {code}: {shlex.join(self.cmd)}\n{tail}")


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_kib: int  # ru_maxrss (KiB on Linux)
    stdout: str = ""
    stderr: str = ""


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
        check: bool = True) -> Sample:
    """Run cmd to completion; wall time and the child's own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise CommandFailed(cmd, p.returncode, stderr or stdout)
    return Sample(seconds, ru.ru_maxrss, stdout, stderr)


def run_all(cmds: Sequence[Sequence[str]], **kw: object) -> Sample:
    """Several commands in a row, measured as one step (times add, memory is the max)."""
    total = 0.0
    rss = 0
    outs = []
    for c in cmds:
        s = run(c, **kw)  # type: ignore[arg-type]
        total += s.seconds
        rss = max(rss, s.maxrss_kib)
        outs.append(s.stdout)
    return Sample(total, rss, "".join(outs))


@dataclass
class Stats:
    samples: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def add(self, s: Sample) -> None:
        self.samples.append(s.seconds)
        self.rss_kib.append(s.maxrss_kib)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def lo(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def hi(self) -> float:
        return max(self.samples) if self.samples else float("nan")

    @property
    def peak_mib(self) -> float:
        return max(self.rss_kib) / 1024 if self.rss_kib else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {"seconds": self.samples, "maxrss_kib": self.rss_kib, "median": self.median,
                "min": self.lo, "max": self.hi}


def fmt_time(t: float) -> str:
    if t != t:  # nan
        return "–"
    if t < 1:
        return f"{t * 1000:.0f} ms" if t >= 0.01 else f"{t * 1000:.1f} ms"
    return f"{t:.2f} s"


def fmt_stats(s: Stats | None) -> str:
    if s is None or not s.n:
        return "–"
    return f"{fmt_time(s.median)} ({fmt_time(s.lo)}–{fmt_time(s.hi)}, n={s.n})"


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"
