"""systemd-boot: BLS Type #1 entries `<ESP>/loader/entries/genman-<N>.conf`, kernels and
initrds copied once per content to `<ESP>/EFI/genman/<store name>`, and the default in
`loader/loader.conf`. Boot-once: `bootctl set-oneshot` live; under --root (no EFI
variables) loader.conf's default, put back by `plan_finish_boot_once` after that boot."""

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


def entry_name(number: int) -> str:
    return f"genman-{number}.conf"


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


def _numbers(names: Iterable[str]) -> dict[int, str]:
    return {int(m.group(1)): n for n in names if (m := _ENTRY.match(n))}


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
        on_disk = _numbers(state.entry_files)  # a counted entry keeps its BLS counter
        for g in gens:
            for name in kernel_files(g):
                d.wanted[name] = state.store / name
            text = render_entry(boot_entry(g, state.target.machine_id))
            entry = on_disk.get(g.number, entry_name(g.number))
            if state.entry_files.get(entry, (None, 0))[0] != text:
                d.writes.append(WriteFile(entries_dir / entry, text, "entry", Phase.ENTRIES))
        d.entries = tuple(g.number for g in gens)
        for n, name in sorted(_numbers(state.entry_files).items()):
            text, size = state.entry_files[name]
            d.current_refs |= referenced(text)
            if n in state.damaged:  # unreadable: its entry and files stay until removed
                d.kept |= referenced(text)
            elif n not in d.entries:
                d.deletes.append(DeleteFile(entries_dir / name, size, "ESP"))
        if default is not None and default in d.entries:
            if (w := _set_default(state, default)).text != state.text(w.path):
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
        actions.append(_set_default(state, number))
        return actions, (f"next boot: {name} (loader.conf default, restored at the next boot "
                         f"from {state.boot_once_file})")

    def plan_finish_boot_once(self, state: BootState) -> list[Action]:
        default = state.markers.default
        if default is None:
            return []
        return [_set_default(state, default)]

    def plan_install(self, state: BootState) -> tuple[list[Action], tuple[str, ...]]:
        esp = _esp(state.target)
        if not state.target.installed:
            raise GenmanError(f"systemd-boot is not installed on the ESP {esp}",
                              hint=f"install it first: bootctl --esp-path={esp} install")
        return [], ()


def _set_default(state: BootState, number: int) -> WriteFile:
    """The one read-modify-write of loader.conf: its `default` names generation `number`."""
    conf = _esp(state.target) / LOADER_CONF
    return WriteFile(conf, loader_conf(state.text(conf), number), "default", Phase.DEFAULT)


def _esp(target: BootTarget) -> Path:
    if target.esp is None:
        raise GenmanError("systemd-boot needs an EFI system partition, and none was found",
                          hint="mount it (e.g. at /boot/efi) or give --esp DIR")
    return target.esp
