"""What each read/build command does, between the CLI and the modules that do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genman import generation
from genman.compose import Progress
from genman.context import Options
from genman.generation import BuildResult
from genman.session import session


def build(opts: Options, profile_file: Path, progress: Progress) -> BuildResult:
    from genman import profile

    # Validate everything before the lock: a bad profile writes nothing under the root.
    prof = profile.load(profile_file, opts.layout)
    with session(opts, progress):
        return generation.build(prof, opts.layout, progress)


def diff(opts: Options, a: int, b: int) -> Any:
    from genman.diff import diff as diff_manifests

    return diff_manifests(generation.manifest_of(opts.layout, a),
                          generation.manifest_of(opts.layout, b))


def content_diff(opts: Options, a: int, b: int) -> Any:
    from genman import contentdiff

    return contentdiff.between(opts.layout, generation.manifest_of(opts.layout, a),
                               generation.manifest_of(opts.layout, b))


# --- boot entries, prune, gc, pins (genman.bootloader, genman.prune, genman.gc) ---


def prune(opts: Options, keep: int | None, older_than: str | None, dry_run: bool,
          wait: bool = False) -> Any:
    from genman import prune as prune_mod

    age = prune_mod.parse_age(older_than) if older_than is not None else None
    return prune_mod.prune(opts, keep=keep, older_than=age, dry_run=dry_run, wait=wait)


def gc(opts: Options, dry_run: bool, wait: bool = False) -> Any:
    from genman import gc as gc_mod

    return gc_mod.gc(opts, dry_run=dry_run, wait=wait)


def pin(opts: Options, number: int, on: bool) -> bool:
    from genman import prune as prune_mod

    return prune_mod.pin(opts, number, on)


def boot_once(opts: Options, number: int, dry_run: bool) -> Any:
    from genman.bootloader import ops

    if dry_run:
        return ops.boot_once(opts, number, dry_run=True)
    with session(opts):
        return ops.boot_once(opts, number)


def bootloader_install(opts: Options, dry_run: bool) -> Any:
    from genman.bootloader import ops

    if dry_run:
        return ops.install(opts, dry_run=True)
    with session(opts):
        return ops.install(opts, dry_run=False)
