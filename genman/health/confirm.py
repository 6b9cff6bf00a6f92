"""Confirmed switches: `switch --confirm-within`, the watcher, `genman confirm`.

A confirmed switch records /var/lib/genman/health/pending.json and starts a detached
watcher first (so whatever stops the switching process later, even its output failing
when a deployer's connection is cut, still ends reverted), then activates the new
generation but leaves the boot default alone (a reboot comes back on the old one) and runs
the required checks (a failure reverts at once). The watcher
waits for `genman confirm` until the deadline; without it, it activates the previous
generation again through the same transaction as rollback (etc, PATH, services), leaves
the default as it was and marks the new generation failed. `confirm` makes the pending
generation the boot default; the watcher sees pending.json gone and exits.

The watcher's decision is the pure `decide`; its clock and sleep are injectable.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from genman import fsutil, status
from genman.channel import warn
from genman.context import Options
from genman.errors import GenmanError, LockHeld
from genman.health import checks, state
from genman.health.config import HealthConfig, show_duration
from genman.health.pending import Pending, pending_path, read_pending, settle
from genman.layout import Layout
from genman.lock import locked
from genman.session import session

Say = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]
POLL = 0.5  # seconds between the watcher's looks at pending.json
LOCK_GRACE = 300.0  # how long a waiting command waits for a busy watcher beyond the deadline


class Outcome(StrEnum):
    PENDING = "pending"  # the watcher waits for `genman confirm`
    CONFIRMED = "confirmed"
    REVERTED = "reverted"


@dataclass(frozen=True)
class Result:
    number: int
    outcome: Outcome
    reason: str | None = None
    deadline: float | None = None
    run: checks.HealthRun | None = None
    watcher: int | None = None  # its pid


# ---------------------------------------------------------------- the watcher's logic


class Step(StrEnum):
    WAIT = "wait"
    DONE = "done"  # confirmed, or superseded: nothing left to do
    REVERT = "revert"


def decide(pending: Pending | None, token: str, now: float) -> Step:
    """What the watcher does next. Pure: tests drive it with a fake clock."""
    if pending is None or pending.token != token:
        return Step.DONE
    if now >= pending.deadline:
        return Step.REVERT
    return Step.WAIT


def watch(opts: Options, token: str, flags: Any, say: Say, clock: Clock = time.time,
          sleep: Sleep = time.sleep) -> Step:
    """The watcher's loop: wait for confirmation, revert at the deadline. It is started
    before the switching command records pending.json, under that command's lock: its
    first look waits for the lock, so it sees the record unless the command ended (or
    was killed) before making it, and then there is nothing to watch. That look holds
    the lock for a moment only (no recovery: the revert's session does that), and other
    commands wait such moments out."""
    layout = opts.layout
    while True:
        try:
            with locked(layout, wait=0):
                break
        except LockHeld:
            sleep(POLL)
    while True:
        step = decide(read_pending(layout), token, clock())
        if step is Step.DONE:
            say("confirmed (or superseded); nothing to do")
            return step
        if step is Step.WAIT:
            p = read_pending(layout)
            sleep(min(POLL, max(p.deadline - clock(), 0.0)) if p else 0.0)
            continue
        try:
            with session(opts, say, flags.init_system, lock_wait=0):
                # Under the lock `confirm` may have won the race: decide again.
                p = read_pending(layout)
                if p is None or decide(p, token, clock()) is not Step.REVERT:
                    continue
                revert(opts, p, f"not confirmed within the deadline of `genman {p.command}`",
                       flags, say)
                return Step.REVERT
        except LockHeld:
            sleep(POLL)


# ---------------------------------------------------------------- revert and confirm


def revert(opts: Options, p: Pending, reason: str, flags: Any, say: Say) -> None:
    """Activate the previous generation again (the caller holds the lock); the default
    never moved, so it stays what it was."""
    from genman import activation

    layout = opts.layout
    live = status.markers(layout).active
    if live == p.number:
        say(f"reverting generation {p.number}: {reason}; activating {p.previous} again")
        # Nobody is there to ask: what was edited by hand meanwhile is moved aside.
        activation.apply_generation(opts, p.previous, activation.Mode.TEST,
                                    dataclasses.replace(flags, backup=True), say, "revert")
    else:  # someone switched since: the newer switch stands, only the record changes
        say(f"generation {p.number} is no longer active ({live}); nothing to undo")
    state.mark_failed(layout, p.number, reason)
    fsutil.remove_file(pending_path(layout))


def confirm(opts: Options, flags: Any, say: Say) -> int:
    """Keep the pending generation: it becomes the boot default."""
    from genman import activation
    from genman.probe import boot_id

    layout = opts.layout
    with session(opts, say, flags.init_system):
        settle(opts, boot_id(), say)
        p = read_pending(layout)
        if p is None:
            raise GenmanError("no switch is waiting for confirmation",
                              hint="`genman list-generations` shows each generation's state; "
                                   "a reverted one is marked failed")
        activation.apply_generation(opts, p.number, activation.Mode.BOOT, flags, say,
                                    "confirm")
        from genman.health.boot import start_counting

        for w in start_counting(opts, p.number):
            warn(w)
        rec = state.read(layout, p.number)
        if rec is None or rec.state is state.GenState.PENDING:
            state.mark_good(layout, p.number)  # no [health]: nothing counts its boots
        fsutil.remove_file(pending_path(layout))
        return p.number


def _health_of(layout: Layout, number: int) -> HealthConfig:
    from genman import generation

    return generation.manifest_of(layout, number).health or HealthConfig()


# ---------------------------------------------------------------- the confirmed switch


def begin(opts: Options, choose: Callable[[], int], within: float, flags: Any, say: Say,
          command: str, start_watching: Callable[[str], int],
          clock: Clock = time.time) -> Result:
    """Start the watcher (`start_watching(token)`, its pid) and record the pending
    confirmation, then activate the chosen generation without moving the default and run its
    required checks (a failure reverts at once). Takes the lock."""
    from genman import activation
    from genman.probe import boot_id

    layout = opts.layout
    with session(opts, say, flags.init_system):
        settle(opts, boot_id(), say)
        if (old := read_pending(layout)) is not None:
            raise GenmanError(f"generation {old.number} is still waiting for confirmation",
                              hint="`genman confirm` keeps it; otherwise wait for it to be "
                                   "reverted")
        m = status.markers(layout)
        if m.active is None:
            raise GenmanError("--confirm-within needs a live generation to go back to",
                              hint="switch once without --confirm-within first")
        number = choose()
        if number == m.active:
            raise GenmanError(f"generation {number} is already active; nothing to confirm",
                              hint="`genman switch-generation N --confirm-within …` tries "
                                   "another one")
        p = Pending(number, m.active, m.default, clock() + within, boot_id(),
                    secrets.token_hex(8), command)
        # Watched, then recorded, before anything changes: whatever stops this process
        # from here on (the deployer's connection cut mid-checks and a write to it
        # failing, a signal, even between these two lines), the watcher reverts at the
        # deadline unless `genman confirm` comes; it looks once this lock is free.
        watcher = start_watching(p.token)
        fsutil.atomic_write(pending_path(layout), p.to_json(), 0o644)
        say(f"activating generation {number}; the boot default stays {m.default}")
        try:
            activation.apply_generation(opts, number, activation.Mode.TEST, flags, say,
                                        command)
        except GenmanError:  # refused or rolled back: nothing is waiting for confirmation
            fsutil.remove_file(pending_path(layout))
            raise
        state.mark_pending(layout, number)
        health = _health_of(layout, number)
        run = checks.run_checks(health, boot_id() or "unknown", number, command,
                                only_required=True, say=say)
        checks.save(layout, run)
        if (bad := run.first_failure) is not None:
            revert(opts, p, bad.reason, flags, say)  # the watcher sees pending.json go
            return Result(number, Outcome.REVERTED, bad.reason, run=run, watcher=watcher)
    return Result(number, Outcome.PENDING, deadline=p.deadline, run=run, watcher=watcher)


def wait_outcome(layout: Layout, number: int, deadline: float, clock: Clock = time.time,
                 sleep: Sleep = time.sleep) -> Result:
    """`--wait`: block until the pending generation is confirmed or reverted."""
    while True:
        p = read_pending(layout)
        rec = state.read(layout, number)
        if p is None or p.number != number:
            if rec is not None and rec.state is state.GenState.FAILED:
                return Result(number, Outcome.REVERTED, rec.failure)
            return Result(number, Outcome.CONFIRMED)
        if clock() > deadline + LOCK_GRACE:
            raise GenmanError(f"no outcome for generation {number} {LOCK_GRACE:.0f} s after "
                              "its deadline", hint="is the watcher running? see "
                              "/var/lib/genman/health/watcher.log")
        sleep(POLL)


def watcher_argv(opts: Options, token: str, init_system: str | None) -> list[str]:
    argv = [sys.executable, "-m", "genman", "--root", str(opts.layout.root),
            "--bootloader", opts.bootloader.value]
    if opts.esp is not None:
        argv += ["--esp", str(opts.esp)]
    if opts.boot_dir is not None:
        argv += ["--boot-dir", str(opts.boot_dir)]
    argv += ["watch-confirmation", token]
    if init_system is not None:
        argv += ["--init-system", init_system]
    return argv


def start_watcher(opts: Options, token: str, init_system: str | None) -> int:
    from genman.process import spawn_detached

    log = state.health_dir(opts.layout) / "watcher.log"
    log.parent.mkdir(parents=True, exist_ok=True)  # the daemon could not say it is missing
    return spawn_detached(watcher_argv(opts, token, init_system), log)


def describe(result: Result) -> str:
    match result.outcome:
        case Outcome.PENDING:
            deadline = result.deadline if result.deadline is not None else time.time()
            left = max(deadline - time.time(), 0.0)
            return (f"generation {result.number} is active but not the boot default; "
                    f"`genman confirm` within {show_duration(round(left))} keeps it, "
                    "otherwise it is reverted")
        case Outcome.CONFIRMED:
            return f"generation {result.number} confirmed: it is the boot default"
        case Outcome.REVERTED:
            return f"generation {result.number} reverted: {result.reason}"


def token_of(layout: Layout) -> str | None:
    p = read_pending(layout)
    return p.token if p else None


def watcher_pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
