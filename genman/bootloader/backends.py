"""The backend for each kind of bootloader."""

from __future__ import annotations

from genman.bootloader.base import Bootloader
from genman.bootloader.grub import Grub
from genman.bootloader.model import Kind
from genman.bootloader.none import NoBootloader
from genman.bootloader.systemd_boot import SystemdBoot


def backend(kind: Kind) -> Bootloader:
    match kind:
        case Kind.SYSTEMD_BOOT:
            return SystemdBoot()
        case Kind.GRUB:
            return Grub()
        case Kind.NONE:
            return NoBootloader()
