"""Running health checks and keeping their results, one file per boot.

Each check is an argument list run through genman.process (the one subprocess seam) with
its own timeout. A run's results go to /var/lib/genman/health/boots/<boot-id>.json
(atomically): the last run of that boot, per check ok/failed, exit code, duration and the
last lines of its output. Under --root the checks run on this machine, as they are written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genman import fsutil
from genman.errors import GenmanError
from genman.health.config import Check, HealthConfig
from genman.layout import Layout

OUTPUT_LINES = 10
KEEP_BOOTS = 20  # result files of older boots are removed
# Checks find the active generation's programs first, as a login shell would.
CHECK_PATH = "/run/genman/active/sw/bin:/run/genman/active/sw/sbin:" \
             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Clock = Callable[[], float]


@dataclass(frozen=True)
class CheckResult:
    name: str
    required: bool
    ok: bool
    returncode: int | None  # None: it did not finish (timeout) or could not start
    duration: float
    output: str  # the last lines of stdout and stderr

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(d["name"], bool(d["required"]), bool(d["ok"]), d.get("returncode"),
                   float(d["duration"]), d.get("output", ""))

    @property
    def reason(self) -> str:
        """Why it failed, in a few words for a failure reason."""
        last = self.output.strip().splitlines()[-1:] or [""]
        detail = last[0] if last[0] else (
            f"exit code {self.returncode}" if self.returncode is not None else "no result")
        return f"check '{self.name}' failed: {detail}"


@dataclass(frozen=True)
class HealthRun:
    boot_id: str
    generation: int | None
    started: str  # ISO 8601
    context: str  # "switch", "boot", "manual"
    results: tuple[CheckResult, ...]

    @property
    def required_ok(self) -> bool:
        return all(r.ok for r in self.results if r.required)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((r for r in self.results if r.required and not r.ok), None)

    def to_dict(self) -> dict[str, Any]:
        return {"boot_id": self.boot_id, "generation": self.generation,
                "started": self.started, "context": self.context,
                "required_ok": self.required_ok,
                "checks": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HealthRun:
        return cls(d["boot_id"], d.get("generation"), d["started"], d.get("context", ""),
                   tuple(CheckResult.from_dict(r) for r in d.get("checks", [])))


def last_lines(text: str, n: int = OUTPUT_LINES) -> str:
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:])


def run_check(check: Check, clock: Clock = time.monotonic) -> CheckResult:
    from genman.process import run

    env = {**os.environ, "PATH": CHECK_PATH + ":" + os.environ.get("PATH", "")}
    start = clock()
    try:
        res = run(check.command, check=False, env=env, timeout=check.timeout)
    except GenmanError as e:  # timed out, or the program is missing
        return CheckResult(check.name, check.required, False, None, clock() - start,
                           e.message)
    output = last_lines("\n".join(x.rstrip("\n") for x in (res.stdout, res.stderr)
                                  if x.strip()))
    return CheckResult(check.name, check.required, res.ok, res.returncode,
                       clock() - start, output)


def run_checks(config: HealthConfig, boot_id: str, number: int | None, context: str,
               only_required: bool = False,
               say: Callable[[str], None] = lambda _: None) -> HealthRun:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = []
    for check in config.checks:
        if only_required and not check.required:
            continue
        say(f"running health check {check.name}")
        results.append(run_check(check))
    return HealthRun(boot_id, number, started, context, tuple(results))


# ---------------------------------------------------------------- results on disk


def boots_dir(layout: Layout) -> Path:
    return layout.host(layout.state_dir / "health/boots")


def save(layout: Layout, run: HealthRun) -> Path:
    d = boots_dir(layout)
    path = d / f"{run.boot_id}.json"
    fsutil.atomic_write(path, json.dumps(run.to_dict(), indent=1) + "\n", 0o644)
    _prune(d)
    return path


def _prune(d: Path) -> None:
    files = sorted((p for p in d.glob("*.json")), key=lambda p: p.stat().st_mtime)
    for p in files[:-KEEP_BOOTS]:
        fsutil.remove_file(p, durable=False)


def load_runs(layout: Layout) -> list[HealthRun]:
    """The last run of every boot that has one, oldest first."""
    d = boots_dir(layout)
    runs = []
    for p in sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []:
        try:
            runs.append(HealthRun.from_dict(json.loads(p.read_text())))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged record is skipped, not fatal for status
    return runs


def last_run(layout: Layout) -> HealthRun | None:
    runs = load_runs(layout)
    return runs[-1] if runs else None


def run_text(run: HealthRun) -> list[str]:
    """A run for people: one line per check, then its output indented."""
    lines = [f"health checks of generation {run.generation if run.generation else '-'} "
             f"({run.context}, {run.started}, boot {run.boot_id[:8]}): "
             + ("ok" if run.required_ok else "FAILED")]
    for r in run.results:
        mark = "ok" if r.ok else "failed"
        kind = "" if r.required else " (wanted)"
        lines.append(f"  {r.name}{kind}: {mark} in {r.duration:.1f}s")
        if not r.ok:
            lines.extend(f"    | {line}" for line in r.output.splitlines())
    if not run.results:
        lines.append("  no checks declared")
    return lines
