"""`genman gc`: remove store paths no generation references (nor the active or booted
system, nor a pending switch's journal), and boot files no entry needs."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from genman import fsutil, generation
from genman.bootloader import execute_boot, shrink_boot
from genman.bootloader.model import BootPlan, human
from genman.context import Options
from genman.errors import GenmanError
from genman.layout import Layout, is_store_name, store_names_in
from genman.session import session
from genman.store import Store, store_size


@dataclass(frozen=True)
class StorePlan:
    paths: tuple[tuple[str, int], ...]  # store name, bytes

    @property
    def bytes(self) -> int:
        return sum(s for _, s in self.paths)

    def describe(self) -> list[str]:
        if not self.paths:
            return ["store: nothing to collect"]
        return [f"store: remove {len(self.paths)} paths ({human(self.bytes)})"] + [
            f"  {name}" for name, _ in self.paths]


@dataclass(frozen=True)
class GcPlan:
    boot: BootPlan
    store: StorePlan

    def describe(self) -> list[str]:
        return [*self.boot.describe(), *self.store.describe()]

    def freed(self) -> dict[str, int]:
        return {"store": self.store.bytes, **self.boot.freed()}


def _link_roots(layout: Layout) -> set[str]:
    """Store names the active/booted links and a pending journal name."""
    roots: set[str] = set()
    for link in (layout.active_link, layout.booted_link, layout.default_link):
        try:
            target = os.readlink(layout.host(link)).rstrip("/")
        except OSError:
            continue
        base = os.path.basename(target)
        if is_store_name(base):
            roots.add(base)
        elif base.isdigit():
            with contextlib.suppress(GenmanError):  # a dangling link protects nothing
                roots.add(generation.toplevel_of(layout, int(base)))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        roots |= store_names_in(layout.host(layout.journal).read_text())
    return roots


def live_names(layout: Layout, numbers: list[int]) -> set[str]:
    """Every store name needed by generations `numbers` and the link/journal roots."""
    todo = {generation.toplevel_of(layout, n) for n in numbers} | _link_roots(layout)
    live: set[str] = set()
    while todo:
        name = todo.pop()
        if name in live:
            continue
        live.add(name)
        try:
            refs = layout.host(layout.store_dir / name / "references").read_text()
        except (OSError, UnicodeDecodeError):
            continue
        todo |= {r for r in refs.split() if is_store_name(r)} - live
    return live


def plan_store(opts: Options, retained: list[int]) -> StorePlan:
    store = Store(opts.layout)
    live = live_names(opts.layout, retained)
    dead = [n for n in store.names() if n not in live]
    return StorePlan(tuple((n, store_size(store.host(n))) for n in dead))


def execute_store(opts: Options, plan: StorePlan) -> None:
    store = Store(opts.layout)
    store.clean()
    for name, _ in plan.paths:
        fsutil.remove_tree(store.host(name))
    if plan.paths:
        fsutil.fsync_dir(store.dir)


def plan_gc(opts: Options) -> GcPlan:
    numbers = generation.generation_numbers(opts.layout)
    return GcPlan(shrink_boot(opts, numbers), plan_store(opts, numbers))


def gc(opts: Options, *, dry_run: bool) -> GcPlan:
    with session(opts):
        plan = plan_gc(opts)
        if not dry_run:
            execute_boot(opts, plan.boot)
            execute_store(opts, plan.store)
        return plan
