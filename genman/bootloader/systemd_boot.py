"""systemd-boot: BLS Type #1 entries `<ESP>/loader/entries/genman-<N>.conf`, kernels and
initrds copied once per content to `<ESP>/EFI/genman/<store name>`, and the default in
`loader/loader.conf`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from genman.bootloader import templates
from genman.bootloader.entries import GenBoot
from genman.bootloader.model import BootEntry

FILES_DIR = "EFI/genman"
ENTRIES_DIR = "loader/entries"
LOADER_CONF = "loader/loader.conf"
_ENTRY = re.compile(r"^genman-([1-9][0-9]*)\.conf$")
_DEFAULT = re.compile(r"^\s*default(\s|$)")


def entry_name(number: int) -> str:
    return f"genman-{number}.conf"


def entry_numbers(esp: Path) -> dict[int, Path]:
    d = esp / ENTRIES_DIR
    try:
        names = os.listdir(d)
    except OSError:
        return {}
    return {int(m.group(1)): d / n for n in names if (m := _ENTRY.match(n))}


def boot_entry(g: GenBoot, machine_id: str | None) -> BootEntry:
    return BootEntry(
        number=g.number,
        title=g.title,
        version=g.version,
        linux=f"/{FILES_DIR}/{g.kernel}",
        initrd=f"/{FILES_DIR}/{g.initrd}" if g.initrd else None,
        params=g.params,
        machine_id=machine_id,
    )


def render_entry(e: BootEntry) -> str:
    return templates.render("systemd-boot-entry.conf.j2", e=e)


def loader_conf(old: str | None, number: int) -> str:
    """loader.conf with `default` naming generation `number`'s entry; other lines kept."""
    line = f"default {entry_name(number)}"
    if old is None:
        return f"timeout 5\n{line}\n"
    lines = old.splitlines()
    out, done = [], False
    for raw in lines:
        if _DEFAULT.match(raw):
            if not done:
                out.append(line)
                done = True
            continue
        out.append(raw)
    if not done:
        out.append(line)
    return "\n".join(out) + "\n"


def referenced(text: str) -> set[str]:
    """Boot file names an entry on disk uses."""
    names = set()
    for raw in text.splitlines():
        parts = raw.split(None, 1)
        if len(parts) == 2 and parts[0] in ("linux", "initrd", "efi", "devicetree"):
            path = parts[1].strip()
            if path.lstrip("/").startswith(FILES_DIR + "/"):
                names.add(path.rsplit("/", 1)[-1])
    return names
