"""`genman prune`, `pin` and `unpin`: drop old generations with their boot entries and boot
files in one plan, then collect the store paths nothing references any more.

Never pruned: the default, active, booted and pinned generations."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from genman import fsutil, generation, status
from genman.bootloader import shrink_boot
from genman.bootloader.model import BootPlan, human
from genman.channel import warn_all
from genman.context import Options
from genman.errors import GenmanError
from genman.gc import StorePlan, boot_once_numbers, execute_store, live_etc_names, plan_store
from genman.session import session
from genman.trash import Bin

_AGE = re.compile(r"^\s*([0-9]+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    m = _AGE.match(text)
    if not m:
        raise GenmanError(f"--older-than {text!r}: not an age",
                          hint="give a number and a unit: 30d, 12h, 2w, 90m, 45s")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def protected(opts: Options) -> dict[int, list[str]]:
    """Generations prune never removes: default, active, booted, the one whose /etc is live
    (with or without /run/genman/active), one named for a one-shot boot, pinned ones."""
    layout = opts.layout
    m = status.markers(layout)
    why: dict[int, list[str]] = {}
    for n, reason in ((m.default, "default"), (m.active, "active"), (m.booted, "booted")):
        if n is not None:
            why.setdefault(n, []).append(reason)
    live = live_etc_names(layout)
    for n in generation.generation_numbers(layout):
        with contextlib.suppress(GenmanError):
            if generation.toplevel_of(layout, n) in live:
                why.setdefault(n, []).append("its /etc is live")
    for n in sorted(boot_once_numbers(layout)):
        why.setdefault(n, []).append("boot-once")
    for n in sorted(m.pinned):
        why.setdefault(n, []).append("pinned")
    return why


@dataclass(frozen=True)
class PrunePlan:
    generations: tuple[int, ...]  # to delete
    spared: tuple[tuple[int, str], ...]  # would go, but must stay (and why)
    boot: BootPlan
    store: StorePlan

    def describe(self) -> list[str]:
        lines = []
        if self.generations:
            lines.append("remove generations " + ", ".join(map(str, self.generations)))
        else:
            lines.append("no generation to remove")
        lines.extend(f"keep generation {n}: {why}" for n, why in self.spared)
        lines.extend(self.boot.describe())
        lines.extend(self.store.describe())
        return lines

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.boot.warnings

    def freed(self) -> dict[str, int]:
        out = {"store": self.store.bytes}
        out.update(self.boot.freed())
        return out


def freed_text(freed: dict[str, int]) -> str:
    parts = [f"{human(freed.get('store', 0))} on the store"]
    parts += [f"{human(v)} on {'the ESP' if k == 'ESP' else k}" for k, v in sorted(freed.items())
              if k not in ("store", "state")]
    return "freed " + ", ".join(parts)


def plan_prune(opts: Options, *, keep: int | None, older_than: timedelta | None,
               now: datetime | None = None) -> PrunePlan:
    """Both given: a generation goes when it is outside the `keep` newest *and* older."""
    if keep is None and older_than is None:
        raise GenmanError("prune needs --keep N or --older-than AGE",
                          hint="e.g. `genman prune --keep 5` or `genman prune --older-than 30d`")
    if keep is not None and keep < 1:
        raise GenmanError("--keep must be at least 1")
    layout = opts.layout
    numbers = generation.generation_numbers(layout)
    doomed = set(numbers)
    if keep is not None:
        doomed &= set(numbers[:-keep])
    if older_than is not None:
        cutoff = (now or datetime.now(UTC)) - older_than
        doomed &= {g.number for g in generation.list_generations(layout) if g.created < cutoff}
    guard = protected(opts)
    spared = tuple((n, ", ".join(guard[n])) for n in sorted(doomed) if n in guard)
    doomed -= set(guard)
    retained = [n for n in numbers if n not in doomed]
    return PrunePlan(tuple(sorted(doomed)), spared, shrink_boot(opts, retained),
                     plan_store(opts, retained))


def execute_prune(opts: Options, plan: PrunePlan) -> None:
    """Entries first (none names a doomed generation afterwards), then the generation
    links, then the store paths: each renamed into the trash, deleted after the lock."""
    from genman.bootloader import execute_boot

    execute_boot(opts, plan.boot)
    layout = opts.layout
    gens = layout.host(layout.generations_dir)
    bin_ = Bin(layout)
    for n in plan.generations:
        if not bin_.move(gens / str(n), f"generation-{n}"):
            fsutil.remove_file(gens / str(n), durable=False)
    if plan.generations:
        fsutil.fsync_dir(gens)
    execute_store(opts, plan.store, bin_)
    generation.list_generations(layout)  # rewrites the summary index without them


def prune(opts: Options, *, keep: int | None, older_than: timedelta | None,
          dry_run: bool, wait: bool = False) -> PrunePlan:
    with session(opts, wait_trash=wait):
        plan = plan_prune(opts, keep=keep, older_than=older_than)
        warn_all(plan.warnings)
        if not dry_run:
            execute_prune(opts, plan)
        return plan


def pin(opts: Options, number: int, on: bool) -> bool:
    """Pin (or unpin) generation N; False when it already was (or was not)."""
    with session(opts):
        generation.toplevel_of(opts.layout, number)  # exists, or a clear error
        path = opts.layout.host(opts.layout.pins_dir) / str(number)
        if on:
            if path.exists():
                return False
            fsutil.atomic_write(path, f"{number}\n")
            return True
        return fsutil.remove_file(path)
