"""The table a deploy ends with: host, old -> new generation, result, time."""

from __future__ import annotations

from collections import Counter

from genman.deploy.hosts import Host
from genman.deploy.runner import HostResult


def _gen(n: int | None) -> str:
    return "-" if n is None else str(n)


def table(results: list[HostResult]) -> str:
    rows = [("HOST", "GENERATION", "RESULT", "TIME")]
    for r in results:
        generations = _gen(r.old) if r.new is None or r.new == r.old else \
            f"{_gen(r.old)} -> {r.new}"
        what = r.outcome.value + (f": {r.detail}" if r.detail else "")
        rows.append((r.host, generations, what, f"{r.seconds:.1f}s"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
             for a, b, c, d in rows]
    counts = Counter(r.outcome.value for r in results)
    lines.append(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return "\n".join(lines) + "\n"


def hosts_text(hosts: list[Host]) -> list[str]:
    """What --dry-run says about each host: how it is reached, what it gets."""
    lines = []
    for h in hosts:
        where = f"{h.ssh_user + '@' if h.ssh_user else ''}{h.address}"
        where += f":{h.port}" if h.port else ""
        lines.append(f"{h.name}: {where}, root {h.root}, profile {h.profile}")
        if h.vars:  # names only: an inventory's vars may hold secrets
            lines.append("  vars: " + ", ".join(sorted(h.vars)))
    return lines
