"""`genman deploy --dry-run`: every selected host's own plan, changing nothing anywhere.

Each host answers its facts (read only); its generation is built here without writing
the local store; the target then plans that generation as `switch --dry-run` would (its
manifest on stdin, nothing copied) and prints what it would do. Where the target lacks
the shipped genman, genman runs from a temporary directory there and leaves nothing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from genman.deploy import runner
from genman.deploy.hosts import Host
from genman.deploy.rollout import Action, Rollout
from genman.deploy.ssh import Connection, Unreachable, remote_failure
from genman.errors import GenmanError


@dataclass(frozen=True)
class HostPlan:
    host: Host
    result: str  # planned, unchanged, failed, unreachable
    old: int | None = None
    new: int | None = None
    detail: str = ""
    lines: tuple[str, ...] = ()
    plan: list[dict[str, Any]] | None = field(default=None, hash=False)

    @property
    def ok(self) -> bool:
        return self.result in ("planned", "unchanged")

    def to_dict(self) -> dict[str, object]:
        return {"host": self.host.name, "result": self.result, "old": self.old,
                "new": self.new, "detail": self.detail, "plan": self.plan}

    def text(self) -> list[str]:
        h = self.host
        where = f"{h.ssh_user + '@' if h.ssh_user else ''}{h.address}"
        where += f":{h.port}" if h.port else ""
        out = [f"== {h.name}: {where}, root {h.root}, profile {h.profile} =="]
        if h.vars:  # names only: an inventory's vars may hold secrets
            out.append("vars: " + ", ".join(sorted(h.vars)))
        if self.result == "planned":
            return out + list(self.lines)
        if self.result == "unchanged":
            return [*out, f"unchanged: it runs generation {self.old} already"]
        return [*out, f"{self.result}: {self.detail}"]


def _remote_plan(ctx: runner.Context, conn: Connection, args: list[str], manifest: str,
                 present: bool) -> dict[str, Any]:
    from genman.deploy import ship

    if present:
        result = conn.run(conn.genman(*args), what="plan", input=manifest)
    else:
        result = ship.unpacked(conn, ctx.store.shipped(), args, manifest.encode(), "plan")
    if not result.ok:
        raise remote_failure(result, "plan", conn.shipped is not None)
    try:
        answer = json.loads(result.stdout)
        return {"number": int(answer["number"]), "lines": [str(x) for x in answer["lines"]],
                "plan": list(answer["plan"])}
    except (ValueError, KeyError, TypeError) as e:
        raise GenmanError(f"plan: the target's genman answered something else: {e}") from None


def plan_host(ctx: runner.Context, host: Host, action: Action) -> HostPlan:
    conn = Connection(host, ctx.control_dir)
    try:
        conn = runner.connect(ctx, host)
        f, present = runner.gather(ctx, conn)
        old = f.default if action is Action.BOOT else f.active
        built = ctx.store.build(host, f, conn.shipped)
        if runner.unchanged(action, f, built.toplevel):
            return HostPlan(host, "unchanged", old, old)
        args = ["remote", "plan", built.toplevel, "--mode", action.value]
        if f.confirm and action is Action.SWITCH and f.active is not None:
            args += ["--confirm-within", ctx.confirm_within]
        answer = _remote_plan(ctx, conn, args, built.manifest.to_json(), present)
        return HostPlan(host, "planned", old, answer["number"], lines=tuple(answer["lines"]),
                        plan=answer["plan"])
    except Unreachable as e:
        return HostPlan(host, "unreachable", detail=e.message)
    except GenmanError as e:
        return HostPlan(host, "failed", detail=e.message)
    finally:
        runner.close(conn)


def run(ctx: runner.Context, rollout: Rollout, hosts: dict[str, Host]) -> list[HostPlan]:
    """Every host of every phase, `limit` at once: a dry run stops for nothing."""
    names = [h for p in rollout.phases for h in p.hosts]
    with ThreadPoolExecutor(max_workers=rollout.limit) as pool:
        return list(pool.map(lambda n: plan_host(ctx, hosts[n], rollout.action), names))


def text(rollout: Rollout, plans: list[HostPlan]) -> str:
    lines = rollout.describe()
    for p in plans:
        lines += ["", *p.text()]
    return "\n".join(lines) + "\n"


def to_json(rollout: Rollout, plans: list[HostPlan]) -> str:
    return json.dumps({"rollout": rollout.to_dict(), "hosts": [p.to_dict() for p in plans]},
                      indent=2)
