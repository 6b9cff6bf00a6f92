"""`genman gc`: remove store paths no generation references (nor the active or booted
system, nor a pending switch's journal), and boot files no entry needs."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from genman import fsutil, generation, storemount
from genman.bootloader import execute_boot, shrink_boot
from genman.bootloader.model import BootPlan, human
from genman.channel import warn_all
from genman.context import Options
from genman.errors import GenmanError
from genman.layout import Layout, is_secret_name, is_store_name, store_names_in
from genman.ledger import Ledger
from genman.session import session
from genman.store import Store, store_size
from genman.trash import Bin


@dataclass(frozen=True)
class StorePlan:
    paths: tuple[tuple[str, int], ...]  # store name, bytes
    secrets: tuple[str, ...] = ()  # names in the secrets directory no generation needs

    @property
    def bytes(self) -> int:
        return sum(s for _, s in self.paths)

    def describe(self) -> list[str]:
        lines = [f"secrets: remove {len(self.secrets)} no generation names"] \
            if self.secrets else []
        if not self.paths:
            return ["store: nothing to collect", *lines]
        return [f"store: remove {len(self.paths)} paths ({human(self.bytes)})"] + [
            f"  {name}" for name, _ in self.paths] + lines


@dataclass(frozen=True)
class GcPlan:
    boot: BootPlan
    store: StorePlan

    def describe(self) -> list[str]:
        return [*self.boot.describe(), *self.store.describe()]

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.boot.warnings

    def freed(self) -> dict[str, int]:
        return {"store": self.store.bytes, **self.boot.freed()}


_ONCE = re.compile(r"genman-([0-9]+)")
# systemd-boot's one-shot entry, set by `bootctl set-oneshot` on a live system.
_ONESHOT_VAR = "/sys/firmware/efi/efivars/LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"


def _read(path: os.PathLike[str] | str) -> str | None:
    """A state file's text; None when absent. Unreadable bytes are kept as U+FFFD, so a
    damaged file still names what it can (roots err on the side of keeping)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GenmanError(f"cannot read {path}: {e.strerror}",
                          hint="gc and prune stop rather than guess what is still needed; "
                          "fix or remove that file") from None


def boot_once_numbers(layout: Layout) -> set[int]:
    """Generations a one-shot boot names: grubenv's next_entry, the file record under --root,
    the LoaderEntryOneShot EFI variable."""
    found: set[int] = set()
    env = _read(layout.host("/boot/grub/grubenv")) or ""
    for line in env.splitlines():
        if line.startswith("next_entry="):
            found |= {int(n) for n in _ONCE.findall(line)}
    record = _read(layout.host(layout.boot_once_file)) or ""
    found |= {int(n) for n in re.findall(r'"entry":\s*([0-9]+)', record)}
    with contextlib.suppress(OSError):
        var = layout.host(_ONESHOT_VAR).read_bytes()[4:].decode("utf-16-le", "replace")
        found |= {int(n) for n in _ONCE.findall(var)}
    return found


def live_etc_names(layout: Layout) -> set[str]:
    """Store names of the /etc that is live now, whatever /run says: /etc/static's target and
    the ledger's toplevel (a machine booted through the distribution's own entry has no
    /run/genman/active, but its /etc still points into the store)."""
    names: set[str] = set()
    with contextlib.suppress(OSError):
        names |= store_names_in(os.readlink(layout.host(layout.etc_static)))
    text = _read(layout.host(layout.ledger))
    if text is not None:
        names |= store_names_in(Ledger.parse(text, str(layout.ledger)).toplevel or "")
    return names


def _link_roots(layout: Layout) -> set[str]:
    """Store names of the default/active/booted links, the live /etc, one-shot boots and a
    pending journal."""
    roots = live_etc_names(layout)
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
    for n in boot_once_numbers(layout):
        with contextlib.suppress(GenmanError):
            roots.add(generation.toplevel_of(layout, n))
    roots |= store_names_in(_read(layout.host(layout.journal)) or "")
    return roots


def _retained_toplevel(layout: Layout, number: int) -> str:
    """A retained generation's toplevel, refused when it cannot be read: what it needs is
    then unknown, and gc deletes nothing on a guess."""
    try:
        toplevel = generation.toplevel_of(layout, number)
        generation.read_manifest(layout, toplevel)
    except GenmanError as e:
        raise GenmanError(
            f"generation {number} cannot be read ({e.message}); gc and prune stop so that "
            "nothing it needs is deleted",
            hint=f"restore it, or drop it explicitly: make another generation the default "
            f"(`genman switch-generation N`), remove {layout.generation(number)}, run gc",
        ) from None
    return toplevel


def _references(layout: Layout, name: str) -> set[str]:
    """What store path `name` needs: its references file, its manifest, and every store
    name its links point at (any one of them being damaged or empty keeps the others)."""
    host = layout.host(layout.store_dir / name)
    found = store_names_in(_read(host / "references") or "") if host.is_dir() else set()
    if host.is_dir() and os.path.lexists(host / "manifest.json"):
        with contextlib.suppress(GenmanError):
            found |= generation.read_manifest(layout, name).references()
    for dirpath, dirnames, filenames in os.walk(host):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                found |= store_names_in(os.readlink(p))
    return {r for r in found if is_store_name(r)}


def live_names(layout: Layout, numbers: list[int]) -> set[str]:
    """Every store name needed by generations `numbers` and the roots."""
    todo = {_retained_toplevel(layout, n) for n in numbers} | _link_roots(layout)
    live: set[str] = set()
    while todo:
        name = todo.pop()
        if name in live:
            continue
        live.add(name)
        todo |= _references(layout, name) - live
    return live


def plan_store(opts: Options, retained: list[int]) -> StorePlan:
    store = Store(opts.layout)
    live = live_names(opts.layout, retained)
    dead = [n for n in store.names() if n not in live]
    return StorePlan(tuple((n, store_size(store.host(n))) for n in dead),
                     _dead_secrets(opts.layout, live))


def _dead_secrets(layout: Layout, live: set[str]) -> tuple[str, ...]:
    """Secrets that no live toplevel's manifest names (a rollback target keeps its own)."""
    try:
        names = os.listdir(layout.host(layout.secrets_dir))
    except FileNotFoundError:
        return ()
    needed: set[str] = set()
    for name in live:
        if os.path.lexists(layout.host(layout.store_dir / name / "manifest.json")):
            try:
                m = generation.read_manifest(layout, name)
            except GenmanError:
                return ()  # what it needs is unknown: keep every secret
            needed |= {s.name for s in m.secrets.values()}
    return tuple(sorted(n for n in names if is_secret_name(n) and n not in needed))


def execute_store(opts: Options, plan: StorePlan, bin_: Bin | None = None) -> None:
    """Each dead store path leaves the store in one rename into the trash (deleted after
    the lock); one the rename cannot move (another mount) is deleted in place."""
    store = Store(opts.layout)
    for name in plan.secrets:
        fsutil.remove_file(opts.layout.host(opts.layout.secrets_dir) / name)
    if not plan.paths:
        store.clean()
        return
    bin_ = bin_ or Bin(opts.layout)
    with storemount.writable(opts.layout):
        store.clean()
        for name, _ in plan.paths:
            if not bin_.move(store.host(name), name):
                fsutil.remove_tree(store.host(name))
        fsutil.fsync_dir(store.dir)


def plan_gc(opts: Options) -> GcPlan:
    numbers = generation.generation_numbers(opts.layout)
    return GcPlan(shrink_boot(opts, numbers), plan_store(opts, numbers))


def gc(opts: Options, *, dry_run: bool, wait: bool = False) -> GcPlan:
    with session(opts, wait_trash=wait):
        plan = plan_gc(opts)
        warn_all(plan.warnings)
        if not dry_run:
            execute_boot(opts, plan.boot)
            execute_store(opts, plan.store)
        return plan
