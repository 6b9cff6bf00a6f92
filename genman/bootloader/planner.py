"""plan_entries: every file to copy, write and delete for the entries of the retained
generations, checked against free space before anything changes. Pure: it decides from a
BootState (`genman.bootloader.read`) and the backend's Draft."""

from __future__ import annotations

from genman.bootloader.backends import backend
from genman.bootloader.base import BootState, Draft
from genman.bootloader.model import (
    PHASE_ORDER,
    Action,
    BootPlan,
    CopyFile,
    DeleteFile,
    Kind,
    Phase,
    human,
)
from genman.errors import GenmanError


def _rounded(n: int, block: int) -> int:
    return max(1, -(-n // block)) * block if n >= 0 else 0


def _check_space(state: BootState, d: Draft, copies: list[CopyFile], cleans: list[DeleteFile],
                 default: int | None) -> None:
    block, free = state.block, state.free
    need = sum(_rounded(c.size, block) for c in copies)
    need += sum(_rounded(len(w.text.encode()), block) for w in d.writes
                if d.fs_root in w.path.parents)
    freed = sum(_rounded(c.size, block) for c in cleans)
    if need <= free + freed:
        return
    missing = need - free - freed
    msg = (f"not enough space on the {d.where} ({d.fs_root}): the new boot files need "
           f"{human(need)}, {human(free + freed)} is free; {human(missing)} missing")
    keep = _suggest_keep(state, d, default)
    if keep is not None:
        hint = (f"`genman prune --keep {keep}` would make room (it removes older generations "
                "and their boot files); then run this again")
    else:
        hint = (f"even with only the generations genman must keep, {d.where} is too small; "
                f"free space on {d.fs_root} (files genman does not own)")
    raise GenmanError(msg, hint=hint)


def _suggest_keep(state: BootState, d: Draft, default: int | None) -> int | None:
    m = state.markers
    protected = {n for n in (m.default, m.active, m.booted, default) if n is not None}
    protected |= m.pinned
    numbers = sorted(g.number for g in state.gens)
    by_number = {g.number: g for g in state.gens}
    block, existing = state.block, state.existing
    for k in range(len(numbers) - 1, 0, -1):
        keep = set(numbers[-k:]) | protected
        wanted: set[str] = set()
        for n in keep:
            if n in by_number:
                wanted |= d.file_of(by_number[n])
        need = sum(_rounded(state.sizes.get(d.wanted[n], 0), block)
                   for n in wanted - set(existing))
        freeable = sum(_rounded(s, block) for n, s in existing.items()
                       if n not in wanted and n not in d.kept)
        if need <= state.free + freeable:
            return k
    return None


def _finish(state: BootState, d: Draft, default: int | None) -> BootPlan:
    existing = state.existing
    copies = [CopyFile(src, d.files_dir / name, state.sizes.get(src, 0), d.where)
              for name, src in sorted(d.wanted.items()) if name not in existing]
    for c in copies:
        if c.src not in state.sizes:
            raise GenmanError(f"{c.src} is missing from the store",
                              hint="the generation is damaged; `genman prune` can drop it")
    stale = sorted(set(existing) - set(d.wanted) - d.kept)
    cleans = [DeleteFile(d.files_dir / n, existing[n], d.where, Phase.CLEAN)
              for n in stale if n not in d.current_refs]
    late = [DeleteFile(d.files_dir / n, existing[n], d.where)
            for n in stale if n in d.current_refs]
    _check_space(state, d, copies, cleans, default)
    actions: list[Action] = [*cleans, *copies, *d.writes, *d.deletes, *late]
    actions.sort(key=lambda a: PHASE_ORDER.index(a.phase))
    return BootPlan(d.kind, tuple(actions), d.entries, default, tuple(d.warnings),
                    d.dirs, (d.fs_root,))


def plan_entries(state: BootState, default: int | None, *, auto: bool) -> BootPlan:
    """Entries for `state.gens`, `default` as the boot default (None: leave the default as
    it is). `auto`: the bootloader was detected, so "none found" is worth a warning."""
    if state.target.kind is Kind.NONE:
        return BootPlan(Kind.NONE, warnings=(state.target.reason,) if auto else (),
                        default=default)
    warnings = list(state.gen_warnings)
    if default is not None and default not in {g.number for g in state.gens}:
        warnings.append(f"generation {default} has no kernel, so no boot entry: "
                        "the boot default stays as it is")
        default = None
    d = backend(state.target.kind).plan(state, list(state.gens), default)
    d.warnings.extend(warnings)
    return _finish(state, d, default)
