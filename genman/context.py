"""What the global options say, handed to every command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from genman.layout import Layout


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
