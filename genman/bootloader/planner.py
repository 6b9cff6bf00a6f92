"""plan_boot: every file to copy, write and delete for the entries of the retained
generations, checked against free space before anything changes. Reads only."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genman import status
from genman.bootloader import grub, systemd_boot
from genman.bootloader.entries import GenBoot, gen_boots
from genman.bootloader.model import (
    PHASE_ORDER,
    Action,
    BootEntry,
    BootPlan,
    CopyFile,
    DeleteFile,
    Kind,
    Phase,
    WriteFile,
    human,
)
from genman.bootloader.probe import BootTarget, Probe, detect
from genman.context import BootloaderChoice, Options
from genman.errors import GenmanError

_BOOT_FILE = re.compile(r"^[0-9a-f]{32}-[A-Za-z0-9+._?=-]+$")
_SAVED = re.compile(r"""^\s*GRUB_DEFAULT\s*=\s*["']?saved["']?\s*$""", re.M)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


@dataclass
class _Draft:
    """What a backend wants; turned into a BootPlan by `_finish`."""

    kind: Kind
    files_dir: Path  # where boot files (store-named kernels, initrds) are copied
    where: str  # "ESP" or "/boot"
    fs_root: Path  # the file system checked for space
    wanted: dict[str, Path] = field(default_factory=dict)  # boot file name -> source
    file_of: Callable[[GenBoot], set[str]] = lambda g: set()
    writes: list[WriteFile] = field(default_factory=list)
    deletes: list[DeleteFile] = field(default_factory=list)
    current_refs: set[str] = field(default_factory=set)  # files named by entries on disk
    entries: tuple[int, ...] = ()
    dirs: tuple[Path, ...] = ()
    warnings: list[str] = field(default_factory=list)


def _write_if_changed(path: Path, text: str, what: str, phase: Phase,
                      out: list[WriteFile]) -> None:
    if _read(path) != text:
        out.append(WriteFile(path, text, what, phase))


# ------------------------------------------------------------------ backends


def _systemd_boot(opts: Options, target: BootTarget, gens: list[GenBoot],
                  default: int | None) -> _Draft:
    assert target.esp is not None
    esp = target.esp
    store = opts.layout.host(opts.layout.store_dir)
    files_dir = esp / systemd_boot.FILES_DIR
    d = _Draft(Kind.SYSTEMD_BOOT, files_dir, "ESP", esp)
    d.file_of = lambda g: {g.kernel} | ({g.initrd} if g.initrd else set())
    d.dirs = (files_dir, esp / systemd_boot.ENTRIES_DIR, esp / "loader")
    for g in gens:
        for name in d.file_of(g):
            d.wanted[name] = store / name
        entry = systemd_boot.boot_entry(g, target.machine_id)
        path = esp / systemd_boot.ENTRIES_DIR / systemd_boot.entry_name(g.number)
        _write_if_changed(path, systemd_boot.render_entry(entry), "entry", Phase.ENTRIES,
                          d.writes)
    d.entries = tuple(g.number for g in gens)
    for n, path in sorted(systemd_boot.entry_numbers(esp).items()):
        d.current_refs |= systemd_boot.referenced(_read(path) or "")
        if n not in d.entries:
            d.deletes.append(DeleteFile(path, _size(path), "ESP"))
    if default is not None and default in d.entries:
        conf = esp / systemd_boot.LOADER_CONF
        _write_if_changed(conf, systemd_boot.loader_conf(_read(conf), default), "default",
                          Phase.DEFAULT, d.writes)
        once = opts.layout.host(opts.layout.boot_once_file)
        if once.exists():  # the file-based one-shot under --root ends with a new default
            d.deletes.append(DeleteFile(once, _size(once), "state"))
    return d


def _grub(opts: Options, target: BootTarget, probe: Probe, gens: list[GenBoot],
          default: int | None) -> _Draft:
    assert target.boot_dir is not None
    store = opts.layout.host(opts.layout.store_dir)
    mdir = grub.menu_dir(target.boot_dir)
    boot_fs = probe.fs_of(mdir)
    store_fs = probe.fs_of(store)
    in_store = store_fs.grub_module is not None
    d = _Draft(Kind.GRUB, mdir, "/boot", boot_fs.mount)
    d.dirs = (mdir, target.boot_dir / "grub")
    if not in_store:
        d.file_of = lambda g: {g.kernel} | ({g.initrd} if g.initrd else set())
    entries: dict[int, BootEntry] = {}
    for g in gens:
        if in_store:
            entries[g.number] = grub.boot_entry(
                g, store_fs, store / g.kernel, store / g.initrd if g.initrd else None)
        else:
            for name in d.file_of(g):
                d.wanted[name] = store / name
            entries[g.number] = grub.boot_entry(
                g, boot_fs, mdir / g.kernel, mdir / g.initrd if g.initrd else None)
    d.entries = tuple(sorted(entries))
    top_n = default if default in entries else (max(entries) if entries else None)
    top = entries[top_n] if top_n is not None else None
    older = [entries[n] for n in sorted(entries, reverse=True) if n != top_n]
    host = gens[-1].hostname if gens else "genman"
    menu_path = mdir / "grub.cfg"
    old_menu = _read(menu_path)
    d.current_refs = grub.referenced(old_menu or "")
    _write_if_changed(menu_path, grub.render_menu(top, older, host), "menu", Phase.ENTRIES,
                      d.writes)
    if default is not None and default in entries:
        env_path = target.boot_dir / "grub/grubenv"
        old_env = _read(env_path)
        saved = _SAVED.search(_read(opts.layout.host("/etc/default/grub")) or "")
        if old_env is not None or saved:
            _write_if_changed(env_path, grub.update_env(old_env, {
                "saved_entry": f"genman-{default}"}), "default", Phase.DEFAULT, d.writes)
    return d


# ------------------------------------------------------------------ space


def _block(path: Path) -> tuple[int, int]:
    """(block size, bytes free) of the file system holding path (or its nearest parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    st = os.statvfs(p)
    block = st.f_frsize or st.f_bsize or 4096
    return block, st.f_bavail * block


def _rounded(n: int, block: int) -> int:
    return max(1, -(-n // block)) * block if n >= 0 else 0


def _check_space(opts: Options, d: _Draft, copies: list[CopyFile], cleans: list[DeleteFile],
                 existing: dict[str, int], gens: list[GenBoot], default: int | None) -> None:
    block, free = _block(d.fs_root)
    need = sum(_rounded(c.size, block) for c in copies)
    need += sum(_rounded(len(w.text.encode()), block) for w in d.writes
                if d.fs_root in w.path.parents)
    freed = sum(_rounded(c.size, block) for c in cleans)
    if need <= free + freed:
        return
    missing = need - free - freed
    msg = (f"not enough space on the {d.where} ({d.fs_root}): the new boot files need "
           f"{human(need)}, {human(free + freed)} is free; {human(missing)} missing")
    keep = _suggest_keep(opts, d, existing, gens, default, block, free)
    if keep is not None:
        hint = (f"`genman prune --keep {keep}` would make room (it removes older generations "
                "and their boot files); then run this again")
    else:
        hint = (f"even with only the generations genman must keep, {d.where} is too small; "
                f"free space on {d.fs_root} (files genman does not own)")
    raise GenmanError(msg, hint=hint)


def _suggest_keep(opts: Options, d: _Draft, existing: dict[str, int], gens: list[GenBoot],
                  default: int | None, block: int, free: int) -> int | None:
    m = status.markers(opts.layout)
    protected = {n for n in (m.default, m.active, m.booted, default) if n is not None}
    protected |= m.pinned
    numbers = sorted(g.number for g in gens)
    by_number = {g.number: g for g in gens}
    for k in range(len(numbers) - 1, 0, -1):
        keep = set(numbers[-k:]) | protected
        wanted: set[str] = set()
        for n in keep:
            if n in by_number:
                wanted |= d.file_of(by_number[n])
        need = sum(_rounded(_size(d.wanted[n]), block) for n in wanted - set(existing))
        freeable = sum(_rounded(s, block) for n, s in existing.items() if n not in wanted)
        if need <= free + freeable:
            return k
    return None


# ------------------------------------------------------------------ plan


def _finish(opts: Options, d: _Draft, gens: list[GenBoot], default: int | None) -> BootPlan:
    existing: dict[str, int] = {}
    try:
        for entry in os.scandir(d.files_dir):
            if _BOOT_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
                existing[entry.name] = entry.stat().st_size
    except OSError:
        pass
    copies = [CopyFile(src, d.files_dir / name, _size(src), d.where)
              for name, src in sorted(d.wanted.items()) if name not in existing]
    for c in copies:
        if not c.src.is_file():
            raise GenmanError(f"{c.src} is missing from the store",
                              hint="the generation is damaged; `genman prune` can drop it")
    stale = sorted(set(existing) - set(d.wanted))
    cleans = [DeleteFile(d.files_dir / n, existing[n], d.where, Phase.CLEAN)
              for n in stale if n not in d.current_refs]
    late = [DeleteFile(d.files_dir / n, existing[n], d.where)
            for n in stale if n in d.current_refs]
    _check_space(opts, d, copies, cleans, existing, gens, default)
    actions: list[Action] = [*cleans, *copies, *d.writes, *d.deletes, *late]
    actions.sort(key=lambda a: PHASE_ORDER.index(a.phase))
    sync = tuple(sorted({d.fs_root}))
    return BootPlan(d.kind, tuple(actions), d.entries, default, tuple(d.warnings),
                    d.dirs, sync)


def plan_boot(opts: Options, *, default: int | None, retained: Sequence[int],
              probe: Probe | None = None) -> BootPlan:
    """Entries for every generation in `retained` (those with a kernel), `default` as the
    boot default (None: leave the default as it is). Changes nothing."""
    probe = probe or Probe(opts)
    target = detect(opts, probe)
    if target.kind is Kind.NONE:
        warn = (target.reason,) if opts.bootloader is BootloaderChoice.AUTO else ()
        return BootPlan(Kind.NONE, warnings=warn, default=default)
    numbers = sorted(set(retained) | ({default} if default is not None else set()))
    gens, warnings = gen_boots(opts.layout, numbers)
    if default is not None and default not in {g.number for g in gens}:
        warnings.append(f"generation {default} has no kernel, so no boot entry: "
                        "the boot default stays as it is")
        default = None
    if target.kind is Kind.SYSTEMD_BOOT:
        d = _systemd_boot(opts, target, gens, default)
    else:
        d = _grub(opts, target, probe, gens, default)
    d.warnings.extend(warnings)
    return _finish(opts, d, gens, default)
