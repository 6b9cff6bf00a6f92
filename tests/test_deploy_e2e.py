"""genman deploy against real sshd targets, each in its own network namespace with its own
--root tree (see sshnet and fleet). Needs root and namespaces: where they are missing,
these fail."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet import (
    GENMAN,
    NAMES,
    PYTHON,
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
    # genman is shipped first, so the cut below lands in the copy of the generation
    code, rows, err = deploy(net, inv, "--hosts", "fra1")
    assert code == 0, json.dumps(rows) + err
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
    assert [p.name for p in (target.root / "var/lib/genman/generations").iterdir()] == ["1"]

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
              f"ansible_ssh_common_args={opts}", f"ansible_python_interpreter={PYTHON}",
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


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every path under root with its mode, size and link target: what a dry run must
    leave as it found it."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = os.lstat(p)
        out[str(p)] = (st.st_mode, st.st_size if p.is_file() and not p.is_symlink() else 0,
                       os.readlink(p) if p.is_symlink() else "")
    return out


def test_dry_run_prints_each_hosts_own_plan_and_touches_nothing(net: Net) -> None:
    inv = write_fleet(net)
    code, rows, err = deploy(net, inv, "--hosts", "fra1")  # fra1 runs generation 1
    assert code == 0, json.dumps(rows) + err
    inv.write_text(inv.read_text().replace("ospf_cost = 10", "ospf_cost = 11"))
    before = {t.name: tree(t.root) for t in net.targets}
    cache = tree(net.tmp / "cache")
    sessions = [t.sessions() for t in net.targets]
    r = sh(*GENMAN, "deploy", "-i", str(inv), "--dry-run", "--canary", "1", "--limit", "2",
           netns=net.hub, check=False, env=env(net))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[:4] == [
        "switch: 3 hosts, 2 at once",
        "each host: facts -> build -> copy -> activate -> confirm",
        "phase 1 (canary: the rest only if all of these succeed): fra1",
        "phase 2: ams1, lon1",
    ]
    sections = r.stdout.split("\n\n")[1:]
    assert len(sections) == 3, r.stdout
    for section, t in zip(sections, net.targets, strict=True):
        lines = section.splitlines()
        assert lines[0] == (f"== {t.name}: root@{t.address}, root {t.root}, profile "
                            f"{inv.parent}/profile.toml ==")
        assert lines[1] == "vars: ltnet_index, ltnet_prefix_v4, ospf_cost"
        assert "  etc: + /etc/motd -> /etc/static/motd" in lines or t.name == "fra1", section
    fra1, ams1 = sections[0].splitlines(), sections[1].splitlines()
    # fra1 runs generation 1: a confirmed switch to 2, only bird.conf changes
    assert fra1[2] == "plan for generation 2:"
    assert any("/etc/bird/bird.conf" in line for line in fra1), fra1
    assert not any("motd" in line or "issue" in line for line in fra1), fra1
    assert any(line.startswith("  confirm: the boot default stays") for line in fra1)
    # ams1 has no genman and no generation: its first one, planned by a genman run from a
    # temporary directory there
    assert ams1[2] == "plan for generation 1:"
    assert "  etc: + /etc/bird/bird.conf (file, mode 0640, owner 0:101)" in ams1
    assert not any("confirm" in line for line in ams1)
    # nothing changed anywhere: not on the targets, not in the local store
    assert {t.name: tree(t.root) for t in net.targets} == before
    assert tree(net.tmp / "cache") == cache
    # facts and plan; where genman is not there yet, the seed's answer first
    assert [t.sessions() - s for t, s in zip(net.targets, sessions, strict=True)] == [2, 3, 3]

    r = sh(*GENMAN, "deploy", "-i", str(inv), "--dry-run", "--json", netns=net.hub,
           check=False, env=env(net))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["rollout"]["action"] == "switch"
    hosts = {h["host"]: h for h in data["hosts"]}
    assert [h["result"] for h in data["hosts"]] == ["planned"] * 3
    assert (hosts["fra1"]["old"], hosts["fra1"]["new"]) == (1, 2)
    assert (hosts["ams1"]["old"], hosts["ams1"]["new"]) == (None, 1)
    kinds = {a["kind"] for a in hosts["ams1"]["plan"]}
    assert {"put_link", "flip_static", "put_copy"} <= kinds, kinds
    assert {t.name: tree(t.root) for t in net.targets} == before


def test_dry_run_matches_the_targets_own_switch_dry_run(net: Net) -> None:
    """Where the target's own profile builds the same /etc, its `switch --dry-run` and
    the deploy's dry run print the same plan for it."""
    inv = write_fleet(net)
    t = net.targets[0]
    r = sh(*GENMAN, "deploy", "-i", str(inv), "--dry-run", "--hosts", t.name, netns=net.hub,
           check=False, env=env(net))
    assert r.returncode == 0, r.stderr
    deployed = r.stdout.split("\n\n")[1].splitlines()[2:]
    d = net.tmp / "fleet"
    own = d / "own.toml"  # the profile with fra1's vars: what `switch` on fra1 would use
    own.write_text((d / "profile.toml").read_text().replace(
        "ltnet_index = 0\nospf_cost = 1\nltnet_prefix_v4 = \"172.18.0\"",
        "ltnet_index = 1\nospf_cost = 10\nltnet_prefix_v4 = \"172.18.1\""))
    local = sh(*GENMAN, "--root", str(t.root), "switch", "--dry-run", str(own), check=False,
               env=env(net))
    assert local.returncode == 0, local.stderr
    # The one difference: deploy's toplevel also references the genman it ships.
    toplevel = re.compile(r"[0-9a-f]{32}-genman-fra1")
    assert [toplevel.sub("TOPLEVEL", x) for x in deployed] == \
        [toplevel.sub("TOPLEVEL", x) for x in local.stdout.splitlines()]
    assert any("TOPLEVEL" in toplevel.sub("TOPLEVEL", x) for x in deployed)


def test_deploy_brings_genman_and_names_what_a_target_lacks(net: Net) -> None:
    inv = write_fleet(net)
    # ams1's python3 lacks pyudev and yaml (a directory first on its path hides them);
    # lon1 has no python3 at all
    blocker = net.tmp / "blocker"
    for module in ("yaml", "pyudev"):
        (blocker / module).mkdir(parents=True)
        (blocker / module / "__init__.py").write_text("raise ImportError('not here')\n")
    wrapper = net.tmp / "python3-lacking"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={blocker} exec {PYTHON} "$@"\n')
    wrapper.chmod(0o755)
    plain = inv.read_text()
    inv.write_text(plain.replace("[hosts.ams1]\n", f'[hosts.ams1]\npython = "{wrapper}"\n')
                   .replace("[hosts.lon1]\n", '[hosts.lon1]\npython = "/opt/nowhere/python3"\n'))
    code, rows, err = deploy(net, inv)
    assert code == 6, err
    res = by_host(rows)
    assert res["ams1"]["result"] == "failed"
    assert res["ams1"]["detail"] == ("facts: the target's python3 lacks pyudev, yaml: "
                                     "apt-get install python3-pyudev python3-yaml")
    assert res["lon1"]["result"] == "failed"
    assert res["lon1"]["detail"] == (
        "facts: python3 is not installed on the target: apt-get install python3 python3-click "
        "python3-jinja2 python3-psutil python3-pyudev python3-yaml")
    assert res["fra1"]["result"] == "switched"
    for t in net.targets[1:]:
        assert not (t.root / "var/lib/genman").exists()
    # fra1 has no genman of its own: it runs the one the deploy brought, a store path its
    # generation references
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    assert sh(PYTHON, "-c", "import genman", cwd="/", env=plain_env,
              check=False).returncode != 0
    fra1 = net.targets[0].root / "var/lib/genman"
    shipped = [p.name for p in (fra1 / "store").iterdir() if p.name.endswith("-genman-0.1.0")]
    assert len(shipped) == 1
    toplevel = fra1 / "store" / os.path.basename(os.readlink(fra1 / "generations/1"))
    assert shipped[0] in (toplevel / "references").read_text().split()
    assert os.readlink(toplevel / "genman") == f"/var/lib/genman/store/{shipped[0]}"
    assert "fra1: shipping genman-0.1.0" in err
    # and `genman` on its PATH (the active generation's sw/bin) runs that one
    wrapper = fra1 / "store" / os.path.basename(os.readlink(toplevel / "sw/bin/genman"))
    text = wrapper.read_text()
    assert f"PYTHONPATH=/var/lib/genman/store/{shipped[0]} " in text
    root = net.targets[0].root
    here = text.replace("/var/lib/", f"{root}/var/lib/").replace("/var/cache/",
                                                                 f"{root}/var/cache/")
    r = sh("sh", "-c", here, "genman", "--root", str(root), "list-generations",
           env=plain_env, cwd="/", check=False)
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[0] == "1", r.stdout + r.stderr

    # once the dependencies are there, the next deploy ships genman and switches
    inv.write_text(plain)
    code, rows, err = deploy(net, inv, "--hosts", "ams1,lon1")
    assert code == 0, json.dumps(rows) + err
    assert [r["result"] for r in rows] == ["switched", "switched"]
    assert "ams1: shipping genman-0.1.0" in err


def test_a_target_genman_named_in_the_inventory_is_used_as_it_is(net: Net) -> None:
    inv = write_fleet(net)
    inv.write_text(inv.read_text().replace(
        "[hosts.lon1]\n", '[hosts.lon1]\ngenman = "/opt/nowhere/genman"\n'))
    code, rows, _ = deploy(net, inv)
    assert code == 6
    res = by_host(rows)
    assert res["lon1"]["result"] == "failed"
    assert res["lon1"]["detail"] == "facts: genman (or python3) is not installed on the target"
    assert res["fra1"]["result"] == "switched" and res["ams1"]["result"] == "switched"


def test_secrets_travel_over_ssh_into_the_targets_secrets_dir(net: Net) -> None:
    import stat

    secret = "SECRET-DEPLOY-3b7d"
    inv = write_fleet(net)
    fleet = inv.parent
    (fleet / "get-key").write_text(f'printf "%s-%s\\n" {secret} "$1"\n')
    with open(fleet / "profile.toml", "a") as f:
        f.write('[secrets."bird/ospf.key"]\n'
                f'command = ["sh", "{fleet}/get-key", "ospf"]\n'
                'mode = "0640"\ngroup = "bird"\n')
    code, rows, err = deploy(net, inv)
    assert code == 0, json.dumps(rows) + err
    assert secret not in err
    for t in net.targets:
        key = t.root / "etc/bird/ospf.key"
        st = os.lstat(key)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
        assert (st.st_uid, st.st_gid) == (0, 101)
        assert key.read_text().startswith(secret)
        secrets_dir = t.root / "var/lib/genman/secrets"
        assert stat.S_IMODE(os.stat(secrets_dir).st_mode) == 0o700
    # Nowhere but the targets' /etc and secrets directories: not in any store, cache or
    # generation file, on the targets or the deploying machine.
    found = []
    for dirpath, _, names in os.walk(net.tmp):
        for n in names:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink() and p.name != "get-key" \
                    and secret.encode() in p.read_bytes():
                found.append(str(p.relative_to(net.tmp)))
    assert found and all("/etc/bird/ospf.key" in p or "/var/lib/genman/secrets/" in p
                         for p in found), found
    # The same content again: nothing to copy, nothing new.
    code, rows, err = deploy(net, inv)
    assert code == 0 and {r["result"] for r in rows} == {"unchanged"}, json.dumps(rows) + err
