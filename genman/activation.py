"""The activation commands: switch, test, boot, switch-generation, rollback, status.

Each one: validate the profile (before the lock: a bad profile writes nothing), take the
lock and undo an interrupted run (`genman.session`), build, probe, plan, and run the plan
as one transaction. `switch --dry-run` stops after planning and prints the plan: it takes no
lock, builds nothing (store names are computed, not written) and writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from genman import damage, generation, status
from genman.bootloader import Pending
from genman.channel import warn_all
from genman.context import Options
from genman.errors import GenmanError
from genman.etcwants import copy_sources, touched_paths
from genman.execute import Outcome
from genman.generation import BuildResult
from genman.layout import Layout
from genman.manifest import Manifest
from genman.plan import (
    KEEP,
    Keep,
    Plan,
    Request,
    Target,
    plan_switch,
)
from genman.probe import probe
from genman.services import InitSystem
from genman.services.probe import with_unbuilt_texts
from genman.services.state import service_query
from genman.session import session
from genman.state import SystemState
from genman.transaction import Journal, boot_plan, live_manifest, run

if TYPE_CHECKING:
    from genman.profile import Profile
    from genman.textdiff import FileDiff

Progress = Callable[[str], None]


class Mode(StrEnum):
    SWITCH = "switch"  # activate now, make it the default
    TEST = "test"  # activate now, the default stays
    BOOT = "boot"  # make it the default, activate at the next boot


@dataclass
class Result:
    number: int
    plan: Plan
    outcome: Outcome = field(default_factory=Outcome)
    built: bool = False  # a new generation was made
    content: list[FileDiff] | None = None  # dry run with --diff: what /etc content changes
    counting: list[str] = field(default_factory=list)  # warnings of the new default's counting


# Run under the lock of the command that made generation N the boot default: starts
# counting its boots; returns warnings. One session for both, so nothing (the boot-time
# marker, another genman) can come between the default moving and its counting starting.
OnDefault = Callable[[int], list[str]]


@dataclass(frozen=True)
class Flags:
    backup: bool = False
    init_system: InitSystem | None = None
    force: bool = False  # overwrite managed files changed by hand (genman.drift)


# ---------------------------------------------------------------- dry builds


def _preview(opts: Options, prof: Profile) -> tuple[Target, Pending | None, dict[str, str]]:
    """The generation `build` would make (nothing written); when it is new, what its boot
    entry needs; the content digests of the store and secret files it would add."""
    from genman.bootloader.entries import boot_of

    layout = opts.layout
    pv = generation.preview(prof, layout)
    c = pv.composed
    target = Target(pv.number, c.toplevel, c.manifest)
    if pv.number in generation.generation_numbers(layout):
        return target, None, pv.digests
    boot = boot_of(layout, pv.number, c.toplevel, c.manifest, datetime.now(UTC))
    return target, Pending(pv.number, boot, pv.sources, pv.rendered), pv.digests


# ---------------------------------------------------------------- planning


def _target(layout: Layout, number: int) -> Target:
    toplevel = generation.toplevel_of(layout, number)
    return Target(number, toplevel, damage.read_intact_manifest(layout, number, toplevel))


def _plan(opts: Options, target: Target, mode: Mode | None, flags: Flags,
          pending: Pending | None = None, digests: dict[str, str] | None = None
          ) -> tuple[SystemState, Plan]:
    """mode None: switch-generation / rollback (activate and make the default).
    `digests`: content digests of files a dry run's generation would add to the store."""
    layout = opts.layout
    activate = mode is not Mode.BOOT
    old = live_manifest(layout) if activate else None
    query = service_query(old, target.manifest) if activate else None
    state = probe(layout, touched_paths(old, target.manifest), copy_sources(old, target.manifest),
                  flags.init_system, query)
    if digests:
        state = dataclasses.replace(state, store_digests={**digests, **state.store_digests})
    if pending is not None and query is not None:
        state = dataclasses.replace(
            state, services=with_unbuilt_texts(state.services, query, pending.sources,
                                               pending.rendered))
    default: int | Keep | None = KEEP if mode is Mode.TEST else target.number
    boot_default = state.markers.default if mode is Mode.TEST else target.number
    request = Request(target=target, activate=activate, default=default,
                      backup=flags.backup, boot=boot_plan(opts, boot_default, pending),
                      guard=True, force=flags.force)
    plan = plan_switch(state, old, request)
    warn_all(plan.warnings)
    return state, plan


def _journal(opts: Options, state: SystemState, command: str, target: Target,
             activates: bool) -> Journal:
    import os

    from genman.transaction import store_name

    return Journal(
        command=command,
        pid=os.getpid(),
        boot_id=state.boot_id,
        activates=activates,
        old_etc=store_name(state.ledger.toplevel) if state.ledger else None,
        old_active=state.markers.active,
        old_default=state.markers.default,
        new_toplevel=target.toplevel,
        new_number=target.number,
    )


def _apply(opts: Options, target: Target, mode: Mode | None, flags: Flags,
           progress: Progress, command: str, built: BuildResult | None = None) -> Result:
    """`built`: the new generation this command made; refused before anything changed
    (e.g. no room for its kernel on the ESP), it is dropped again, so it does not stand in
    the way of every later switch."""
    try:
        state, plan = _plan(opts, target, mode, flags)
    except GenmanError:
        if built is not None and built.new:
            generation.forget(opts.layout, built.number)
        raise
    journal = _journal(opts, state, command, target, activates=mode is not Mode.BOOT)
    outcome = run(opts, journal, plan, progress, state.init_system)
    return Result(_number(target), plan, outcome)


def _number(target: Target) -> int:
    if target.number is None:  # only recovery plans for a generation without a number
        raise GenmanError(f"{target.toplevel} has no generation number")
    return target.number


def apply_generation(opts: Options, number: int, mode: Mode | None, flags: Flags,
                     progress: Progress, command: str) -> Result:
    """Apply existing generation `number` as `mode` would; the caller holds the lock and
    has run `recover` (confirmed switches and their reverts go through here)."""
    return _apply(opts, _target(opts.layout, number), mode, flags, progress, command)


# ---------------------------------------------------------------- commands


def switch(opts: Options, profile_file: Path, progress: Progress, mode: Mode,
           flags: Flags = Flags(), dry_run: bool = False, content: bool = False,
           on_default: OnDefault | None = None) -> Result:
    """`content` (dry run only): also the unified diff of every /etc file it changes."""
    from genman import profile

    prof = profile.load(profile_file, opts.layout)
    if dry_run:
        target, pending, digests = _preview(opts, prof)
        result = Result(_number(target), _plan(opts, target, mode, flags, pending, digests)[1])
        if content:
            from genman import contentdiff

            result.content = contentdiff.planned(opts.layout, prof, live_manifest(opts.layout))
        return result
    with session(opts, progress, flags.init_system):
        built = generation.build(prof, opts.layout, progress)
        result = _apply(opts, _target(opts.layout, built.number), mode, flags, progress,
                        mode.value, built)
        result.built = built.new
        if on_default is not None and mode is not Mode.TEST:
            result.counting = on_default(result.number)
        return result


def plan_received(opts: Options, toplevel: str, manifest: Manifest, mode: Mode) -> Result:
    """`switch --dry-run` for a generation built elsewhere (deploy) and not in the store:
    the number it would get and the plan, nothing written."""
    from genman.bootloader.entries import boot_of

    layout = opts.layout
    number = generation.number_for(layout, toplevel)[0]
    target = Target(number, toplevel, manifest)
    pending = None
    if number not in generation.generation_numbers(layout):
        boot = boot_of(layout, number, toplevel, manifest, datetime.now(UTC))
        pending = Pending(number, boot, {})
    return Result(number, _plan(opts, target, mode, Flags(), pending)[1])


def switch_generation(opts: Options, number: int, progress: Progress,
                      flags: Flags = Flags(), dry_run: bool = False,
                      command: str = "switch-generation",
                      on_default: OnDefault | None = None) -> Result:
    if dry_run:
        target = _target(opts.layout, number)
        return Result(number, _plan(opts, target, None, flags)[1])
    with session(opts, progress, flags.init_system):
        result = _apply(opts, _target(opts.layout, number), None, flags, progress, command)
        if on_default is not None:
            result.counting = on_default(number)
        return result


def previous_generation(layout: Layout) -> int:
    m = status.markers(layout)
    numbers = generation.generation_numbers(layout)
    if m.default is None:
        raise GenmanError("there is no default generation to roll back from",
                          hint="`genman switch-generation N` activates a given generation")
    older = [n for n in numbers if n < m.default]
    if not older:
        raise GenmanError(f"generation {m.default} is the oldest there is; nothing to roll "
                          "back to", hint="`genman list-generations` shows what there is")
    return older[-1]


def rollback(opts: Options, progress: Progress, flags: Flags = Flags(),
             dry_run: bool = False, on_default: OnDefault | None = None) -> Result:
    if dry_run:
        return switch_generation(opts, previous_generation(opts.layout), progress, flags,
                                 dry_run=True)
    with session(opts, progress, flags.init_system):
        number = previous_generation(opts.layout)
        result = _apply(opts, _target(opts.layout, number), None, flags, progress, "rollback")
        if on_default is not None:
            result.counting = on_default(number)
        return result


