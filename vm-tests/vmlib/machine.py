"""QEMU guests driven like a person at a serial console, plus a command channel.

ttyS0 (QEMU stdio) carries firmware, boot menu, kernel and getty output; the harness
reads it into a buffer and a log file and can type into it (boot menu keys).
ttyS1 (a unix socket) talks to the guest agent (guest/genman-vm-agent) for `succeed()`.

Every wait is bounded. A guest that does not come up raises GuestBootError, a command
that fails raises GuestCommandError: both are AssertionErrors, so pytest reports a failed
test with the console tail and the log path, never a hang or a harness crash.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .screen import Screen

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")

KEY_DOWN = b"\x1b[B"
KEY_UP = b"\x1b[A"
KEY_ENTER = b"\r"
# GRUB parses escape sequences itself, and a torn one was seen read as ESC, '[', 'B'
# (with OVMF polling the same UART). Its menu also takes the one-byte keys it names on
# screen, "Use the ^ and v keys", which cannot be torn.
GRUB_DOWN = b"v"
GRUB_UP = b"^"

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
# Signs that waiting longer is pointless.
FATAL = re.compile(
    r"Kernel panic|end Kernel panic|\(initramfs\) |Give root password for maintenance"
    r"|ALERT! .* does not exist|No init found|Press Enter for maintenance"
)

# Highlighted text on the console that is not a boot menu selection.
NOT_A_MENU = re.compile(r"Welcome to GRUB!")

# Under TCG everything is slow; GENMAN_VM_TIME_SCALE stretches all budgets on a slower box.
TIME_SCALE = float(os.environ.get("GENMAN_VM_TIME_SCALE", "1"))
# Guests that run side by side (pytest-xdist workers, tools/run-tests) get one vCPU each:
# on a 2-core host, two one-CPU guests do more than two two-CPU guests that share it.
PARALLEL_GUESTS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
DEFAULT_SMP = int(os.environ.get("GENMAN_VM_SMP", "1" if PARALLEL_GUESTS > 1 else "2"))


class GuestBootError(AssertionError):
    """The guest did not reach the expected state (boot, menu, agent) in time."""


class GuestCommandError(AssertionError):
    """A command in the guest exited non-zero."""


@dataclass
class Result:
    rc: int
    out: str
    err: str


def kvm_usable() -> bool:
    """KVM only on request (GENMAN_VM_KVM=1) and only if /dev/kvm opens; nested KVM on
    these machines hangs, so TCG is the default."""
    if os.environ.get("GENMAN_VM_KVM") != "1":
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


_running: set[Machine] = set()


@atexit.register
def _kill_all() -> None:
    """Last resort: no guest outlives the harness (QEMU runs in its own session)."""
    for m in list(_running):
        m.kill()


class Machine:
    def __init__(
        self,
        name: str,
        disk: Path,
        workdir: Path,
        firmware: str = "uefi",
        memory_mib: int = 1024,
        smp: int = DEFAULT_SMP,
        bootloader: str = "systemd-boot",
        ssh_port: int | None = None,
    ) -> None:
        self.name = name
        # QEMU's user network, restricted (the guest reaches nothing outside), with the
        # host's 127.0.0.1:ssh_port forwarded to the guest's sshd; None: no network at all.
        self.ssh_port = ssh_port
        self.bootloader = bootloader
        self.disk = disk
        self.workdir = workdir
        self.firmware = firmware
        self.memory_mib = memory_mib
        self.smp = smp
        workdir.mkdir(parents=True, exist_ok=True)
        self.vars = workdir / f"{name}-OVMF_VARS.fd"
        if firmware == "uefi" and not self.vars.exists():
            shutil.copy(
                OVMF_VARS, self.vars
            )  # one per machine: boot-once etc. persist across boots
        self.boots = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._buf = bytearray()
        self._pos = 0  # console matching starts here (advanced by each successful wait)
        self._cond = threading.Condition()
        self._agent: socket.socket | None = None
        self._agent_buf = b""
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ lifecycle

    def qemu_cmd(self) -> list[str]:
        sock = self.workdir / f"{self.name}-agent.sock"
        fmt = "qcow2" if self.disk.suffix == ".qcow2" else "raw"
        accel = (
            ["-accel", "kvm", "-cpu", "host"] if kvm_usable() else ["-accel", "tcg", "-cpu", "max"]
        )
        cmd = [
            "qemu-system-x86_64",
            "-machine",
            "q35" if self.firmware == "uefi" else "pc",
            *accel,
            "-m",
            str(self.memory_mib),
            "-smp",
            str(self.smp),
            "-display",
            "none",
            "-vga",
            "none",
            "-monitor",
            "none",
            "-no-reboot",  # a guest reboot ends this QEMU; boot() starts the next one
            "-chardev",
            "stdio,id=con,signal=off",
            "-serial",
            "chardev:con",
            "-chardev",
            f"socket,id=agent,path={sock},server=on,wait=off",
            "-serial",
            "chardev:agent",
            "-drive",
            f"file={self.disk},if=virtio,format={fmt},cache=unsafe",
            "-nic",
            "none"
            if self.ssh_port is None
            else f"user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
        ]
        if self.firmware == "uefi":
            cmd += [
                "-drive",
                f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive",
                f"if=pflash,format=raw,unit=1,file={self.vars}",
            ]
        return cmd

    def start(self) -> None:
        """Power on. Returns at once; wait for the menu or the agent next."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.name} is already running")
        if shutil.which("qemu-system-x86_64") is None:
            raise GuestBootError(
                "qemu-system-x86_64 not found: "
                "apt-get install qemu-system-x86 (tools/apt-packages.txt)"
            )
        self.boots += 1
        self.log_path = self.workdir / f"{self.name}-boot{self.boots}.log"
        sock = self.workdir / f"{self.name}-agent.sock"
        sock.unlink(missing_ok=True)
        self._close_agent()
        with self._cond:
            self._buf = bytearray()
            self._pos = 0
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.qemu_cmd(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _running.add(self)
        threading.Thread(target=self._reader, args=(self.proc, self.log_path), daemon=True).start()

    def _reader(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        assert proc.stdout is not None
        with open(log_path, "wb") as log:
            while True:
                chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                with self._cond:
                    self._buf += chunk
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Pull the plug: SIGKILL QEMU. Whatever the guest had not written out is lost."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        _running.discard(self)
        self._close_agent()

    def wait_exit(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout * TIME_SCALE)
        except subprocess.TimeoutExpired:
            tail = self.console_tail()
            self.kill()
            raise GuestBootError(
                f"{self.name}: did not power off within {timeout:.0f}s\n{tail}"
            ) from None
        self._close_agent()

    def shutdown(self, timeout: float = 90) -> None:
        """Orderly poweroff through the guest's init; bounded."""
        if not self.is_running():
            return
        self.execute("(sleep 1; poweroff) >/dev/null 2>&1 &", nowait=True, timeout=20)
        self.wait_exit(timeout)

    def reboot(self, timeout: float = 90) -> None:
        """`reboot` in the guest ends QEMU (-no-reboot); then power on again."""
        if self.is_running():
            self.execute("(sleep 1; reboot) >/dev/null 2>&1 &", nowait=True, timeout=20)
            self.wait_exit(timeout)
        self.start()

    # ------------------------------------------------------------ console

    def console_text(self) -> str:
        with self._cond:
            return ANSI.sub(b"", bytes(self._buf)).decode(errors="replace")

    def console_tail(self, lines: int = 50) -> str:
        text = self.console_text().replace("\r", "")
        tail = "\n".join(text.splitlines()[-lines:])
        return (
            f"--- last {lines} console lines of {self.name} (full log: {self.log_path}) ---\n"
            f"{tail}\n---"
        )

    def wait_for_console_text(
        self, regex: str, timeout: float, fatal: bool = True
    ) -> re.Match[str]:
        """Wait until `regex` appears on ttyS0 after the previous match; bounded.
        Escape sequences are stripped first, so menu text drawn with cursor moves matches."""
        pattern = re.compile(regex)
        deadline = time.monotonic() + timeout * TIME_SCALE
        with self._cond:
            while True:
                text = ANSI.sub(b"", bytes(self._buf[self._pos :])).decode(errors="replace")
                m = pattern.search(text)
                if m:
                    # Advance by the matched raw length is not computable after stripping;
                    # advancing to the end is what the next wait wants anyway.
                    self._pos = len(self._buf)
                    return m
                if fatal and (f := FATAL.search(text)):
                    raise GuestBootError(
                        f"{self.name}: console shows {f.group(0)!r} while waiting for {regex!r}\n"
                        + self.console_tail()
                    )
                if self.proc is not None and self.proc.poll() is not None:
                    raise GuestBootError(
                        f"{self.name}: QEMU exited ({self.proc.returncode}) "
                        f"while waiting for {regex!r}\n" + self.console_tail()
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestBootError(
                        f"{self.name}: {regex!r} not seen on the console within {timeout:.0f}s\n"
                        + self.console_tail()
                    )
                self._cond.wait(min(left, 1.0))

    def send_console(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send_keys(self, *keys: bytes, delay: float = 0.4) -> None:
        """Type keys one by one, as a person would; menus redraw between keys."""
        for k in keys:
            self.send_console(k)
            time.sleep(delay)

    def screen(self) -> Screen:
        """The console of this boot replayed onto a grid."""
        s = Screen()
        with self._cond:
            s.feed(bytes(self._buf))
        return s

    def _quiet(self, seconds: float = 0.3) -> None:
        """Wait (bounded) until the console has been silent for `seconds`: a menu caught
        mid-redraw shows half a line highlighted, and a key sent then goes one too far."""
        deadline = time.monotonic() + 5 * TIME_SCALE
        with self._cond:
            size = len(self._buf)
        while time.monotonic() < deadline:
            time.sleep(seconds)
            with self._cond:
                if len(self._buf) == size:
                    return
                size = len(self._buf)

    def _wait_highlight(self, not_equal: str | None, deadline: float) -> str | None:
        while True:
            self._quiet()
            hl = self.screen().highlighted_line()
            if hl is not None and NOT_A_MENU.match(hl):
                hl = None  # a firmware banner drawn in menu colours, before the menu
            if hl is not None and hl != not_equal:
                return hl
            if time.monotonic() > deadline:
                return hl
            if self.proc is None or self.proc.poll() is not None:
                raise GuestBootError(
                    f"{self.name}: QEMU exited at the boot menu\n" + self.console_tail()
                )
            time.sleep(0.2)

    def select_boot_entry(
        self, *path: str | Callable[[str], bool], timeout: float = 90, max_keys: int = 25
    ) -> str:
        """Pick a boot menu entry by its title, as a person would: wait for the menu,
        press Down (then Up) until the highlighted line matches, press Enter. `path` is
        one regex per menu level (a GRUB submenu title, then the entry inside it).
        Returns the title booted."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        hl = self._wait_highlight(None, deadline)
        if hl is None:
            raise GuestBootError(
                f"{self.name}: no boot menu within {timeout:.0f}s\n" + self.console_tail()
            )
        for level, title in enumerate(path):
            matches = title if callable(title) else re.compile(title).search
            seen: list[str] = []
            down, up = (GRUB_DOWN, GRUB_UP) if self.bootloader == "grub" else (KEY_DOWN, KEY_UP)
            direction = down
            unmoved = 0
            for _ in range(max_keys):
                assert hl is not None
                if matches(hl):
                    break
                seen.append(hl)
                self.send_console(direction)
                new = self._wait_highlight(hl, time.monotonic() + 5 * TIME_SCALE)
                if new == hl or new is None:
                    # GRUB spends the first key on a running countdown (seen in submenus:
                    # the countdown line clears, the selection stays). Press again once;
                    # still unmoved means the end of the list: turn round once.
                    unmoved += 1
                    if unmoved < 2:
                        continue
                    if direction == up:
                        break
                    direction = up
                    unmoved = 0
                    continue
                unmoved = 0
                hl = new
            else:
                hl = None
            if hl is None or not matches(hl):
                raise GuestBootError(
                    f"{self.name}: no menu entry matching "
                    f"{getattr(title, '__name__', title)!r}; passed {seen}\n"
                    f"--- screen ---\n{self.screen().dump()}\n" + self.console_tail()
                )
            chosen = hl
            self._press_enter(chosen)
            if level + 1 < len(path):  # a submenu opens: wait for its first highlight
                hl = self._wait_highlight(chosen, time.monotonic() + 10 * TIME_SCALE)
        with self._cond:
            self._pos = len(self._buf)
        return chosen

    def _press_enter(self, chosen: str) -> None:
        """Enter, and again if the menu still shows `chosen` selected and nothing else
        happened (seen once under GRUB: an Enter right after a move was lost)."""
        for _ in range(3):
            with self._cond:
                size = len(self._buf)
            self.send_console(KEY_ENTER)
            deadline = time.monotonic() + 5 * TIME_SCALE
            while time.monotonic() < deadline:
                time.sleep(0.3)
                with self._cond:
                    if len(self._buf) != size:
                        return
            if self.screen().highlighted_line() != chosen:
                return

    # ------------------------------------------------------------ agent

    def _exit_reason(self) -> str:
        """Why the channel went away: QEMU closes it only when it exits, and under
        -no-reboot a guest reset (reboot, panic=, triple fault, watchdog) is an exit 0."""
        if self.proc is None:
            return "no QEMU"
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "QEMU still running"
        return f"QEMU exited {rc}: " + ("the guest reset or powered off" if rc == 0 else "crashed")

    def _close_agent(self) -> None:
        if self._agent is not None:
            with contextlib.suppress(OSError):
                self._agent.close()
        self._agent = None
        self._agent_buf = b""

    def _connect_agent(self, deadline: float) -> socket.socket:
        sock_path = self.workdir / f"{self.name}-agent.sock"
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise GuestBootError(f"{self.name}: QEMU is not running\n" + self.console_tail())
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(sock_path))
                return s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise GuestBootError(
                        f"{self.name}: agent socket never appeared\n" + self.console_tail()
                    ) from None
                time.sleep(0.2)

    def _request(self, req: dict[str, object], deadline: float) -> dict[str, object] | None:
        """Send one request, return the matching reply, or None at the deadline."""
        assert self._agent is not None
        # Until the agent opens ttyS1, QEMU stops reading this socket once the UART's
        # buffer is full; a send that cannot go out is a request not answered (yet).
        self._agent.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
        try:
            self._agent.sendall(b"\n" + json.dumps(req).encode() + b"\n")
        except TimeoutError:
            return None
        while True:
            while b"\n" in self._agent_buf:
                line, self._agent_buf = self._agent_buf.split(b"\n", 1)
                idx = line.find(b"GENMAN-AGENT ")
                if idx < 0:
                    continue
                try:
                    reply = json.loads(line[idx + len(b"GENMAN-AGENT ") :])
                except ValueError:
                    continue
                if reply.get("id") == req["id"]:
                    return reply  # type: ignore[no-any-return]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.proc is None or self.proc.poll() is not None:
                raise GuestBootError(
                    f"{self.name}: QEMU exited during {req.get('cmd')!r}\n" + self.console_tail()
                )
            self._agent.settimeout(min(left, 1.0))
            try:
                chunk = self._agent.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise GuestBootError(
                    f"{self.name}: agent channel closed ({self._exit_reason()})\n"
                    + self.console_tail()
                )
            self._agent_buf += chunk

    def wait_for_agent(self, timeout: float = 120) -> float:
        """Wait until the guest is up far enough to run commands; returns seconds since start().
        The guest's UART drops what arrives before the agent opens it, so ping until answered."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        if self._agent is None:
            self._agent = self._connect_agent(deadline)
            if self.firmware == "uefi":
                self._wait_kernel_started(deadline)
        while True:
            # Fail fast on a panic or an initramfs shell instead of pinging into the void.
            if m := FATAL.search(self.console_text()[-20000:]):
                raise GuestBootError(
                    f"{self.name}: console shows {m.group(0)!r} during boot\n" + self.console_tail()
                )
            if time.monotonic() > deadline:
                raise GuestBootError(
                    f"{self.name}: guest agent did not answer within {timeout:.0f}s\n"
                    + self.console_tail()
                )
            req = {"id": next(self._ids), "cmd": "true", "timeout": 10}
            reply = self._request(req, min(deadline, time.monotonic() + 2))
            if reply is not None:
                return time.monotonic() - self.started_at

    def _wait_kernel_started(self, deadline: float) -> None:
        """UEFI's console input takes every serial port, the agent's too: until Linux owns
        the UART, a ping is keystrokes in the boot menu (GRUB's `c` opens its command line).
        So the first ping waits for the kernel's first line on the console."""
        while "Linux version " not in self.console_text():
            if m := FATAL.search(self.console_text()[-20000:]):
                raise GuestBootError(
                    f"{self.name}: console shows {m.group(0)!r} during boot\n" + self.console_tail()
                )
            if self.proc is None or self.proc.poll() is not None:
                raise GuestBootError(
                    f"{self.name}: QEMU exited before the kernel started ({self._exit_reason()})\n"
                    + self.console_tail()
                )
            if time.monotonic() > deadline:
                raise GuestBootError(
                    f"{self.name}: no kernel started on the console\n" + self.console_tail()
                )
            time.sleep(0.2)

    def execute(self, cmd: str, timeout: float = 300, nowait: bool = False) -> Result:
        if self._agent is None:
            self.wait_for_agent()
        req = {"id": next(self._ids), "cmd": cmd, "timeout": timeout * TIME_SCALE, "nowait": nowait}
        started = time.monotonic()
        # The agent's own timeout fires first; ours only catches a dead channel.
        reply = self._request(req, time.monotonic() + timeout * TIME_SCALE + 30)
        if reply is None:
            raise GuestBootError(
                f"{self.name}: no answer to {cmd!r} within {timeout:.0f}s\n" + self.console_tail()
            )
        out = base64.b64decode(str(reply.get("out", ""))).decode(errors="replace")
        err = base64.b64decode(str(reply.get("err", ""))).decode(errors="replace")
        res = Result(int(reply["rc"]), out, err)  # type: ignore[call-overload]
        # Every command with its output, next to the console logs: the first place to look.
        with open(self.workdir / f"{self.name}-commands.log", "a") as log:
            log.write(
                f"=== boot {self.boots} +{started - self.started_at:.1f}s"
                f" ({time.monotonic() - started:.1f}s)"
                f" rc={res.rc}{' nowait' if nowait else ''}: {cmd}\n{out}"
                + (f"--- stderr ---\n{err}" if err else "")
            )
        return res

    def succeed(self, cmd: str, timeout: float = 300) -> str:
        """Run `cmd` with /bin/sh in the guest; its stdout, or GuestCommandError."""
        res = self.execute(cmd, timeout)
        if res.rc != 0:
            raise GuestCommandError(
                f"{self.name}: `{cmd}` exited {res.rc}\n"
                f"--- stdout ---\n{res.out}--- stderr ---\n{res.err}"
            )
        return res.out

    def fail(self, cmd: str, timeout: float = 300) -> Result:
        """Run `cmd`; it must exit non-zero."""
        res = self.execute(cmd, timeout)
        if res.rc == 0:
            raise GuestCommandError(
                f"{self.name}: `{cmd}` unexpectedly succeeded\n{res.out}{res.err}"
            )
        return res
