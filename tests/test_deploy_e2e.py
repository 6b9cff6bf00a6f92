"""genman deploy against real sshd targets, each in its own network namespace with its own
--root tree (see sshnet and fleet). Needs root and namespaces: where they are missing,
these fail."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet import (
    GENMAN,
    NAMES,
    by_host,
    deploy,
    env,
    etc,
    etc_path,
    started,
    write_fleet,
)
from tests.sshnet import Net, sh


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    yield from started(tmp_path, NAMES)


@pytest.fixture
def net10(tmp_path: Path) -> Iterator[Net]:
    yield from started(tmp_path, [f"node{i}" for i in range(1, 11)])


def test_parallel_deploy_with_per_host_vars_then_nothing_to_copy(net: Net) -> None:
    inv = write_fleet(net)
    code, rows, err = deploy(net, inv)
    assert code == 0, json.dumps(rows) + err
    res = by_host(rows)
    for i, name in enumerate(NAMES, 1):
        assert res[name]["result"] == "switched", res[name]
        assert res[name]["new"] == 1
        assert int(str(res[name]["copied"])) > 0
        assert etc(net, name, "bird/bird.conf") == (
            f"router id 172.18.{i}.1;\n# ospf cost 10 on {name}\n")
        assert etc(net, name, "motd") == f"AS{4225470000 + i}\n"
        t = net.targets[i - 1]
        assert os.stat(t.root / "etc/bird/bird.conf").st_gid == 101  # the target's bird
    # All three ran at once: their facts steps started before any finished.
    starts = [line for line in err.splitlines() if line.endswith(": facts")]
    assert len(starts) == 3

    before = [t.sessions() for t in net.targets]
    code, rows, err = deploy(net, inv)
    assert code == 0, json.dumps(rows) + err
    assert [t.sessions() - b for t, b in zip(net.targets, before, strict=True)] == [1, 1, 1]
    for name in NAMES:
        assert by_host(rows)[name]["result"] == "unchanged"
        assert by_host(rows)[name]["copied"] == 0
    assert "copying" not in err and "activating" not in err


def test_ten_hosts_at_once(net10: Net) -> None:
    inv = write_fleet(net10)
    code, rows, err = deploy(net10, inv, "--limit", "10")
    assert code == 0, json.dumps(rows) + err
    assert [r["result"] for r in rows] == ["switched"] * 10
    for i, t in enumerate(net10.targets, 1):
        assert etc(net10, t.name, "bird/bird.conf") == (
            f"router id 172.18.{i}.1;\n# ospf cost 10 on {t.name}\n")
    # all ten started before any was done gathering facts and building
    first = err.splitlines()[:10]
    assert all(line.endswith(": facts") for line in first), err
    # in the deployer's store, what differs per host is there ten times, what the hosts
    # share once
    store = net10.tmp / "cache/genman/deploy/var/lib/genman/store"
    assert len([p for p in store.iterdir() if p.name.endswith("-motd")]) == 10
    assert len([p for p in store.iterdir() if p.name.endswith("-issue")]) == 1


def test_unreachable_host_gives_exit_6_while_the_others_switch(net: Net) -> None:
    net.targets[1].stop()
    inv = write_fleet(net)
    code, rows, err = deploy(net, inv)
    assert code == 6, err
    res = by_host(rows)
    assert res["ams1"]["result"] == "unreachable"
    assert res["fra1"]["result"] == "switched" and res["lon1"]["result"] == "switched"
    table = sh(*GENMAN, "deploy", "-i", str(inv), netns=net.hub, check=False, env=env(net))
    assert table.returncode == 6
    assert any(line.startswith("ams1") and "unreachable" in line
               for line in table.stdout.splitlines()), table.stdout
    assert not (net.targets[1].root / "var/lib/genman/generations").exists()


def test_max_fail_stops_the_rollout(net: Net) -> None:
    net.targets[0].stop()
    inv = write_fleet(net)
    code, rows, _ = deploy(net, inv, "--limit", "1", "--max-fail", "1")
    assert code == 6
    assert [r["result"] for r in rows] == ["unreachable", "skipped", "skipped"]
    assert not (net.targets[1].root / "var/lib/genman/generations").exists()


def test_canary_failure_stops_the_rest(net: Net) -> None:
    net.targets[0].stop()
    inv = write_fleet(net)
    code, rows, _ = deploy(net, inv, "--canary", "1")
    assert code == 6
    assert [r["result"] for r in rows] == ["unreachable", "skipped", "skipped"]


def test_cut_copy_leaves_no_partial_store_path_and_next_deploy_completes(net: Net) -> None:
    inv = write_fleet(net)
    big = net.tmp / "fleet/big.bin"
    big.write_bytes(os.urandom(64 * 1024 * 1024))
    with open(net.tmp / "fleet/profile.toml", "a") as f:
        f.write('[etc."big.bin"]\nsource = "big.bin"\n')
    target = net.targets[0]
    store = target.root / "var/lib/genman/store"
    proc = subprocess.Popen(["ip", "netns", "exec", net.hub, *GENMAN, "deploy", "-i", str(inv),
                             "--hosts", "fra1", "--json"], env=env(net), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Cut the connection once the copy is under way (a staging directory exists).
    import time

    deadline = time.monotonic() + 120
    while not (store.is_dir() and any(p.name.startswith(".genman-tmp-")
                                      for p in store.iterdir())):
        assert time.monotonic() < deadline, "the copy never started"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    target.stop()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 6, err
    assert json.loads(out)[0]["result"] in ("unreachable", "failed")
    time.sleep(0.5)  # the target's receiver, killed with its session, left what it left
    complete = [p for p in store.iterdir() if not p.name.startswith(".genman-tmp-")]
    assert not any(p.name.endswith("big.bin") for p in complete)
    assert not (target.root / "var/lib/genman/generations").exists()

    target.start()
    net.wait_ready()
    code, rows, err = deploy(net, inv, "--hosts", "fra1")
    assert code == 0, json.dumps(rows) + err
    assert rows[0]["result"] == "switched"
    assert etc_path(net, "fra1", "big.bin").read_bytes() == big.read_bytes()
    assert not any(p.name.startswith(".genman-tmp-") for p in store.iterdir())


def test_ansible_inventory_with_group_vars_and_host_vars(net: Net) -> None:
    write_fleet(net)  # the profile and template
    d = net.tmp / "fleet"
    opts = " ".join(net.ssh_options())
    lines = ["[edge]"]
    for t in net.targets:
        lines.append(f"{t.name} ansible_host={t.address} genman_root={t.root}")
    lines += ["", "[anycast:children]", "edge", "", "[anycast:vars]", "ospf_cost=20",
              f"ansible_ssh_common_args={opts}",
              "genman_profile=profile.toml"]
    (d / "inventory.ini").write_text("\n".join(lines) + "\n")
    (d / "group_vars").mkdir()
    (d / "group_vars/edge.yml").write_text("ospf_cost: 30\n")
    (d / "host_vars").mkdir()
    for i, t in enumerate(net.targets, 1):
        (d / f"host_vars/{t.name}.yml").write_text(
            f"ltnet_index: {i}\nltnet_prefix_v4: \"172.18.{10 + i}\"\n")
    code, rows, err = deploy(net, d / "inventory.ini")
    assert code == 0, json.dumps(rows) + err
    for i, name in enumerate(NAMES, 1):
        assert by_host(rows)[name]["result"] == "switched"
        assert etc(net, name, "bird/bird.conf") == (
            f"router id 172.18.{10 + i}.1;\n# ospf cost 30 on {name}\n")
        assert etc(net, name, "motd") == f"AS{4225470000 + i}\n"


def test_dry_run_prints_the_plan_and_touches_nothing(net: Net) -> None:
    inv = write_fleet(net)
    r = sh(*GENMAN, "deploy", "-i", str(inv), "--dry-run", "--canary", "1", "--limit", "2",
           netns=net.hub, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "switch: 3 hosts, 2 at once",
        "each host: facts -> build -> copy -> activate -> confirm",
        "phase 1 (canary: the rest only if all of these succeed): fra1",
        "phase 2: ams1, lon1",
        f"fra1: root@10.231.1.2, root {net.targets[0].root}, profile {inv.parent}/profile.toml",
        "  vars: ltnet_index, ltnet_prefix_v4, ospf_cost",
        f"ams1: root@10.231.2.2, root {net.targets[1].root}, profile {inv.parent}/profile.toml",
        "  vars: ltnet_index, ltnet_prefix_v4, ospf_cost",
        f"lon1: root@10.231.3.2, root {net.targets[2].root}, profile {inv.parent}/profile.toml",
        "  vars: ltnet_index, ltnet_prefix_v4, ospf_cost",
    ]
    assert [t.sessions() for t in net.targets] == [1, 1, 1]  # only wait_ready's


def test_a_target_without_genman_gets_one_clear_line(net: Net) -> None:
    inv = write_fleet(net)
    inv.write_text(inv.read_text().replace(
        "[hosts.lon1]\n", '[hosts.lon1]\ngenman = "/opt/nowhere/genman"\n'))
    code, rows, _ = deploy(net, inv)
    assert code == 6
    res = by_host(rows)
    assert res["lon1"]["result"] == "failed"
    assert res["lon1"]["detail"] == "facts: genman (or python3) is not installed on the target"
    assert res["fra1"]["result"] == "switched" and res["ams1"]["result"] == "switched"
