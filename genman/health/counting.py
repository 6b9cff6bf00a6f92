"""Boot counting: a new default gets `tries` boots to be marked good, then the bootloader
falls back to the last good generation by itself.

systemd-boot: the Boot Loader Specification's counter in the entry's file name,
`genman-N+LEFT[-DONE].conf`; the loader renames it on each try and sorts an entry at +0
below the others. The entry's id (`genman-N.conf`, what loader.conf's `default` and the
one-shot name) does not include the counter, so it stays stable. Blessing removes the
counter.

GRUB: grubenv holds `genman_trying` (the default still being tried), `genman_tries_left`
and `genman_good` (the last generation marked good); genman's menu counts down with
load_env/save_env (grub-counting.cfg.j2) and boots `genman_good` at 0. Where GRUB cannot
write its environment block (LVM, RAID, btrfs, ZFS), counting is off, with a warning.

`judge` is the pure decision the boot-time marker acts on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from genman import fsutil
from genman.health.config import HealthConfig
from genman.health.state import GenState, Record

ENTRIES_DIR = "loader/entries"
_BLS = re.compile(r"^genman-([1-9][0-9]*)(?:\+([0-9]+)(?:-([0-9]+))?)?\.conf$")
GRUB_VARS = ("genman_trying", "genman_tries_left", "genman_good")
# File systems and layers GRUB reads but cannot write its environment block on
# (grub-mkconfig's 00_header refuses save_env there for the same reason).
NO_SAVE_ENV_FS = {"btrfs", "zfs", "xfs_v5_unsupported", "f2fs"}
NO_SAVE_ENV_ABSTRACTION = {"lvm", "diskfilter", "mdraid09", "mdraid1x", "raid5rec",
                           "raid6rec", "cryptodisk", "luks", "luks2"}


PANIC_REBOOT = "panic=10"  # a kernel panic reboots after 10 s, and the counter counts it


def panic_params(health: HealthConfig | None, params: tuple[str, ...]) -> tuple[str, ...]:
    """What a counted generation's entry adds: a panic must come back by itself."""
    if health is None or any(p.startswith("panic=") for p in params):
        return ()
    return (PANIC_REBOOT,)


# ---------------------------------------------------------------- systemd-boot


@dataclass(frozen=True)
class BlsName:
    number: int
    left: int | None = None  # None: not counted (blessed, or never counted)
    done: int | None = None

    @property
    def name(self) -> str:
        if self.left is None:
            return f"genman-{self.number}.conf"
        if self.done is None:
            return f"genman-{self.number}+{self.left}.conf"
        return f"genman-{self.number}+{self.left}-{self.done}.conf"

    @property
    def bad(self) -> bool:
        return self.left == 0


def parse_bls(name: str) -> BlsName | None:
    m = _BLS.match(name)
    if m is None:
        return None
    left = int(m.group(2)) if m.group(2) is not None else None
    done = int(m.group(3)) if m.group(3) is not None else None
    return BlsName(int(m.group(1)), left, done)


def bls_entries(esp: Path) -> dict[int, BlsName]:
    try:
        names = os.listdir(esp / ENTRIES_DIR)
    except OSError:
        return {}
    return {b.number: b for n in names if (b := parse_bls(n)) is not None}


def _rename(esp: Path, old: BlsName, new: BlsName) -> None:
    d = esp / ENTRIES_DIR
    if old.name != new.name:
        os.rename(d / old.name, d / new.name)
        fsutil.fsync_dir(d)


def bls_start(esp: Path, number: int, tries: int) -> bool:
    """Give generation N's entry `tries` boots (a fresh counter). False: no entry."""
    cur = bls_entries(esp).get(number)
    if cur is None:
        return False
    _rename(esp, cur, BlsName(number, tries))
    return True


def bls_bless(esp: Path, number: int) -> bool:
    """Remove N's counter: it boots as often as it is chosen. False: nothing to bless."""
    cur = bls_entries(esp).get(number)
    if cur is None or cur.left is None:
        return False
    _rename(esp, cur, BlsName(number))
    return True


def bls_left(esp: Path, number: int) -> int | None:
    cur = bls_entries(esp).get(number)
    return cur.left if cur else None


# ---------------------------------------------------------------- GRUB


def grubenv_start(number: int, tries: int, good: int | None) -> dict[str, str | None]:
    """grubenv changes that start counting generation N."""
    return {"genman_trying": str(number), "genman_tries_left": str(tries),
            "genman_good": str(good) if good is not None else None}


def grubenv_bless(number: int) -> dict[str, str | None]:
    return {"genman_trying": None, "genman_tries_left": None, "genman_good": str(number)}


def grubenv_left(env: dict[str, str], number: int) -> int | None:
    """Tries left for N, when grubenv counts N."""
    if env.get("genman_trying") != str(number):
        return None
    value = env.get("genman_tries_left", "")
    return int(value) if value.isdigit() else 0


def save_env_problem(fs_type: str | None, abstractions: list[str]) -> str | None:
    """Why GRUB cannot write grubenv on this file system, or None when it can."""
    if fs_type in NO_SAVE_ENV_FS:
        return f"/boot/grub is on {fs_type}"
    bad = [a for a in abstractions if a in NO_SAVE_ENV_ABSTRACTION]
    if bad:
        return f"/boot/grub is on {', '.join(bad)}"
    return None


# ---------------------------------------------------------------- the boot-time decision


class Verdict(StrEnum):
    NOTHING = "nothing"  # nothing genman tracks was booted
    CHECK = "check"  # booted the tried default: run the checks, bless or reboot
    RECORD = "record"  # booted a generation already judged: run the checks, keep results
    FALLBACK = "fallback"  # the tried default ran out of tries: make the booted one default
    MANUAL = "manual"  # something else was picked by hand or once: bless nothing


def judge(default: int | None, booted: int | None, default_rec: Record | None,
          default_left: int | None) -> Verdict:
    """What the boot-time marker does, from what it finds. Pure."""
    if booted is None or default is None:
        return Verdict.NOTHING
    trying = default_rec is not None and default_rec.state is GenState.TRYING
    if booted == default:
        return Verdict.CHECK if trying else Verdict.RECORD
    if trying and default_left == 0:
        return Verdict.FALLBACK
    return Verdict.MANUAL


def fallback_of(exclude: int | None, good: Iterable[int], failed: Iterable[int],
                booted: int | None, active: int | None) -> int | None:
    """The generation the loader falls back to when `exclude` (the tried default) runs out
    of tries: the newest one marked good, else the booted or active one unless it failed."""
    candidates = [n for n in good if n != exclude]
    if candidates:
        return max(candidates)
    bad = set(failed)
    for n in (booted, active):
        if n is not None and n != exclude and n not in bad:
            return n
    return None


def fallback_reason(tries: int, last_failure: str | None) -> str:
    why = last_failure or "never marked good (a panic, a hang, or no boot-time marker)"
    return f"{tries} boot{'s' if tries != 1 else ''}, {why}"
