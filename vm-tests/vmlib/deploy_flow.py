"""`genman deploy` from this machine to a guest over OpenSSH (QEMU's user network, the
guest's sshd on a forwarded loopback port): the deployed generation is switched to on the
guest and is the entry the guest boots next."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .images import REPO, Combo
from .machine import GuestBootError, Machine
from .scenario import assert_booted, default_generation, reboot_into
from .trees import VARIANTS, base_tree


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ssh_options(key: Path) -> list[str]:
    return ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10"]


def open_sshd(m: Machine, key: Path) -> None:
    """The guest's network (static: QEMU's user net always hands out 10.0.2.15) and root's
    authorized key; then wait until the host gets in."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().strip()
    m.succeed(f"mkdir -p -m 700 /root/.ssh && echo '{pub}' > /root/.ssh/authorized_keys && "
              "chmod 600 /root/.ssh/authorized_keys")
    m.succeed("dev=$(ls /sys/class/net | grep -vx lo | head -n 1); ip link set \"$dev\" up && "
              "ip addr add 10.0.2.15/24 dev \"$dev\" && ip route add default via 10.0.2.2")
    m.succeed("/etc/init.d/ssh status >/dev/null || /etc/init.d/ssh start")
    assert m.ssh_port is not None
    deadline = time.monotonic() + 120
    while True:
        r = subprocess.run(["ssh", *ssh_options(key), "-p", str(m.ssh_port), "root@127.0.0.1",
                            "true"], capture_output=True, text=True, timeout=60, check=False)
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise GuestBootError(f"{m.name}: sshd did not let the host in: {r.stderr}")
        time.sleep(2)


def deploy_and_boot(m: Machine, combo: Combo, tmp: Path) -> None:
    key = tmp / "deploy_key"
    open_sshd(m, key)
    kernel = sorted((base_tree(VARIANTS[combo.variant]) / "boot").glob("vmlinuz-*"))[-1]
    profile = tmp / "deployed.toml"
    # Built on this machine with the guest's facts; its kernel is the guest's own (the same
    # file the guest tree was made with), named by its path here.
    profile.write_text(
        f'imports = ["{REPO}/vm-tests/profiles/common.toml"]\n\n'
        '[system]\ndescription = "vm-tests deployed"\n\n'
        f'[kernel]\nimage = "{kernel}"\n\n'
        '[etc."genman-vm/marker"]\ntext = "profile deployed\\n"\n\n'
        '[etc."demo/a.conf"]\ntext = "a-deployed\\n"\n\n'
        '[etc."demo/b.conf"]\ntext = "b-constant\\n"\n'
    )
    inventory = tmp / "hosts.toml"
    opts = ", ".join(f'"{o}"' for o in ssh_options(key))
    inventory.write_text(
        f"[defaults]\nssh_user = \"root\"\nssh_options = [{opts}]\n\n"
        f"[hosts.guest]\naddress = \"127.0.0.1\"\nport = {m.ssh_port}\n"
        f"profile = \"{profile}\"\n"
    )
    before = default_generation(m, combo)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache"), "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "genman", "deploy", "-i", str(inventory)],
                       capture_output=True, text=True, timeout=900, env=env, check=False)
    print(f"[vm] {combo.id}: genman deploy over SSH took {time.monotonic() - started:.0f}s\n"
          f"{r.stdout}{r.stderr[-3000:]}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "switched" in r.stdout, r.stdout
    new = default_generation(m, combo)
    assert new > before, (before, new)
    assert m.succeed("cat /run/demo/a.seen").strip() == "a-deployed"
    reboot_into(m, combo, expect_default=new)
    assert_booted(m, combo, new, "profile deployed")
