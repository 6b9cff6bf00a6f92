"""Transactions: a journal written before the first live change, and recovery from it.

`run` writes /var/lib/genman/journal.json (atomically), executes the plan and removes the
journal: removing it is the commit. A journal found later means the run was interrupted
(crash, power loss, SIGKILL); `recover` then undoes it — /etc, PATH, services and the
active link go back to the generation that was live before, the default link to the one
that was the default — so the tree is exactly the old one, and the next command starts
clean. If the machine rebooted since (another boot id), the generation's `init` has already
made the booted generation's /etc live; only the default link is put back.

Every writing command enters `genman.session.session`, which calls `recover` first,
under the lock.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from genman import fsutil, generation
from genman.bootloader import Pending
from genman.bootloader.model import BootPlan
from genman.channel import Say, quiet, warn, warn_all
from genman.context import Options
from genman.errors import GenmanError
from genman.etcwants import copy_sources, touched_paths
from genman.execute import Outcome, crash_point, execute
from genman.layout import Layout
from genman.manifest import Manifest
from genman.plan import Plan, Request, Target, plan_switch
from genman.probe import boot_id, probe, read_ledger
from genman.services import InitSystem
from genman.services.state import service_query


@dataclass(frozen=True)
class Journal:
    command: str
    pid: int
    boot_id: str | None
    activates: bool  # the command changes /etc, PATH and services
    old_etc: str | None  # store name whose /etc was live (the ledger's toplevel)
    old_active: int | None
    old_default: int | None
    new_toplevel: str | None
    new_number: int | None

    def to_json(self) -> str:
        return json.dumps({"genman_journal": 1, **asdict(self)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Journal:
        d = json.loads(text)
        d.pop("genman_journal", None)
        return cls(**d)


def store_name(toplevel_path: str | None) -> str | None:
    return os.path.basename(toplevel_path.rstrip("/")) if toplevel_path else None


def read_journal(layout: Layout) -> Journal | None:
    path = layout.host(layout.journal)
    try:
        return Journal.from_json(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise GenmanError(
            f"the journal {path} of an interrupted genman run is damaged: {e}",
            hint="check /etc against `genman status`, then remove the journal",
        ) from None


def run(opts: Options, journal: Journal, plan: Plan, say: Say, init: InitSystem) -> Outcome:
    """Execute `plan` as one transaction (the caller holds the lock)."""
    layout = opts.layout
    if not plan.actions:
        return Outcome()
    fsutil.atomic_write(layout.host(layout.journal), journal.to_json(), 0o644)
    crash_point(0)
    try:
        outcome = execute(opts, plan, say, init, first_step=1)
    except (OSError, GenmanError):
        # E.g. a full disk: undone at once, so the error leaves nothing half-done. Where
        # the undo fails too, the journal stays and the next command undoes it.
        try:
            _undo(opts, journal, say, init)
        except (OSError, GenmanError) as again:
            warn(f"could not undo the unfinished `genman {journal.command}` now ({again}); "
                 "the next genman command undoes it")
        else:
            warn(f"`genman {journal.command}` could not finish; what it had changed is undone")
        raise
    fsutil.remove_file(layout.host(layout.journal))
    return outcome


def _temp_dirs(layout: Layout) -> set[Path]:
    dirs = {layout.host(p) for p in (layout.etc, layout.ledger.parent,
                                      layout.path_profile.parent, layout.state_dir,
                                      layout.run_dir, layout.generations_dir)}
    try:
        ledger = read_ledger(layout)
    except GenmanError:
        ledger = None
    if ledger is not None:
        etc = layout.host(layout.etc)
        for _, p in ledger.entries:
            dirs.add((etc / p).parent)
    return dirs


def clean_temps(layout: Layout) -> list[Path]:
    removed: list[Path] = []
    for d in sorted(_temp_dirs(layout)):
        if d.is_dir() and not d.is_symlink():
            removed += fsutil.clean_stray_temps(d)
    return removed


def live_manifest(layout: Layout) -> Manifest | None:
    """The manifest whose /etc is live now, from the ledger (None: genman manages nothing)."""
    ledger = read_ledger(layout)
    name = store_name(ledger.toplevel) if ledger else None
    try:
        return generation.read_manifest(layout, name) if name else None
    except GenmanError:  # a damaged live generation: the ledger alone says what to replace
        return None


def recover(opts: Options, say: Say = quiet, init_system: InitSystem | None = None) -> bool:
    """Finish an interrupted transaction by undoing it; True when there was one.
    The caller holds the lock: commands enter through `genman.session.session`."""
    layout = opts.layout
    for p in clean_temps(layout):
        warn(f"removed a stray temp file {p}")
    from genman.bootloader.ops import finish_boot_once

    if finish_boot_once(opts):
        warn("the one-shot boot is over: the boot menu's default is the default again")
    j = read_journal(layout)
    if j is None:
        return False
    warn(f"an interrupted `genman {j.command}` (pid {j.pid}) left a journal; undoing it")
    _undo(opts, j, say, init_system)
    return True


def _undo(opts: Options, j: Journal, say: Say, init_system: InitSystem | None) -> None:
    """Put back what the run `j` describes had changed, then drop its journal."""
    layout = opts.layout
    rebooted = j.boot_id is not None and boot_id() not in (None, j.boot_id)
    old_target = None
    if j.old_etc is not None:
        old_target = Target(j.old_active, j.old_etc, generation.read_manifest(layout, j.old_etc))
    current = live_manifest(layout) if j.activates else None
    if j.activates and j.new_toplevel is not None:
        # Services may already run the new generation's configuration.
        current = generation.read_manifest(layout, j.new_toplevel)
    paths = touched_paths(current, old_target.manifest if old_target else None)
    back = old_target.manifest if old_target else None
    state = probe(layout, paths, copy_sources(back), init_system,
                  service_query(current, back) if j.activates and not rebooted else None)
    boot = None
    if j.old_default is not None:
        boot = _undo_boot_plan(opts, j.old_default)
    request = Request(target=old_target, activate=j.activates and not rebooted,
                      default=j.old_default, boot=boot)
    plan = plan_switch(state, current, request)
    warn_all(plan.warnings)
    outcome = execute(opts, plan, say, state.init_system, first_step=-len(plan.actions) - 1)
    for f in outcome.failures:
        warn(f"service {f.change.unit} failed to {f.change.action.value} while undoing")
    fsutil.remove_file(layout.host(layout.journal))


def _undo_boot_plan(opts: Options, default: int) -> BootPlan:
    """Putting the boot default back: entries only for generations that have one now (and
    the old default), so an undo needs no new room on the ESP or /boot (it may run because
    that file system is full)."""
    from genman import bootloader

    have = bootloader.entry_numbers(opts) | {default}
    retained = [n for n in generation.generation_numbers(opts.layout) if n in have]
    return bootloader.plan_boot(opts, default=default, retained=retained)


def boot_plan(opts: Options, default: int | None, pending: Pending | None = None) -> BootPlan:
    """The bootloader's plan for `default` and every retained generation (and `pending`,
    a generation a dry run has not built)."""
    from genman import bootloader

    retained = generation.generation_numbers(opts.layout) + ([pending.number] if pending else [])
    return bootloader.plan_boot(opts, default=default, retained=retained, extra=pending)
