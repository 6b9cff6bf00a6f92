"""Real sshd targets for deploy tests: one network namespace per target with its own
sshd, reached from a hub namespace where the deployer runs. Only 10.x addresses inside
namespaces this module creates; everything is torn down by `Net.close`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
WAIT = 30.0  # seconds a started sshd gets to answer (a loaded CI machine)


def sh(*argv: str, check: bool = True, netns: str | None = None,
       timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    if netns:
        argv = ("ip", "netns", "exec", netns, *argv)
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          timeout=timeout, **kw)  # type: ignore[call-overload]


@dataclass
class Target:
    name: str
    netns: str
    address: str
    root: Path
    config: Path
    sshd: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.config.with_suffix(".log"), "ab")  # noqa: SIM115 - kept by sshd
        self.sshd = subprocess.Popen(["ip", "netns", "exec", self.netns, SSHD, "-D", "-e",
                                      "-f", str(self.config)], stdout=log, stderr=log)

    def sessions(self) -> int:
        """Remote commands sshd started so far (one per ssh call, shared connection or not)."""
        log = self.config.with_suffix(".log")
        return log.read_text(errors="replace").count("Starting session: command") \
            if log.exists() else 0

    def stop(self) -> None:
        """Stop this target's sshd and every session it started (by their pids)."""
        pids = sh("ip", "netns", "pids", self.netns, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        if self.sshd is not None:
            self.sshd.wait(timeout=10)
            self.sshd = None


@dataclass
class Net:
    tmp: Path
    prefix: str
    hub: str
    key: Path
    known_hosts: Path
    targets: list[Target] = field(default_factory=list)

    def ssh_options(self) -> list[str]:
        return ["-F", "/dev/null", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=5",
                "-o", "LogLevel=ERROR"]

    def add(self, name: str) -> Target:
        i = len(self.targets) + 1
        ns = f"{self.prefix}t{i}"
        hub_if, tgt_if = f"{self.prefix}h{i}", f"{self.prefix}p{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", netns=ns)
        sh("ip", "link", "add", hub_if, "netns", self.hub, "type", "veth", "peer", "name",
           tgt_if, "netns", ns)
        sh("ip", "addr", "add", f"10.231.{i}.1/30", "dev", hub_if, netns=self.hub)
        sh("ip", "link", "set", hub_if, "up", netns=self.hub)
        sh("ip", "addr", "add", f"10.231.{i}.2/30", "dev", tgt_if, netns=ns)
        sh("ip", "link", "set", tgt_if, "up", netns=ns)
        root = self.tmp / "roots" / name
        (root / "etc").mkdir(parents=True)
        (root / "etc/hostname").write_text(f"{name}\n")
        (root / "etc/passwd").write_text(
            "root:x:0:0::/root:/bin/sh\nbird:x:101:101::/:/bin/false\n")
        (root / "etc/group").write_text("root:x:0:\nbird:x:101:\n")
        config = self.tmp / f"sshd-{name}.conf"
        hostkey = self.tmp / "hostkey"
        config.write_text(
            f"ListenAddress 10.231.{i}.2\nPort 22\nHostKey {hostkey}\n"
            f"AuthorizedKeysFile {self.tmp}/authorized_keys\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nPidFile none\nMaxStartups 100\nLogLevel VERBOSE\n")
        t = Target(name, ns, f"10.231.{i}.2", root, config)
        self.targets.append(t)
        t.start()
        return t

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT
        for t in self.targets:
            while True:
                r = sh("ssh", *self.ssh_options(), "-o", "BatchMode=yes", t.address, "true",
                       netns=self.hub, check=False)
                if r.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"sshd on {t.name} did not answer: {r.stderr}")
                time.sleep(0.2)

    def close(self) -> None:
        for t in self.targets:
            t.stop()
            sh("ip", "netns", "del", t.netns, check=False)
        sh("ip", "netns", "del", self.hub, check=False)


def make_net(tmp: Path) -> Net:
    """The hub and keys; fails (never skips) where namespaces or sshd are missing."""
    prefix = f"gm{os.getpid() % 100000}"
    hub = f"{prefix}hub"
    sh("ip", "netns", "add", hub)
    sh("ip", "link", "set", "lo", "up", netns=hub)
    sh("mkdir", "-p", "/run/sshd")  # sshd's privilege separation directory
    key = tmp / "client_key"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "hostkey"))
    (tmp / "authorized_keys").write_text((tmp / "client_key.pub").read_text())
    return Net(tmp, prefix, hub, key, tmp / "known_hosts")
