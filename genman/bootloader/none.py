"""No bootloader (`--bootloader none`, or none found): no files, no entries, and a
one-shot boot is refused."""

from __future__ import annotations

from genman.bootloader.base import BootFiles, BootState, Draft
from genman.bootloader.entries import GenBoot
from genman.bootloader.model import Action, Kind
from genman.bootloader.probe import BootTarget
from genman.context import Options
from genman.errors import GenmanError


class NoBootloader:
    kind = Kind.NONE

    def files(self, opts: Options, target: BootTarget) -> BootFiles:
        return BootFiles(None, "nowhere")

    def entry_numbers(self, state: BootState) -> set[int]:
        return set()

    def plan(self, state: BootState, gens: list[GenBoot], default: int | None) -> Draft:
        raise _needed("boot entries", state)  # plan_entries stops before: nothing to plan

    def plan_boot_once(self, state: BootState, number: int) -> tuple[list[Action], str]:
        raise _needed("boot-once", state)

    def plan_finish_boot_once(self, state: BootState) -> list[Action]:
        return []

    def plan_install(self, state: BootState) -> tuple[list[Action], tuple[str, ...]]:
        raise _needed("bootloader install", state)


def _needed(what: str, state: BootState) -> GenmanError:
    return GenmanError(f"{what} needs a bootloader: {state.target.reason}",
                       hint="give --bootloader systemd-boot|grub and --esp/--boot-dir")
