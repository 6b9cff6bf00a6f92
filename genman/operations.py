"""What each read/build command does, between the CLI and the modules that do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genman import generation, status
from genman.context import Options
from genman.diff import Diff
from genman.generation import BuildResult, Progress
from genman.lock import locked


def build(opts: Options, profile_file: Path, progress: Progress) -> BuildResult:
    from genman import profile

    # Validate everything before the lock: a bad profile writes nothing under the root.
    prof = profile.load(profile_file, opts.layout)
    with locked(opts.layout):
        return generation.build(prof, opts.layout, progress)


def generation_rows(opts: Options) -> list[dict[str, Any]]:
    from genman import bootloader

    return status.rows(opts.layout, bootloader.entry_numbers(opts))


def diff(opts: Options, a: int, b: int) -> Diff:
    from genman.diff import diff as diff_manifests

    return diff_manifests(generation.manifest_of(opts.layout, a),
                          generation.manifest_of(opts.layout, b))
