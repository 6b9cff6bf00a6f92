"""Boot entries for every retained generation: systemd-boot and GRUB backends.

The interface the rest of genman uses:
- `plan_boot(opts, default=, retained=)` reads only and returns a BootPlan (or raises
  GenmanError, e.g. when the ESP or /boot lacks space, before anything changed);
- `execute_boot(opts, plan)` carries it out;
- `entry_numbers(opts)` the generations the bootloader has an entry for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from genman.bootloader.model import BootPlan, Kind
from genman.context import Options
from genman.errors import GenmanError

__all__ = ["BootPlan", "Kind", "entry_numbers", "execute_boot", "plan_boot", "shrink_boot"]

log = logging.getLogger(__name__)


def plan_boot(opts: Options, *, default: int | None, retained: Sequence[int]) -> BootPlan:
    from genman.bootloader.planner import plan_boot as _plan

    return _plan(opts, default=default, retained=retained)


def execute_boot(opts: Options, plan: BootPlan) -> None:
    from genman.bootloader.execute import execute_boot as _execute

    _execute(plan)


def entry_numbers(opts: Options) -> set[int]:
    """Generations the configured bootloader has an entry for (empty when unknown)."""
    from genman.bootloader import grub, systemd_boot
    from genman.bootloader.probe import detect

    try:
        target = detect(opts)
    except GenmanError as e:
        log.debug("no boot entries: %s", e)
        return set()
    if target.kind is Kind.SYSTEMD_BOOT and target.esp is not None:
        return set(systemd_boot.entry_numbers(target.esp))
    if target.kind is Kind.GRUB and target.boot_dir is not None:
        try:
            menu = (grub.menu_dir(target.boot_dir) / "grub.cfg").read_text()
        except OSError:
            return set()
        return grub.entry_numbers(menu)
    return set()


def shrink_boot(opts: Options, retained: list[int]) -> BootPlan:
    """A boot plan that only removes: entries for `retained` generations that have one
    already (so prune and gc never need room on the ESP or /boot for new files)."""
    from genman import status

    have = entry_numbers(opts)
    default = status.markers(opts.layout).default
    return plan_boot(opts, default=default if default in have else None,
                     retained=[n for n in retained if n in have])
