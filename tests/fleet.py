"""A fleet of sshd targets for deploy tests (see sshnet): the inventory and profile they
share, running `genman deploy` from the hub, reading what a target's /etc says."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from genman.profile import resolve_in_root
from tests.sshnet import Net, make_net, sh

REPO = Path(__file__).resolve().parent.parent
# The deployer: this checkout's genman (the one it ships to the targets).
GENMAN = (sys.executable, "-m", "genman")
# The targets' interpreter: Debian's, with genman's dependencies from Debian packages and
# no genman (whatever `python3` root's shell finds here may be another one).
PYTHON = "/usr/bin/python3"
NAMES = ["fra1", "ams1", "lon1"]


def env(net: Net) -> dict[str, str]:
    """The deployer's environment: its own cache, this checkout first on the path."""
    return {**os.environ, "XDG_CACHE_HOME": str(net.tmp / "cache"), "PYTHONPATH": str(REPO)}


def started(tmp: Path, names: list[str]) -> Iterator[Net]:
    n = make_net(tmp)
    try:
        for name in names:
            n.add(name)
        n.wait_ready()
        yield n
    finally:
        n.close()


def write_fleet(net: Net, extra: str = "") -> Path:
    d = net.tmp / "fleet"
    d.mkdir(exist_ok=True)
    (d / "bird.conf.j2").write_text(
        "router id {{ ltnet_prefix_v4 }}.1;\n# ospf cost {{ ospf_cost }} on {{ host.hostname }}\n")
    (d / "profile.toml").write_text(
        '[system]\ndescription = "edge"\n[vars]\nltnet_index = 0\nospf_cost = 1\n'
        'ltnet_prefix_v4 = "172.18.0"\n'
        '[etc."bird/bird.conf"]\ntemplate = "bird.conf.j2"\nmode = "0640"\ngroup = "bird"\n'
        '[etc.motd]\ntext = "AS{{ 4225470000 + ltnet_index }}\\n"\n'
        '[etc.issue]\ntext = "Debian GNU/Linux\\n"\n')
    opts = json.dumps(net.ssh_options())
    lines = [f"[defaults]\nssh_user = \"root\"\nssh_options = {opts}\npython = \"{PYTHON}\"\n",
             "[groups.edge]\nvars = { ospf_cost = 10 }\n"]
    for i, t in enumerate(net.targets, 1):
        lines.append(f'[hosts.{t.name}]\naddress = "{t.address}"\ngroups = ["edge"]\n'
                     f'root = "{t.root}"\n'
                     f'vars = {{ ltnet_index = {i}, ltnet_prefix_v4 = "172.18.{i}" }}\n')
    (d / "hosts.toml").write_text("\n".join(lines) + extra)
    return d / "hosts.toml"


def deploy(net: Net, inventory: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    r = sh(*GENMAN, "deploy", "-i", str(inventory), "--json", *args, netns=net.hub,
           check=False, env=env(net), timeout=300)
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"deploy printed no JSON (exit {r.returncode}): {r.stderr}") from None
    return r.returncode, rows, r.stderr


def by_host(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["host"]): r for r in rows}


def etc_path(net: Net, host: str, path: str) -> Path:
    """An /etc file as the target sees it (its links name target paths)."""
    t = next(t for t in net.targets if t.name == host)
    return t.root / str(resolve_in_root(t.root, PurePosixPath("/etc", path))).lstrip("/")


def etc(net: Net, host: str, path: str) -> str:
    return etc_path(net, host, path).read_text()
