"""Build a generation from a Profile; find and read the generations on disk.

A generation's content lives in one store path (its *toplevel*, made by `compose`).

`/var/lib/genman/generations/<N>` is a link to it, made under a temp name and renamed into
place, so an interrupted build leaves no generation, only staging the next run removes.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genman.errors import GenmanError
from genman.layout import Layout

if TYPE_CHECKING:  # building pulls in jinja2, sqlite3; list-generations must stay light
    from genman.compose import Composed, Progress
    from genman.hashcache import HashCache
    from genman.manifest import Manifest
    from genman.profile import Profile

_NUMBER = re.compile(r"^[1-9][0-9]*$")


@dataclass(frozen=True)
class GenerationInfo:
    number: int
    toplevel: str  # store name
    created: datetime
    summary: dict[str, Any]

    @property
    def description(self) -> str:
        return str(self.summary.get("description") or "")

    @property
    def kernel_version(self) -> str | None:
        v = self.summary.get("kernel_version")
        return str(v) if v else None


@dataclass(frozen=True)
class BuildResult:
    number: int
    toplevel: str
    new: bool  # False: the profile built to the newest generation; nothing was made
    added: int  # store paths added


def hash_cache(layout: Layout) -> HashCache:
    from genman.hashcache import HashCache

    return HashCache(layout.build_cache / "hashes.sqlite")


# ---------------------------------------------------------------- reading


def generation_numbers(layout: Layout) -> list[int]:
    try:
        names = os.listdir(layout.host(layout.generations_dir))
    except FileNotFoundError:
        return []
    return sorted(int(n) for n in names if _NUMBER.match(n))


def toplevel_of(layout: Layout, number: int) -> str:
    link = layout.host(layout.generation(number))
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        raise GenmanError(
            f"generation {number} does not exist",
            hint="`genman list-generations` shows the generations there are",
        ) from None
    except OSError:
        raise GenmanError(f"{link} is damaged: not a link into the store") from None
    return os.path.basename(target)


def info(layout: Layout, number: int) -> GenerationInfo:
    link = layout.host(layout.generation(number))
    toplevel = toplevel_of(layout, number)
    created = datetime.fromtimestamp(os.lstat(link).st_mtime, UTC)
    try:
        with open(layout.host(layout.store_dir / toplevel / "summary.json"), "rb") as f:
            summary = json.loads(f.read())
    except (OSError, ValueError):
        summary = None
    if not isinstance(summary, dict):
        summary = {"description": "(damaged: summary unreadable)"}
    return GenerationInfo(number, toplevel, created, summary)


def list_generations(layout: Layout) -> list[GenerationInfo]:
    """Every generation, oldest first: the links are read each time, the summaries come
    through the summary index (`genindex`), so 1,000 generations cost one file read."""
    from genman import genindex

    gens = os.fspath(layout.host(layout.generations_dir))
    found: list[tuple[int, str, float]] = []
    for number in generation_numbers(layout):
        link = f"{gens}/{number}"
        try:
            toplevel = os.path.basename(os.readlink(link))
            mtime = os.lstat(link).st_mtime
        except OSError:
            continue  # removed while we looked (a concurrent prune)
        found.append((number, toplevel, mtime))
    summaries = genindex.summaries(layout, (t for _, t, _ in found))
    return [GenerationInfo(n, t, datetime.fromtimestamp(m, UTC), summaries[t])
            for n, t, m in found]


def read_manifest(layout: Layout, toplevel: str) -> Manifest:
    from genman.manifest import Manifest

    path = layout.host(layout.store_dir / toplevel / "manifest.json")
    try:
        return Manifest.from_json(path.read_text())
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        raise GenmanError(f"cannot read the manifest {path}: {e}",
                          hint="the store path is damaged: restore it, or make another "
                          "generation the default and remove its link under "
                          "/var/lib/genman/generations") from None


def manifest_of(layout: Layout, number: int) -> Manifest:
    return read_manifest(layout, toplevel_of(layout, number))


def link_number(layout: Layout, link: Path) -> int | None:
    """The generation number a state link (default, active, booted) names, if any."""
    try:
        target = os.readlink(link)
    except OSError:
        return None
    name = os.path.basename(target.rstrip("/"))
    return int(name) if _NUMBER.match(name) else None


def number_for(layout: Layout, toplevel: str) -> tuple[int, bool]:
    """The number a build of `toplevel` gets, and whether it is a new generation: only the
    newest generation is reused; anything else gets the next number."""
    numbers = generation_numbers(layout)
    if numbers and toplevel_of(layout, numbers[-1]) == toplevel:
        return numbers[-1], False
    return max(numbers[-1] if numbers else 0, last_number(layout)) + 1, True


def last_number(layout: Layout) -> int:
    """The highest number ever given: a pruned generation's number is not handed out again
    (a boot entry, a log or a pin may still speak of it)."""
    try:
        return int(layout.host(layout.last_generation).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


@dataclass(frozen=True)
class Preview:
    number: int
    composed: Composed
    sources: dict[str, Path]  # store name -> the file it would be copied from
    digests: dict[str, str]  # store or secret name -> content sha256 (not written)
    rendered: dict[str, bytes]  # store name -> what a small rendered file would hold


def preview(profile: Profile, layout: Layout) -> Preview:
    """What `build` would make, computed without writing anything."""
    from genman.compose import compose
    from genman.hashcache import HashCache
    from genman.store import Store, StoreBatch

    batch = StoreBatch(Store(layout, HashCache(None)), write=False)
    composed = compose(profile, layout, batch, lambda _: None)
    return Preview(number_for(layout, composed.toplevel)[0], composed, batch.sources,
                   batch.digests, batch.unwritten)


def build(profile: Profile, layout: Layout, progress: Progress = lambda _: None) -> BuildResult:
    """Make generation N from a validated profile (caller holds the lock)."""
    from genman import fsutil
    from genman.compose import compose
    from genman.store import Store

    cache = hash_cache(layout)
    store = Store(layout, cache)
    fsutil.clean_stray_temps(layout.host(layout.generations_dir))
    from genman import storemount

    with storemount.writable(layout), fsutil.umask(0o022), store.batch() as batch:
        store.clean()
        composed = compose(profile, layout, batch, progress)
        toplevel = composed.toplevel
        number, new = number_for(layout, toplevel)
        added = len(batch.added)
        if not new and not added:
            batch.abort()
        elif added:  # for a reused generation: store paths it lost, put back
            progress(f"writing {added} new store paths")
    cache.save()
    if profile.compiled is not None:
        profile.compiled.save()
    if not new:
        return BuildResult(number, toplevel, new=False, added=added)
    gens = layout.host(layout.generations_dir)
    gens.mkdir(parents=True, exist_ok=True)
    if number > last_number(layout):
        fsutil.atomic_write(layout.host(layout.last_generation), f"{number}\n")
    fsutil.atomic_symlink(str(layout.store_dir / toplevel), gens / str(number))
    list_generations(layout)  # rewrites the summary index with the new one
    return BuildResult(number, toplevel, new=True, added=added)


def forget(layout: Layout, number: int) -> None:
    """Drop generation `number`, the new one of a switch refused before anything changed:
    it was never live nor in a boot menu, so its number is handed out again (only to the
    next build). Its store paths are left for gc."""
    from genman import fsutil

    fsutil.remove_file(layout.host(layout.generations_dir) / str(number))
    if last_number(layout) == number:
        fsutil.atomic_write(layout.host(layout.last_generation), f"{number - 1}\n")
