"""Damage a switch must not walk into and status must show: a generation missing a store
path it needs, and store files changed in place (written through an /etc link)."""

from __future__ import annotations

import os

from genman import generation
from genman.errors import GenmanError
from genman.layout import Layout
from genman.manifest import Manifest
from genman.store import damaged_files


def read_intact_manifest(layout: Layout, number: int, toplevel: str) -> Manifest:
    """The manifest of a generation about to become live, refused when a store path it
    needs is missing: /etc would be left with dangling links."""
    manifest = generation.read_manifest(layout, toplevel)
    for name in sorted(manifest.references()):
        if not os.path.lexists(layout.host(layout.store_path(name))):
            raise GenmanError(
                f"generation {number} is damaged: its store path {name} is missing",
                hint="switch to another generation (`genman switch-generation N`) or rebuild "
                "with `genman switch PROFILE`; `genman prune` removes the damaged one",
            )
    return manifest


def store_damage(layout: Layout, number: int | None) -> list[str]:
    """Warnings for the /etc files of generation `number` whose store copy was changed."""
    if number is None:
        return []
    try:
        manifest = generation.manifest_of(layout, number)
    except GenmanError as e:
        return [e.message]
    bad = damaged_files(layout, (e.store for e in manifest.etc.values()))
    return [f"store path {layout.store_path(n)} (in /etc of generation {number}) no longer "
            "matches its name: it was changed in place; remove it and `genman switch` the "
            "profile to put the content back" for n in bad]
