"""genman deploy vs an Ansible playbook: a one-variable change to ten hosts.

Ten targets, each a network namespace with its own sshd (tests/sshnet.py), reached from a
hub namespace where both deployers run. genman deploys a profile (a BIRD template, a motd)
into each host's --root tree; Ansible applies the same template and content with
`template` + `copy` + a handler (`reload bird`, here `true`) into a tree of its own per
host, with forks = 10 as genman's --limit 10. Each repetition changes one variable for
every host, then runs both, alternating which goes first. Run as root:

    .venv/bin/python bench/deploy.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.sshnet import Net, make_net, sh  # noqa: E402

GENMAN = [sys.executable, "-m", "genman"]  # this checkout's genman, shipped to the targets
PYTHON = "/usr/bin/python3"  # the targets' interpreter: Debian's, with genman's dependencies
HOSTS = 10
TEMPLATE = ("router id {{ ltnet_prefix_v4 }}.1;\n"
            "protocol ospf { area 0 { interface \"eth0\" { cost {{ ospf_cost }}; }; }; }\n")


def write(net: Net, d: Path, cost: int) -> None:
    d.mkdir(exist_ok=True)
    (d / "bird.conf.j2").write_text(TEMPLATE)
    (d / "profile.toml").write_text(
        '[vars]\nltnet_index = 0\nospf_cost = 1\nltnet_prefix_v4 = "172.18.0"\n'
        '[etc."bird/bird.conf"]\ntemplate = "bird.conf.j2"\nmode = "0640"\n'
        '[etc.motd]\ntext = "AS{{ 4225470000 + ltnet_index }}\\n"\n')
    opts = net.ssh_options()
    toml = [f'[defaults]\nssh_user = "root"\nssh_options = {json.dumps(opts)}\n'
            f'python = "{PYTHON}"\n', f"[groups.edge]\nvars = {{ ospf_cost = {cost} }}\n"]
    ini = ["[edge]"]
    for i, t in enumerate(net.targets, 1):
        toml.append(f'[hosts.{t.name}]\naddress = "{t.address}"\ngroups = ["edge"]\n'
                    f'root = "{t.root}"\n'
                    f'vars = {{ ltnet_index = {i}, ltnet_prefix_v4 = "172.18.{i}" }}\n')
        ini.append(f"{t.name} ansible_host={t.address} ltnet_index={i} "
                   f"ltnet_prefix_v4=172.18.{i} dest={net.tmp}/ansible/{t.name}")
    ini += ["", "[edge:vars]", f"ospf_cost={cost}", "ansible_user=root",
            f"ansible_ssh_common_args={' '.join(opts)}",
            "ansible_python_interpreter=/usr/bin/python3"]
    (d / "hosts.toml").write_text("\n".join(toml))
    (d / "inventory.ini").write_text("\n".join(ini) + "\n")
    (d / "play.yml").write_text("""\
- hosts: all
  gather_facts: false
  tasks:
    - file: {path: "{{ dest }}/etc/bird", state: directory}
    - template: {src: bird.conf.j2, dest: "{{ dest }}/etc/bird/bird.conf", mode: "0640"}
      notify: reload bird
    - copy: {content: "AS{{ 4225470000 + ltnet_index }}\\n", dest: "{{ dest }}/etc/motd"}
  handlers:
    - name: reload bird
      command: "true"
""")


def timed(net: Net, argv: list[str], env: dict[str, str]) -> float:
    t0 = time.monotonic()
    r = sh(*argv, netns=net.hub, check=False, env=env, timeout=600)
    took = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genman-bench-deploy-"))
    net = make_net(tmp)
    try:
        for i in range(1, HOSTS + 1):
            net.add(f"node{i}")
        net.wait_ready()
        d = tmp / "fleet"
        home = tmp / "ansible-home"
        home.mkdir()
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache"), "ANSIBLE_HOME": str(home),
               "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "HOME": str(home),
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
               "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
               "PYTHONPATH": str(REPO)}
        genman = [*GENMAN, "deploy", "-i", str(d / "hosts.toml"), "--limit", str(HOSTS)]
        ansible = ["ansible-playbook", "-i", str(d / "inventory.ini"), "-f", str(HOSTS),
                   str(d / "play.yml")]
        write(net, d, 10)  # first deploy of both: not measured
        timed(net, genman, env)
        timed(net, ansible, env)
        g: list[float] = []
        a: list[float] = []
        for run in range(args.runs):
            write(net, d, 11 + run)  # the one variable: the edge group's ospf_cost
            first, second = (genman, ansible) if run % 2 == 0 else (ansible, genman)
            for argv in (first, second):
                (g if argv is genman else a).append(timed(net, argv, env))
        load = os.getloadavg()[0]
        gm, am = statistics.median(g), statistics.median(a)
        print(f"one-variable change to {HOSTS} hosts, {args.runs} runs alternating, "
              f"load {load:.1f}")
        print(f"genman deploy:    median {gm:.2f} s (min {min(g):.2f}, max {max(g):.2f})")
        print(f"ansible-playbook: median {am:.2f} s (min {min(a):.2f}, max {max(a):.2f})")
        print(f"ratio ansible/genman: {am / gm:.2f}")
        return 0
    finally:
        net.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
