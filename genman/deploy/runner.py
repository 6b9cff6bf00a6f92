"""Runs a Rollout: each host's steps over ssh, a bounded pool of hosts at once, phases in
order, no new host once --max-fail is reached."""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from genman.deploy import facts as facts_mod
from genman.deploy.build import LocalStore
from genman.deploy.hosts import Host
from genman.deploy.rollout import DONE, Action, Outcome, Rollout
from genman.deploy.ssh import Connection, Unreachable, remote_failure
from genman.errors import GenmanError

Say = Callable[[str, str], None]  # (host, what it is doing)
CONFIRM_WITHIN = "2m"


@dataclass(frozen=True)
class HostResult:
    host: str
    outcome: Outcome
    old: int | None = None
    new: int | None = None
    detail: str = ""
    seconds: float = 0.0
    copied: int = 0  # store paths sent

    def to_dict(self) -> dict[str, object]:
        return {"host": self.host, "result": self.outcome.value, "old": self.old,
                "new": self.new, "detail": self.detail, "seconds": round(self.seconds, 2),
                "copied": self.copied}


@dataclass(frozen=True)
class Context:
    store: LocalStore
    control_dir: Path
    say: Say
    confirm_within: str = CONFIRM_WITHIN  # a host not confirmed by then reverts by itself


def unchanged(action: Action, f: facts_mod.Facts, toplevel: str) -> bool:
    active = f.active_toplevel == toplevel
    default = f.default_toplevel == toplevel
    return {Action.SWITCH: active and default, Action.BOOT: default,
            Action.TEST: active}[action]


def _copy(ctx: Context, conn: Connection, closure: tuple[str, ...]) -> int:
    from genman.deploy import copy

    result = conn.run(conn.genman("remote", "has"), what="store query",
                      input="".join(f"{n}\n" for n in closure))
    if not result.ok:
        raise remote_failure(result, "store query", conn.shipped is not None)
    present = set(result.stdout.split())
    missing = [n for n in closure if n not in present]
    if not missing:
        return 0
    ctx.say(conn.host.name, f"copying {len(missing)}/{len(closure)} paths")
    with tempfile.TemporaryFile() as stream:
        copy.pack(ctx.store.dir, missing, stream)
        stream.seek(0)
        result = conn.run(conn.genman("remote", "receive"), what="copy", stdin=stream,
                          timeout=3600)
    if not result.ok:
        raise remote_failure(result, "copy", conn.shipped is not None)
    return len(missing)


def _send_secrets(ctx: Context, conn: Connection, contents: dict[str, bytes]) -> None:
    """Over the SSH connection, straight into the target's secrets directory: never a
    file on this machine, never the target's store."""
    ctx.say(conn.host.name, f"sending {len(contents)} secrets")
    payload = json.dumps({n: base64.b64encode(c).decode() for n, c in contents.items()})
    result = conn.run(conn.genman("remote", "receive-secrets"), what="secrets", input=payload)
    if not result.ok:
        raise remote_failure(result, "secrets")


def _activate(ctx: Context, conn: Connection, action: Action, toplevel: str,
              confirm: bool) -> tuple[Outcome, int | None, str]:
    name = conn.host.name
    ctx.say(name, "activating")
    args = ["remote", "activate", toplevel, "--mode", action.value]
    if confirm:
        args += ["--confirm-within", ctx.confirm_within]
    try:
        result = conn.run(conn.genman(*args), what="activate", timeout=1800)
    except Unreachable as e:
        if not confirm:
            raise
        # Nobody can confirm what this connection started: the target goes back by itself.
        return Outcome.REVERTED, None, (f"the connection broke during activation "
                                        f"({e.message}); unconfirmed, the host goes back "
                                        f"to its generation by itself")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise remote_failure(result, "activate", conn.shipped is not None) from None
    new = answer.get("new")
    if answer.get("exit") == 5:
        return Outcome.REVERTED, new, "the new generation failed its checks"
    if answer.get("services_failed"):
        return Outcome.FAILED, new, "services failed: " + ", ".join(answer["services_failed"])
    if answer.get("exit") not in (0, None):
        return Outcome.FAILED, new, f"activation exit code {answer.get('exit')}"
    if confirm:
        ctx.say(name, "confirming")
        try:  # a new connection: proof the host is reachable after the switch
            res = conn.run(conn.genman("confirm"), what="confirm", fresh=True, timeout=60)
        except Unreachable as e:
            return Outcome.REVERTED, new, f"confirm did not reach the host ({e.message})"
        if not res.ok:
            return Outcome.REVERTED, new, remote_failure(res, "confirm", True).message
    return DONE[action], new, ""


def connect(ctx: Context, host: Host) -> Connection:
    """The host's connection: with the shipped genman unless the inventory names one."""
    return Connection(host, ctx.control_dir,
                      None if host.genman is not None else ctx.store.shipped().name,
                      dry=not ctx.store.write)


def gather(ctx: Context, conn: Connection) -> tuple[facts_mod.Facts, bool]:
    """Facts, and whether the target's store holds the genman the deploy runs there."""
    if conn.shipped is None:
        return facts_mod.gather(conn), True
    from genman.deploy import ship

    return ship.facts(conn, ctx.store.shipped(), not ctx.store.write, ctx.say)


def run_host(ctx: Context, host: Host, action: Action) -> HostResult:
    t0 = time.monotonic()
    conn = Connection(host, ctx.control_dir)
    old: int | None = None

    def result(outcome: Outcome, new: int | None = None, detail: str = "",
               copied: int = 0) -> HostResult:
        return HostResult(host.name, outcome, old, new, detail, time.monotonic() - t0, copied)

    try:
        conn = connect(ctx, host)
        ctx.say(host.name, "facts")
        f = gather(ctx, conn)[0]
        old = f.default if action is Action.BOOT else f.active
        ctx.say(host.name, "building")
        built = ctx.store.build(host, f, conn.shipped)
        if unchanged(action, f, built.toplevel):
            return result(Outcome.UNCHANGED, old)
        copied = _copy(ctx, conn, built.closure)
        if built.secrets:
            _send_secrets(ctx, conn, built.secrets)
        # A confirmed switch needs a live generation to go back to: not on a first deploy.
        confirm = f.confirm and action is Action.SWITCH and f.active is not None
        outcome, new, detail = _activate(ctx, conn, action, built.toplevel, confirm)
        return result(outcome, new, detail, copied)
    except Unreachable as e:
        return result(Outcome.UNREACHABLE, detail=e.message)
    except GenmanError as e:
        return result(Outcome.FAILED, detail=e.message)
    finally:
        close(conn)


def close(conn: Connection) -> None:
    with contextlib.suppress(GenmanError):
        conn.close()


def execute(rollout: Rollout, run_one: Callable[[str], HostResult]) -> list[HostResult]:
    """Phases in order, at most `limit` hosts at once; once `max_fail` hosts failed (or a
    canary phase did not fully succeed) no new host starts."""
    results: dict[str, HostResult] = {}
    failed = 0
    stopped = ""
    with ThreadPoolExecutor(max_workers=rollout.limit) as pool:
        for phase in rollout.phases:
            queue = list(phase.hosts)
            running: dict[Future[HostResult], str] = {}
            while queue or running:
                while queue and not stopped and len(running) < rollout.limit:
                    if not rollout.may_start(failed):
                        stopped = f"--max-fail {rollout.max_fail} reached"
                        break
                    name = queue.pop(0)
                    running[pool.submit(run_one, name)] = name
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    r = fut.result()
                    results[r.host] = r
                    failed += not r.outcome.ok
                    del running[fut]
            for name in queue:
                results[name] = HostResult(name, Outcome.SKIPPED, detail=stopped)
            if phase.gate and not stopped and not all(results[h].outcome.ok
                                                      for h in phase.hosts):
                stopped = "a canary host did not succeed"
    order = [h for p in rollout.phases for h in p.hosts]
    return [results[h] for h in order]
