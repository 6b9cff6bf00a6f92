"""Which generation is default, active, booted and pinned: a leaf, so that reading the
markers (list-generations, status) imports nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Markers:
    default: int | None
    active: int | None
    booted: int | None
    pinned: frozenset[int]
