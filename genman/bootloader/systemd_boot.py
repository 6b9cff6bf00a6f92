"""systemd-boot: BLS Type #1 entries `<ESP>/loader/entries/genman-<N>.conf`, kernels and
initrds copied once per content to `<ESP>/EFI/genman/<store name>`. Boot-once:
`bootctl set-oneshot` live; under --root (no EFI variables) loader.conf's default, put
back by `plan_finish_boot_once` after that boot.

The default: loader.conf says `default genman-*`, and the entries' `sort-key` put the
default generation first, the generation to fall back to second, the others after them
(newest first, by `version`). systemd-boot boots the first entry the pattern matches and
sorts an entry whose boot counter reached +0 below all others, so a default that ran out
of tries falls back by itself, with nobody at the console. A `default` naming the entry
exactly would be booted even at +0 (the loader skips bad entries only when choosing among
several), and older systemd-boot keeps the counter in the entry's id (`genman-7+2-1.conf`),
which an exact name does not match at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from genman.bootloader import templates
from genman.bootloader.base import BootFiles, BootState, Draft, kernel_files
from genman.bootloader.entries import GenBoot
from genman.bootloader.model import (
    Action,
    BootEntry,
    DeleteFile,
    Kind,
    Phase,
    RunCommand,
    WriteFile,
)
from genman.bootloader.probe import BootTarget
from genman.context import Options
from genman.errors import GenmanError

FILES_DIR = "EFI/genman"
ENTRIES_DIR = "loader/entries"
LOADER_CONF = "loader/loader.conf"
# genman-N.conf, or with the BLS boot counter genman-N+LEFT[-DONE].conf (genman.health)
_ENTRY = re.compile(r"^genman-([1-9][0-9]*)(?:\+[0-9]+(?:-[0-9]+)?)?\.conf$")
_DEFAULT = re.compile(r"^\s*default(\s|$)")
DEFAULT_PATTERN = "genman-*"
SORT_DEFAULT = "genman-1-default"
SORT_FALLBACK = "genman-2-fallback"
SORT_OTHER = "genman-3"


def entry_name(number: int) -> str:
    return f"genman-{number}.conf"


def boot_entry(g: GenBoot, machine_id: str | None, sort_key: str = SORT_OTHER) -> BootEntry:
    return BootEntry(
        number=g.number,
        title=g.title,
        version=g.version,
        linux=f"/{FILES_DIR}/{g.kernel}",
        initrd=f"/{FILES_DIR}/{g.initrd}" if g.initrd else None,
        params=g.params,
        machine_id=machine_id,
        sort_key=sort_key,
    )


def render_entry(e: BootEntry) -> str:
    return templates.render("systemd-boot-entry.conf.j2", e=e)


def loader_conf(old: str | None, default: str = DEFAULT_PATTERN) -> str:
    """loader.conf with `default` set to `default` (an entry id or a pattern); other lines
    kept."""
    line = f"default {default}"
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


def _numbers(names: Iterable[str]) -> dict[int, str]:
    return {int(m.group(1)): n for n in names if (m := _ENTRY.match(n))}


def sort_keys(numbers: Iterable[int], default: int | None,
              fallback: int | None) -> dict[int, str]:
    """Each entry's sort-key: the default first, the fallback second, the others after."""
    return {n: SORT_DEFAULT if n == default else SORT_FALLBACK if n == fallback
            else SORT_OTHER for n in numbers}


class SystemdBoot:
    kind = Kind.SYSTEMD_BOOT

    def files(self, opts: Options, target: BootTarget) -> BootFiles:
        esp = _esp(target)
        return BootFiles(esp / FILES_DIR, "ESP", texts=(esp / LOADER_CONF,),
                         entries_dir=esp / ENTRIES_DIR,
                         dirs=(esp / FILES_DIR, esp / ENTRIES_DIR, esp / "loader"))

    def entry_numbers(self, state: BootState) -> set[int]:
        return set(_numbers(state.entry_files))

    def plan(self, state: BootState, gens: list[GenBoot], default: int | None) -> Draft:
        esp = _esp(state.target)
        entries_dir = esp / ENTRIES_DIR
        d = Draft(Kind.SYSTEMD_BOOT, esp / FILES_DIR, "ESP", esp, file_of=kernel_files,
                  dirs=state.files.dirs)
        d.entries = tuple(g.number for g in gens)
        first = default if default is not None else state.markers.default
        first = first if first in d.entries else None
        fallback = state.fallback(first)
        keys = sort_keys(d.entries, first, fallback if fallback in d.entries else None)
        on_disk = _numbers(state.entry_files)  # a counted entry keeps its BLS counter
        for g in gens:
            for name in kernel_files(g):
                d.wanted[name] = state.store / name
            text = render_entry(boot_entry(g, state.target.machine_id, keys[g.number]))
            entry = on_disk.get(g.number, entry_name(g.number))
            if state.entry_files.get(entry, (None, 0))[0] != text:
                # The default's entry moving to the top is what flips the default.
                phase = Phase.DEFAULT if g.number == first else Phase.ENTRIES
                d.writes.append(WriteFile(entries_dir / entry, text, "entry", phase))
        for n, name in sorted(on_disk.items()):
            text, size = state.entry_files[name]
            d.current_refs |= referenced(text)
            if n in state.damaged:  # unreadable: its entry and files stay until removed
                d.kept |= referenced(text)
            elif n not in d.entries:
                d.deletes.append(DeleteFile(entries_dir / name, size, "ESP"))
        if default is not None and default in d.entries:
            if (w := _set_default(state, DEFAULT_PATTERN)).text != state.text(w.path):
                d.writes.append(w)
            once = state.boot_once
            if once is not None:  # the file-based one-shot under --root ends with a new default
                d.deletes.append(DeleteFile(once.path, once.size, "state"))
        return d

    def plan_boot_once(self, state: BootState, number: int) -> tuple[list[Action], str]:
        if number not in self.entry_numbers(state):
            raise GenmanError(f"generation {number} has no boot entry",
                              hint="`genman list-generations` shows which generations have one")
        esp = _esp(state.target)
        name = entry_name(number)
        if state.live:
            return ([RunCommand(("bootctl", f"--esp-path={esp}", "set-oneshot", name),
                                "LoaderEntryOneShot")],
                    f"next boot: {name} (LoaderEntryOneShot)")
        actions: list[Action] = []
        if state.boot_once is None:  # a second boot-once keeps the first record of the default
            record = {"entry": number, "default": state.markers.default,
                      "boot_id": state.boot_id}
            actions.append(WriteFile(state.boot_once_file, json.dumps(record) + "\n",
                                     "one-shot record", Phase.ENTRIES))
        actions.append(_set_default(state, name))
        return actions, (f"next boot: {name} (loader.conf default, restored at the next boot "
                         f"from {state.boot_once_file})")

    def plan_finish_boot_once(self, state: BootState) -> list[Action]:
        if state.markers.default is None:
            return []
        return [_set_default(state, DEFAULT_PATTERN)]

    def plan_install(self, state: BootState) -> tuple[list[Action], tuple[str, ...]]:
        esp = _esp(state.target)
        if not state.target.installed:
            raise GenmanError(f"systemd-boot is not installed on the ESP {esp}",
                              hint=f"install it first: bootctl --esp-path={esp} install")
        return [], ()


def _set_default(state: BootState, default: str) -> WriteFile:
    """The one read-modify-write of loader.conf: its `default` says `default`."""
    conf = _esp(state.target) / LOADER_CONF
    return WriteFile(conf, loader_conf(state.text(conf), default), "default", Phase.DEFAULT)


def _esp(target: BootTarget) -> Path:
    if target.esp is None:
        raise GenmanError("systemd-boot needs an EFI system partition, and none was found",
                          hint="mount it (e.g. at /boot/efi) or give --esp DIR")
    return target.esp
