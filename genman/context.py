"""What the global options say, handed to every command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from genman.layout import Layout

LOCK_WAIT = 30.0  # seconds a command waits for genman's lock by default (`--lock-wait`)


class BootloaderChoice(StrEnum):
    AUTO = "auto"
    SYSTEMD_BOOT = "systemd-boot"
    GRUB = "grub"
    NONE = "none"


@dataclass(frozen=True)
class Options:
    layout: Layout
    esp: Path | None = None  # host path, as given by --esp
    boot_dir: Path | None = None  # host path, as given by --boot-dir
    bootloader: BootloaderChoice = BootloaderChoice.AUTO
    debug: bool = False
    lock_wait: float = LOCK_WAIT  # seconds; 0 fails at once when another genman holds it
