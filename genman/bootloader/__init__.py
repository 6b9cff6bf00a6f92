"""Boot entries: systemd-boot and GRUB backends."""

from __future__ import annotations

from genman.context import Options


def entry_numbers(opts: Options) -> set[int]:
    """Generations the configured bootloader has an entry for."""
    return set()
