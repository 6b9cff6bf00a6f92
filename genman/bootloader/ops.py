"""`genman boot-once N`, the end of a file-based one-shot boot, and `genman bootloader
install`: each a plan from the probed BootState, printed by --dry-run, then executed."""

from __future__ import annotations

from dataclasses import dataclass

from genman import generation
from genman.bootloader import boot_state
from genman.bootloader.backends import backend
from genman.bootloader.base import BootState
from genman.bootloader.execute import execute_boot
from genman.bootloader.model import Action, BootPlan, DeleteFile, WriteFile
from genman.bootloader.planner import plan_entries
from genman.channel import warn_all
from genman.context import Options


def _plan(state: BootState, actions: list[Action]) -> BootPlan:
    paths = {a.path.parent for a in actions if isinstance(a, WriteFile)}
    return BootPlan(state.target.kind, tuple(actions), dirs=tuple(sorted(paths)),
                    sync=tuple(sorted(paths)))


@dataclass(frozen=True)
class OncePlan:
    plan: BootPlan
    message: str

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings

    def describe(self) -> list[str]:
        return [*self.plan.describe(), self.message]


def plan_boot_once(state: BootState, number: int) -> OncePlan:
    """Boot generation `number` at the next boot only (see each backend's plan_boot_once):
    GRUB's grubenv next_entry; systemd-boot's LoaderEntryOneShot, or under --root
    loader.conf's default with a record that puts the default back after that boot."""
    actions, message = backend(state.target.kind).plan_boot_once(state, number)
    return OncePlan(_plan(state, actions), message)


def boot_once(opts: Options, number: int, *, dry_run: bool = False) -> OncePlan:
    generation.toplevel_of(opts.layout, number)  # exists, or a clear error
    plan = plan_boot_once(boot_state(opts, ()), number)
    if not dry_run:
        execute_boot(plan.plan)
    return plan


def plan_finish_boot_once(state: BootState) -> BootPlan | None:
    """After a file-based one-shot boot, loader.conf names the default again and the record
    goes. None: nothing to finish (no record, or the one-shot boot has not happened yet)."""
    once = state.boot_once
    if once is None or (once.boot_id is not None and once.boot_id == state.boot_id):
        return None
    actions = backend(state.target.kind).plan_finish_boot_once(state)
    return _plan(state, [*actions, DeleteFile(once.path, once.size, "state")])


def finish_boot_once(opts: Options) -> bool:
    """True when a one-shot boot was finished."""
    if not opts.layout.host(opts.layout.boot_once_file).exists():
        return False  # the common case, without probing the bootloader
    plan = plan_finish_boot_once(boot_state(opts, ()))
    if plan is not None:
        execute_boot(plan)
    return plan is not None


@dataclass(frozen=True)
class InstallPlan:
    setup: BootPlan  # hook files and commands
    boot: BootPlan  # the entries of every generation
    notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.boot.warnings

    def describe(self) -> list[str]:
        return [*(a.describe() for a in self.setup.actions), *self.boot.describe(),
                *self.notes]


def plan_install(opts: Options, state: BootState) -> InstallPlan:
    actions, notes = backend(state.target.kind).plan_install(state)
    boot = plan_entries(state, state.markers.default, auto=False)
    return InstallPlan(_plan(state, actions), boot, notes)


def install(opts: Options, *, dry_run: bool) -> InstallPlan:
    state = boot_state(opts, generation.generation_numbers(opts.layout))
    plan = plan_install(opts, state)
    warn_all(plan.warnings)
    if not dry_run:
        execute_boot(plan.boot)
        execute_boot(plan.setup)
    return plan

