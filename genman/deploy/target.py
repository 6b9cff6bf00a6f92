"""What `genman remote ...` does on a deploy's target, under its --root.

`facts` answers the deployer's first question in one round trip (who the host is, its
users and groups, what it runs); `has` which store paths it holds; `receive` takes the
missing ones (see copy); `activate` makes the received toplevel a generation and switches,
boots or tests it.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

from genman import fsutil, generation, status
from genman.context import Options
from genman.errors import GenmanError
from genman.layout import Layout, is_store_name
from genman.lock import locked
from genman.profile.owners import read_ids

Progress = Callable[[str], None]
CONFIRM_EXIT_REVERTED = 5



def _toplevel(layout: Layout, number: int | None) -> str | None:
    if number is None:
        return None
    try:
        return generation.toplevel_of(layout, number)
    except GenmanError:
        return None


def facts(layout: Layout, confirm: bool) -> dict[str, Any]:
    """`confirm`: this genman has the confirmed switch (the CLI knows)."""
    try:
        hostname = layout.host("/etc/hostname").read_text().strip() or socket.gethostname()
    except OSError:
        hostname = socket.gethostname()
    m = status.markers(layout)
    from genman import __version__

    return {
        "hostname": hostname,
        "architecture": platform.machine(),
        "kernel": platform.release(),
        "users": read_ids(layout, "/etc/passwd"),
        "groups": read_ids(layout, "/etc/group"),
        "active": m.active, "active_toplevel": _toplevel(layout, m.active),
        "default": m.default, "default_toplevel": _toplevel(layout, m.default),
        "genman_version": __version__,
        "confirm": confirm,
    }


def has(layout: Layout, names: Iterable[str]) -> list[str]:
    store = layout.host(layout.store_dir)
    return [n for n in names if is_store_name(n) and "/" not in n
            and os.path.lexists(store / n)]


def receive(layout: Layout, stream: IO[bytes]) -> list[str]:
    from genman import storemount
    from genman.deploy import copy
    from genman.store import Store

    # not a session: a copy changes nothing live, undoes nothing
    with locked(layout), storemount.writable(layout):
        Store(layout).clean()  # what an earlier cut copy left
        return copy.receive(layout.host(layout.store_dir), stream)


def receive_secrets(layout: Layout, text: str) -> list[str]:
    import base64
    import binascii

    from genman import secretstore

    try:
        data = json.loads(text)
        contents = {str(n): base64.b64decode(c, validate=True) for n, c in data.items()}
    except (ValueError, AttributeError, TypeError, binascii.Error):
        raise GenmanError("the secrets the deploy sent are not genman's JSON",
                          hint="deploy again with the same genman version") from None
    with locked(layout):
        return secretstore.receive(layout, contents)


def register(layout: Layout, toplevel: str) -> int:
    """The generation number of a received toplevel: the newest one when it is that
    toplevel already, else a new one (caller holds the lock)."""
    store = layout.host(layout.store_dir)
    if not is_store_name(toplevel) or "/" in toplevel or \
            not (store / toplevel / "manifest.json").is_file():
        raise GenmanError(f"store path {toplevel} is missing or incomplete on the target")
    refs = (store / toplevel / "references").read_text().split()
    missing = [r for r in refs if not os.path.lexists(store / r)]
    if missing:
        raise GenmanError(f"{len(missing)} store paths of {toplevel} are missing on the "
                          f"target, e.g. {missing[0]}")
    numbers = generation.generation_numbers(layout)
    if numbers and generation.toplevel_of(layout, numbers[-1]) == toplevel:
        return numbers[-1]
    number = (numbers[-1] if numbers else 0) + 1
    gens = layout.host(layout.generations_dir)
    gens.mkdir(parents=True, exist_ok=True)
    fsutil.atomic_symlink(str(layout.store_dir / toplevel), gens / str(number))
    return number


def activate(opts: Options, toplevel: str, mode: str, confirm_within: str | None,
             progress: Progress) -> dict[str, Any]:
    """Register and activate; {old, new, exit, services_failed}."""
    from genman import activation
    from genman.session import session

    layout = opts.layout
    before = status.markers(layout)
    old = before.default if mode == "boot" else before.active
    with session(opts, progress):
        number = register(layout, toplevel)
        if confirm_within is None:
            m = activation.Mode(mode)
            target = activation._target(layout, number)
            result = activation._apply(opts, target, m, activation.Flags(), progress, mode)
            failed = [f.change.unit for f in result.outcome.failures]
            return {"old": old, "new": number, "exit": 4 if failed else 0,
                    "services_failed": failed}
    return {"old": old, "new": number, "services_failed": [],
            "exit": confirmed_switch(opts, number, confirm_within)}


def confirmed_switch(opts: Options, number: int, within: str) -> int:
    """The seam to the confirmed switch: activate now, revert by itself unless `genman
    confirm` comes within `within`. Its exit code (0, 4, 5 reverted)."""
    from genman.process import run

    argv = [sys.executable, "-m", "genman", "--root", str(opts.layout.root),
            "switch-generation", str(number), "--confirm-within", within]
    result = run(argv, check=False)
    sys.stderr.write(result.stderr)
    if result.returncode not in (0, 4, CONFIRM_EXIT_REVERTED):
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
        raise GenmanError(errors[-1].removeprefix("error: ") if errors else
                          f"switch-generation --confirm-within: exit {result.returncode}")
    return result.returncode


def dump(data: object) -> str:
    return json.dumps(data, sort_keys=True)


def plan(opts: Options, toplevel: str, manifest_json: str, mode: str,
         confirm_within: str | None) -> dict[str, Any]:
    """What `switch --dry-run` (with --confirm-within where deploy confirms) prints for a
    generation built by the deployer, before any of it is copied: {number, lines, plan}."""
    from genman import activation
    from genman.health.commands import health_lines
    from genman.manifest import Manifest
    from genman.planjson import plan_json

    try:
        manifest = Manifest.from_json(manifest_json)
    except (ValueError, KeyError, TypeError) as e:
        raise GenmanError(f"the deployer sent no readable manifest: {e}") from None
    # A confirmed switch activates as `test` does: the default moves only on confirm.
    m = activation.Mode("test" if confirm_within is not None else mode)
    result = activation.plan_received(opts, toplevel, manifest, m)
    lines = [f"plan for generation {result.number}:",
             *(f"  {line}" for line in result.plan.describe())]
    if mode != "test":
        lines += health_lines(manifest.health, confirm_within)
    return {"number": result.number, "lines": lines, "plan": plan_json(result.plan)}
