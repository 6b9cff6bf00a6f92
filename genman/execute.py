"""The only place that changes the live system: one branch per plan action.

Every write is atomic (genman.fsutil). Service actions run through the init system's
backend when genman works on the running system; under --root they are printed, never run.
A failing service does not stop the rest: failures are collected and returned.

Test hook: with GENMAN_TEST_CRASH_AFTER=<k> in the environment, the process kills itself
with SIGKILL right after step k of the transaction (0 = after the journal is written,
1 = after the first action, ...). The crash tests use it to stop a real `genman switch` at
every step boundary; nothing else reads it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from genman import fsutil
from genman.channel import Say, warn
from genman.context import Options
from genman.errors import GenmanError
from genman.layout import Layout
from genman.plan import (
    BootEntries,
    CheckRunning,
    DaemonReload,
    FlipStatic,
    MakeDir,
    MoveAside,
    Plan,
    PutCopy,
    PutLink,
    Remove,
    RemoveDir,
    Service,
    SetStateLink,
    StateLink,
    WriteLedger,
    WritePathProfile,
)
from genman.services import Backend, InitSystem, ServiceChange
from genman.services import run as services_run
from genman.services.backends import backend

CRASH_ENV = "GENMAN_TEST_CRASH_AFTER"


@dataclass(frozen=True)
class ServiceFailure:
    change: ServiceChange
    status: str  # the last lines of its status


@dataclass
class Outcome:
    failures: list[ServiceFailure] = field(default_factory=list)
    planned_only: list[str] = field(default_factory=list)  # service steps not run (--root)


def crash_point(step: int) -> None:
    """The test hook described in the module docstring."""
    want = os.environ.get(CRASH_ENV)
    if want is not None and want.isdigit() and int(want) == step:
        os.kill(os.getpid(), signal.SIGKILL)


EtcAction = WriteLedger | MakeDir | MoveAside | FlipStatic | PutLink | PutCopy | Remove | RemoveDir


def _etc(layout: Layout, action: EtcAction) -> None:
    """One change in /etc (or the ledger), each atomic and durable."""
    etc = layout.host(layout.etc)
    match action:
        case WriteLedger(ledger, _):
            _write_or_remove(layout.host(layout.ledger), ledger.render() if ledger else None)
        case MakeDir(path):
            with contextlib.suppress(FileExistsError):
                os.mkdir(etc / path, 0o755)
            fsutil.fsync_dir((etc / path).parent)
        case MoveAside(path, to):
            if os.path.lexists(etc / to):
                raise GenmanError(f"/etc/{to} exists already; cannot move /etc/{path} there",
                                  hint="move it yourself and run again")
            os.rename(etc / path, etc / to)
            fsutil.fsync_dir((etc / path).parent)
        case FlipStatic(target):
            _link_or_remove(layout.host(layout.etc_static), target)
        case PutLink(path, target, _):
            fsutil.atomic_symlink(target, etc / path)
        case PutCopy(path, store, mode, uid, gid, _):
            fsutil.atomic_copy(layout.host(layout.copy_source(store)), etc / path, mode, uid, gid)
        case Remove(path):
            fsutil.remove_file(etc / path)
        case RemoveDir(path):
            try:
                os.rmdir(etc / path)
            except FileNotFoundError:
                pass
            except OSError:
                warn(f"/etc/{path} is not empty any more; left in place")
            else:
                fsutil.fsync_dir((etc / path).parent)
        case _:
            assert_never(action)


def _write_or_remove(host: Path, text: str | None) -> None:
    if text is None:
        fsutil.remove_file(host)
    else:
        fsutil.atomic_write(host, text, 0o644)


def _link_or_remove(host: Path, target: str | None) -> None:
    if target is None:
        fsutil.remove_file(host)
    else:
        fsutil.atomic_symlink(target, host)


def execute(opts: Options, plan: Plan, say: Say, init_system: InitSystem, *,
            first_step: int = 1) -> Outcome:
    layout = opts.layout
    services: Backend | None = None

    def svc() -> Backend:  # loaded on first use: most plans run no service
        nonlocal services
        if services is None:
            services = backend(init_system)
        return services

    outcome = Outcome()
    for i, action in enumerate(plan.actions):
        say(action.describe())
        match action:
            case WritePathProfile(text):
                _write_or_remove(layout.host(layout.path_profile), text)
            case SetStateLink(which, number):
                link = layout.active_link if which is StateLink.ACTIVE else layout.default_link
                _link_or_remove(layout.host(link),
                                None if number is None else str(layout.generation(number)))
            case DaemonReload() | Service() | CheckRunning():
                r = services_run.step(action, svc, say, {f.change.unit for f in outcome.failures})
                outcome.failures += [ServiceFailure(c, text) for c, text in r.failures]
                outcome.planned_only += r.planned_only
            case BootEntries(boot_plan):
                from genman import bootloader

                bootloader.execute_boot(opts, boot_plan)
            case _:
                _etc(layout, action)
        crash_point(first_step + i)
    return outcome
