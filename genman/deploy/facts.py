"""What the deployer learns about a target in its first round trip: who it is (for
templates' `host`), its users and groups (for `user`/`group`), and what it runs now."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from genman.deploy.ssh import Connection, remote_failure
from genman.errors import GenmanError
from genman.process import Result
from genman.profile import TargetFacts


@dataclass(frozen=True)
class Facts:
    hostname: str
    architecture: str
    kernel: str
    users: dict[str, int] = field(hash=False)
    groups: dict[str, int] = field(hash=False)
    active: int | None
    active_toplevel: str | None
    default: int | None
    default_toplevel: str | None
    confirm: bool  # the target's genman has the confirmed switch

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Facts:
        return cls(
            hostname=str(d["hostname"]), architecture=str(d["architecture"]),
            kernel=str(d["kernel"]),
            users={str(k): int(v) for k, v in d["users"].items()},
            groups={str(k): int(v) for k, v in d["groups"].items()},
            active=d.get("active"), active_toplevel=d.get("active_toplevel"),
            default=d.get("default"), default_toplevel=d.get("default_toplevel"),
            confirm=bool(d.get("confirm")),
        )

    def for_profile(self, vars: dict[str, Any]) -> TargetFacts:
        host = {"hostname": self.hostname, "architecture": self.architecture,
                "kernel": self.kernel}
        return TargetFacts(host=host, users=self.users, groups=self.groups, vars=vars)


def gather(conn: Connection) -> Facts:
    """From the target's own genman (the inventory names it; see ship for the rest)."""
    return parse(conn.run(conn.genman("remote", "facts"), what="facts", timeout=120))


def parse(result: Result, shipped: bool = False) -> Facts:
    if not result.ok:
        raise remote_failure(result, "facts", shipped)
    try:
        return Facts.from_dict(json.loads(result.stdout))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise GenmanError(f"facts: the target's genman answered something else: {e}",
                          hint="install the same genman version on the target") from None
