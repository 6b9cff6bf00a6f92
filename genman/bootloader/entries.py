"""What each generation's boot entry says, read from its manifest (no bootloader yet)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from genman import generation
from genman.bootline import check_line, kernel_params
from genman.errors import GenmanError
from genman.health.counting import panic_params
from genman.layout import Layout
from genman.manifest import Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenBoot:
    """A generation as a boot entry needs it; kernel and initrd are store names."""

    number: int
    hostname: str
    title: str
    version: str
    kernel: str
    initrd: str | None
    params: tuple[str, ...]


def gen_boot(layout: Layout, number: int) -> GenBoot | None:
    """None for a generation without a kernel: it gets no entry."""
    gi = generation.info(layout, number)
    return boot_of(layout, number, gi.toplevel, generation.read_manifest(layout, gi.toplevel),
                   gi.created)


def boot_of(layout: Layout, number: int, toplevel: str, manifest: Manifest,
            created: datetime) -> GenBoot | None:
    """A generation's entry from its manifest (also one not built yet, for a dry run)."""
    k = manifest.kernel
    if k is None:
        return None
    date = created.strftime("%Y-%m-%d")
    title = f"{manifest.hostname} generation {number}"
    if manifest.description:
        title += f": {manifest.description}"
    title = check_line(title + f" ({date}, Linux {k.version})", f"generation {number}'s title")
    params = kernel_params(k.params, (f"init={layout.store_dir / toplevel / 'init'}",
                                      f"genman.generation={number}",
                                      *panic_params(manifest.health, k.params)))
    return GenBoot(number, manifest.hostname, title, f"{number} {date} {k.version}",
                   k.image, k.initrd, params)


def gen_boots(layout: Layout, numbers: list[int]) -> tuple[list[GenBoot], list[str], list[int]]:
    """Entries for `numbers` (those with a kernel), warnings, and the generations that
    cannot be read: their entries on disk stay as they are until the generation is removed
    explicitly (a planner never deletes what it cannot read)."""
    out: list[GenBoot] = []
    warnings: list[str] = []
    damaged: list[int] = []
    for n in numbers:
        try:
            g = gen_boot(layout, n)
        except GenmanError as e:
            damaged.append(n)
            warnings.append(
                f"generation {n} cannot be read ({e.message}): its boot entry, if any, is kept "
                f"as it is; to drop it, remove {layout.generation(n)} (once another "
                "generation is the default), then run `genman gc`")
            continue
        if g is not None:
            out.append(g)
    return out, warnings, damaged
