"""read_state: the one read of the disk before a boot plan. The backend names its files
(`Bootloader.files`); everything the plan needs is read here into a frozen BootState, so
the planning that follows is pure."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from genman import status
from genman.bootloader.base import BootFiles, BootOnceRecord, BootState, kernel_files
from genman.bootloader.entries import GenBoot
from genman.bootloader.probe import BootTarget, Probe
from genman.context import Options
from genman.health import state as health_state
from genman.health.state import GenState
from genman.layout import is_store_name
from genman.probe import boot_id


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _block(path: Path) -> tuple[int, int]:
    """(block size, bytes free) of the file system holding path (or its nearest parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    st = os.statvfs(p)
    block = st.f_frsize or st.f_bsize or 4096
    return block, st.f_bavail * block


def _entry_files(d: Path | None) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    if d is None:
        return out
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for n in names:
        text, size = _read(d / n), _size(d / n)
        if text is not None and size is not None:
            out[n] = (text, size)
    return out


def _boot_files(d: Path) -> dict[str, int]:
    existing: dict[str, int] = {}
    try:
        for entry in os.scandir(d):
            if is_store_name(entry.name) and entry.is_file(follow_symlinks=False):
                existing[entry.name] = entry.stat().st_size
    except OSError:
        pass
    return existing


def _boot_once(path: Path) -> BootOnceRecord | None:
    text, size = _read(path), _size(path)
    if text is None or size is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    return BootOnceRecord(path, size, record.get("entry"), record.get("default"),
                          record.get("boot_id"))


def read_state(opts: Options, target: BootTarget, files: BootFiles,
               gens: Sequence[GenBoot] = (), probe: Probe | None = None,
               gen_warnings: Sequence[str] = (), *, with_fs: bool = True,
               sources: Mapping[str, Path] | None = None,
               damaged: Sequence[int] = ()) -> BootState:
    """`with_fs` False: skip the file system probes (udev), for a count of entries only.
    `sources`: files a generation not built yet will add to the store, by store name.
    `damaged`: retained generations that cannot be read (their entries are kept)."""
    layout = opts.layout
    probe = probe or Probe(opts)
    store = layout.host(layout.store_dir)
    texts = {p: _read(p) for p in files.texts}
    sizes = {}
    for g in gens:
        for name in kernel_files(g):
            src = store / name if (store / name).is_file() else (sources or {}).get(name)
            if src is not None and (size := _size(src)) is not None:
                sizes[store / name] = size
    records = health_state.all_records(layout)
    d = files.files_dir
    block, free = _block(d) if d is not None else (4096, 0)
    return BootState(
        target=target,
        files=files,
        live=layout.is_live,
        store=store,
        boot_once_file=layout.host(layout.boot_once_file),
        markers=status.markers(layout),
        boot_id=boot_id(),
        texts=texts,
        executable=frozenset(p for p, t in texts.items() if t is not None
                             and os.access(p, os.X_OK)),
        entry_files=_entry_files(files.entries_dir),
        existing=_boot_files(d) if d is not None else {},
        sizes=sizes,
        fs={p: probe.fs_of(p) for p in files.fs_paths} if with_fs else {},
        block=block,
        free=free,
        boot_once=_boot_once(layout.host(layout.boot_once_file)),
        gens=tuple(gens),
        gen_warnings=tuple(gen_warnings),
        damaged=tuple(damaged),
        update_grub=("update-grub",) if shutil.which("update-grub") else (
            "grub-mkconfig", "-o", "/boot/grub/grub.cfg"),
        good=frozenset(n for n, r in records.items() if r.state is GenState.GOOD),
        failed=frozenset(n for n, r in records.items() if r.state is GenState.FAILED),
    )
