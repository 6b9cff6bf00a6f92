"""deploy's confirmed switch against real sshd targets (see fleet and sshnet): the confirm
comes over a new connection; a host that cannot be reached to confirm, or whose new
generation fails its checks, reverts by itself while the others switch."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet import GENMAN, NAMES, by_host, deploy, env, etc, started, write_fleet
from tests.sshnet import Net, sh


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Net]:
    yield from started(tmp_path, NAMES)

WAIT = 60.0  # seconds a target's watcher gets to revert after its deadline


def bump(net: Net, index: int) -> None:
    """A one-variable change: ltnet_index of every host moves by `index`."""
    p = net.tmp / "fleet/hosts.toml"
    p.write_text(p.read_text().replace("ltnet_index = ", f"ltnet_index = {index}"))


def give_check(net: Net, inv: Path, host: str, check: str, command: str) -> None:
    """`host` deploys the fleet profile plus one required health check running `command`
    (a TOML array)."""
    name = f"{host}-{check}.toml"
    (net.tmp / "fleet" / name).write_text(
        f'imports = ["profile.toml"]\n[health.checks.{check}]\ncommand = {command}\n')
    inv.write_text(inv.read_text().replace(f"[hosts.{host}]\n",
                                           f'[hosts.{host}]\nprofile = "{name}"\n'))


def default_of(root: Path) -> str:
    return os.readlink(root / "var/lib/genman/default")


def sessions_ports(net: Net, i: int) -> list[str]:
    log = net.targets[i].config.with_suffix(".log").read_text()
    return [ln.split(" port ")[1].split()[0] for ln in log.splitlines()
            if "Starting session: command" in ln]


def test_second_deploy_confirms_over_a_new_connection(fleet: Net) -> None:
    net = fleet
    inv = write_fleet(net)
    assert deploy(net, inv)[0] == 0  # first generation: a plain switch
    bump(net, 1)
    before = len(sessions_ports(net, 0))
    code, rows, err = deploy(net, inv, "--confirm-within", "30s")
    assert code == 0, json.dumps(rows) + err
    assert all(r["result"] == "switched" and r["new"] == 2 for r in rows)
    assert "fra1: confirming" in err
    for t in net.targets:
        assert default_of(t.root).endswith("/2")  # confirmed: the boot default moved
    # facts, store query, copy and activate share one connection; the confirm has its own
    ports = sessions_ports(net, 0)[before:]
    assert len(ports) == 5 and len(set(ports[:4])) == 1 and ports[4] != ports[0]


def test_host_unreachable_for_the_confirm_reverts_by_itself(fleet: Net) -> None:
    net = fleet
    inv = write_fleet(net)
    assert deploy(net, inv)[0] == 0
    bump(net, 1)
    proc = subprocess.Popen(["ip", "netns", "exec", net.hub, *GENMAN, "deploy", "-i", str(inv),
                             "--json", "--confirm-within", "20s"], env=env(net), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Once ams1 activates, its sshd stops taking new connections (the session in use,
    # a child of it, carries on): the confirm cannot reach it.
    ams1 = net.targets[1]
    log = net.tmp / "deploy.err"
    deadline = time.monotonic() + WAIT
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if line.startswith("ams1: activating"):
            assert ams1.sshd is not None
            ams1.sshd.kill()
            ams1.sshd.wait(timeout=10)
            ams1.sshd = None
            break
        assert time.monotonic() < deadline, seen
    out, rest = proc.communicate(timeout=300)
    log.write_text(seen + rest)
    assert proc.returncode == 6, seen + rest
    res = by_host(json.loads(out))
    assert res["ams1"]["result"] == "reverted", res["ams1"]
    assert "confirm did not reach" in str(res["ams1"]["detail"])
    # the others confirmed in time (the deadline leaves room for a loaded machine)
    assert res["fra1"]["result"] == "switched" and res["lon1"]["result"] == "switched", res
    # ams1's own watcher puts generation 1 back at the deadline
    active = ams1.root / "run/genman/active"
    deadline = time.monotonic() + WAIT
    while not os.readlink(active).endswith("/1"):
        assert time.monotonic() < deadline, os.readlink(active)
        time.sleep(0.2)
    assert default_of(ams1.root).endswith("/1")
    assert etc(net, "ams1", "motd") == "AS4225470002\n"  # generation 1's ltnet_index = 2


def test_failed_health_check_reverts_that_host_only(fleet: Net) -> None:
    net = fleet
    inv = write_fleet(net)
    assert deploy(net, inv)[0] == 0
    give_check(net, inv, "lon1", "gateway", '["false"]')
    bump(net, 1)
    code, rows, err = deploy(net, inv, "--confirm-within", "30s")
    assert code == 6, json.dumps(rows) + err
    res = by_host(rows)
    assert res["lon1"]["result"] == "reverted", res["lon1"]
    assert "checks" in str(res["lon1"]["detail"])
    assert res["fra1"]["result"] == "switched" and res["ams1"]["result"] == "switched"
    lon1 = net.targets[2].root
    assert default_of(lon1).endswith("/1")
    assert os.readlink(lon1 / "run/genman/active").endswith("/1")
    assert etc(net, "lon1", "motd") == f"AS{4225470000 + 3}\n"
    assert NAMES[2] == "lon1"


def kill_sshd(net: Net, i: int) -> None:
    """Cut every ssh connection to target i, and take no new one: its sshd processes (the
    listener and each session's) go, what the sessions started carries on."""
    t = net.targets[i]
    for pid in sh("ip", "netns", "pids", t.netns, check=False).stdout.split():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "sshd":
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
    if t.sshd is not None:
        t.sshd.wait(timeout=10)
        t.sshd = None


def test_connection_cut_mid_activation_reverts_by_itself(fleet: Net) -> None:
    net = fleet
    inv = write_fleet(net)
    assert deploy(net, inv)[0] == 0
    # ams1's new generation takes a few seconds to check: the cut lands inside activation
    give_check(net, inv, "ams1", "settle", '["sleep", "4"]')
    bump(net, 1)
    proc = subprocess.Popen(["ip", "netns", "exec", net.hub, *GENMAN, "deploy", "-i", str(inv),
                             "--json", "--confirm-within", "20s"], env=env(net), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = ""
    assert proc.stderr is not None
    deadline = time.monotonic() + WAIT
    for line in proc.stderr:
        seen += line
        if line.startswith("ams1: activating"):
            # cut once the target is inside the confirmed switch: its pending confirmation
            # and watcher come first, then the activation and the checks (4 s)
            pending = net.targets[1].root / "var/lib/genman/health/pending.json"
            while not pending.exists():
                assert time.monotonic() < deadline and proc.poll() is None, seen
                time.sleep(0.05)
            kill_sshd(net, 1)
            break
        assert time.monotonic() < deadline, seen
    out, rest = proc.communicate(timeout=300)
    assert proc.returncode == 6, seen + rest
    res = by_host(json.loads(out))
    assert res["ams1"]["result"] == "reverted", res["ams1"]
    # The cut lands in the remote command (activation, checks) or, if the host was that
    # quick, in the confirm that follows. Either way ams1 was never confirmed.
    detail = str(res["ams1"]["detail"])
    assert ("connection broke during activation" in detail
            or "confirm did not reach the host" in detail), detail
    assert res["fra1"]["result"] == "switched" and res["lon1"]["result"] == "switched", res
    # ams1 was never confirmed: it is back on generation 1 by itself, and 1 stays the default
    ams1 = net.targets[1].root
    deadline = time.monotonic() + WAIT
    while not os.readlink(ams1 / "run/genman/active").endswith("/1"):
        assert time.monotonic() < deadline, os.readlink(ams1 / "run/genman/active")
        time.sleep(0.2)
    assert default_of(ams1).endswith("/1")
    assert etc(net, "ams1", "motd") == "AS4225470002\n"
    # it had got as far as generation 2, and that one is marked as reverted
    assert (ams1 / "var/lib/genman/generations/2").is_symlink()
    state = json.loads((ams1 / "var/lib/genman/health/state/2.json").read_text())
    assert state["state"] == "failed", state
    for t in (net.targets[0], net.targets[2]):
        assert default_of(t.root).endswith("/2")
