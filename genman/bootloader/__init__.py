"""Boot entries for every retained generation: systemd-boot and GRUB backends.

The interface the rest of genman uses:
- `plan_boot(opts, default=, retained=)` reads the disk once (`read.read_state`), then
  plans purely (`planner.plan_entries`); returns a BootPlan or raises GenmanError (e.g.
  when the ESP or /boot lacks space) before anything changed;
- `execute_boot(opts, plan)` carries it out;
- `entry_numbers(opts)` the generations the bootloader has an entry for.
Each backend (systemd_boot, grub, none) implements `base.Bootloader`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from genman.bootloader.model import BootPlan, Kind
from genman.context import BootloaderChoice, Options
from genman.errors import GenmanError

if TYPE_CHECKING:
    from genman.bootloader.base import BootState
    from genman.bootloader.entries import GenBoot
    from genman.bootloader.probe import Probe

__all__ = ["BootPlan", "Kind", "entry_numbers", "execute_boot", "plan_boot", "shrink_boot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """A generation a dry run plans for before it is built: its entry (None: no kernel),
    the files its store paths would be copied from, and what its small rendered files
    (templates, `text`) would hold."""

    number: int
    boot: GenBoot | None
    sources: Mapping[str, Path]
    rendered: Mapping[str, bytes] = field(default_factory=dict)


def boot_state(opts: Options, retained: Sequence[int], *, probe: Probe | None = None,
               extra: Pending | None = None, with_fs: bool = True) -> BootState:
    """Probe: the bootloader, its files, and the generations `retained` (plus `extra`, a
    generation not built yet) as their entries need them."""
    from genman.bootloader.backends import backend
    from genman.bootloader.entries import gen_boots
    from genman.bootloader.probe import Probe, detect
    from genman.bootloader.read import read_state

    probe = probe or Probe(opts)
    target = detect(opts, probe)
    gens: list[GenBoot] = []
    warnings: list[str] = []
    damaged: list[int] = []
    if target.kind is not Kind.NONE:
        gens, warnings, damaged = gen_boots(opts.layout, sorted(
            set(retained) - ({extra.number} if extra else set())))
    if extra is not None and extra.boot is not None:
        gens = sorted([*gens, extra.boot], key=lambda g: g.number)
    return read_state(opts, target, backend(target.kind).files(opts, target), gens, probe,
                      warnings, with_fs=with_fs, sources=extra.sources if extra else None,
                      damaged=damaged)


def plan_boot(opts: Options, *, default: int | None, retained: Sequence[int],
              probe: Probe | None = None, extra: Pending | None = None) -> BootPlan:
    """Entries for every generation in `retained` (those with a kernel), `default` as the
    boot default (None: leave the default as it is). Changes nothing."""
    from genman.bootloader.planner import plan_entries

    numbers = sorted(set(retained) | ({default} if default is not None else set()))
    state = boot_state(opts, numbers, probe=probe, extra=extra)
    return plan_entries(state, default, auto=opts.bootloader is BootloaderChoice.AUTO)


def execute_boot(opts: Options, plan: BootPlan) -> None:
    from genman.bootloader.execute import execute_boot as _execute

    _execute(plan)


def entry_numbers(opts: Options) -> set[int]:
    """Generations the configured bootloader has an entry for (empty when unknown)."""
    if opts.bootloader is BootloaderChoice.NONE:  # no entries; list-generations stays light
        return set()
    from genman.bootloader.backends import backend

    try:
        state = boot_state(opts, (), with_fs=False)
    except GenmanError as e:
        log.debug("no boot entries: %s", e)
        return set()
    return backend(state.target.kind).entry_numbers(state)


def shrink_boot(opts: Options, retained: list[int]) -> BootPlan:
    """A boot plan that only removes: entries for `retained` generations that have one
    already (so prune and gc never need room on the ESP or /boot for new files)."""
    from genman import status

    have = entry_numbers(opts)
    default = status.markers(opts.layout).default
    return plan_boot(opts, default=default if default in have else None,
                     retained=[n for n in retained if n in have])
