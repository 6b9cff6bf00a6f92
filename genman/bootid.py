"""This boot's id, from the kernel: a leaf, so the read commands need not import the
prober (`genman.probe` re-exports it)."""

from __future__ import annotations


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return text.strip() if text else None
