"""GRUB: genman's own menu `/boot/genman/grub.cfg` (the default generation first, the
others in the `genman-older` submenu), sourced from the host's grub.cfg by the hook
`/etc/grub.d/09_genman`; the default and boot-once through grubenv.

Kernels are used from the store when GRUB can read the file system holding it (ext2/3/4,
btrfs, xfs, … not on LUKS/LVM/md); otherwise, or when that is unknown (a --root tree that is not
a mount point), they are copied once per content to /boot/genman/. Each entry finds its
file system by UUID; where the UUID is unknown, by `search --file` of its own kernel (whose
name carries a content hash, so it is unique).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from genman.bootloader import templates
from genman.bootloader.base import BootFiles, BootState, Draft, kernel_files
from genman.bootloader.entries import GenBoot
from genman.bootloader.model import Action, BootEntry, Kind, Phase, RunCommand, WriteFile
from genman.bootloader.probe import BootTarget, FsInfo
from genman.context import Options
from genman.errors import GenmanError
from genman.layout import store_names_in

MENU_DIR = PurePosixPath("/boot/genman")
HOOK = PurePosixPath("/etc/grub.d/09_genman")
OLDER_ID = "genman-older"
_ID = re.compile(r"--id\s+'?genman-([1-9][0-9]*)'?")
_SAVED = re.compile(r"""^\s*GRUB_DEFAULT\s*=\s*["']?saved["']?\s*$""", re.M)
ENV_SIZE = 1024
ENV_HEADER = "# GRUB Environment Block\n"


def menu_dir(boot_dir: Path) -> Path:
    """Host path of genman's GRUB directory: <boot dir>/genman."""
    return boot_dir / "genman"


def boot_entry(g: GenBoot, fs: FsInfo, kernel: Path, initrd: Path | None) -> BootEntry:
    """`kernel`/`initrd` are host paths on `fs` (store or copy)."""
    module = fs.grub_module or "ext2"
    return BootEntry(
        number=g.number,
        title=g.title,
        version=g.version,
        linux=fs.loader_path(kernel),
        initrd=fs.loader_path(initrd) if initrd else None,
        params=g.params,
        fs_uuid=fs.uuid,
        modules=(module,),
    )


@dataclass(frozen=True)
class KeptEntry:
    """A damaged generation's entry, carried over from the menu on disk as it was written
    (its manifest cannot be read, so it cannot be rendered again)."""

    number: int
    kept: str  # the menuentry block, indented for the older-generations submenu


def kept_entry(menu: str, number: int) -> KeptEntry | None:
    """Generation `number`'s menuentry block in `menu` (one genman wrote), or None."""
    lines = menu.splitlines()
    head = re.compile(rf"^(\t*)menuentry .* --id '?genman-{number}'? \{{$")
    for i, line in enumerate(lines):
        if (m := head.match(line)) is None:
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if not lines[j].startswith(indent + "\t"):
                if lines[j] != indent + "}":
                    return None
                block = [ln[len(indent):] for ln in lines[i:j + 1]]
                return KeptEntry(number, "\n".join("\t" + ln for ln in block))
        return None
    return None


def render_menu(top: BootEntry | None, older: list[BootEntry | KeptEntry],
                hostname: str) -> str:
    return templates.render("grub-menu.cfg.j2", top=top, older=older,
                            older_title=f"{hostname}: older generations")


def render_hook() -> str:
    return templates.render("09_genman.j2", menu=MENU_DIR / "grub.cfg", menu_dir=MENU_DIR)


def entry_numbers(menu: str) -> set[int]:
    return {int(m.group(1)) for m in _ID.finditer(menu)}


def top_number(menu: str) -> int | None:
    """The generation whose entry is the menu's first (the default)."""
    m = _ID.search(menu)
    return int(m.group(1)) if m else None


def entry_id(menu: str, number: int) -> str:
    """What `default`/`next_entry` must say for generation N's entry."""
    if number not in entry_numbers(menu):
        raise GenmanError(f"generation {number} has no GRUB entry",
                          hint="`genman list-generations` shows which generations have one")
    if top_number(menu) == number:
        return f"genman-{number}"
    return f"{OLDER_ID}>genman-{number}"


def referenced(menu: str) -> set[str]:
    return store_names_in(menu)


# ------------------------------------------------------------------ grubenv


def parse_env(block: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in block.splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        env[k] = v.replace("\\n", "\n").replace("\\\\", "\\")
    return env


def render_env(env: dict[str, str]) -> str:
    """The 1024-byte environment block grub-editenv writes."""
    body = ENV_HEADER + "".join(
        f"{k}={v.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"
        for k, v in env.items()
    )
    if len(body.encode()) > ENV_SIZE:
        raise GenmanError("the GRUB environment block is full (1024 bytes)",
                          hint="remove variables with `grub-editenv /boot/grub/grubenv unset`")
    return body + "#" * (ENV_SIZE - len(body.encode()))


def update_env(old: str | None, changes: dict[str, str | None]) -> str:
    env = parse_env(old) if old else {}
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return render_env(env)


# ------------------------------------------------------------------ the backend


class Grub:
    kind = Kind.GRUB

    def files(self, opts: Options, target: BootTarget) -> BootFiles:
        boot = _boot_dir(target)
        mdir = menu_dir(boot)
        return BootFiles(mdir, "/boot",
                         texts=(mdir / "grub.cfg", boot / "grub/grubenv",
                                opts.layout.host("/etc/default/grub"), opts.layout.host(HOOK)),
                         fs_paths=(mdir, opts.layout.host(opts.layout.store_dir)),
                         dirs=(mdir, boot / "grub"))

    def entry_numbers(self, state: BootState) -> set[int]:
        return entry_numbers(state.text(menu_dir(_boot_dir(state.target)) / "grub.cfg") or "")

    def plan(self, state: BootState, gens: list[GenBoot], default: int | None) -> Draft:
        mdir = menu_dir(_boot_dir(state.target))
        boot_fs, store_fs = state.fs[mdir], state.fs[state.store]
        in_store = store_fs.grub_module is not None
        d = Draft(Kind.GRUB, mdir, "/boot", boot_fs.mount, dirs=state.files.dirs)
        if not in_store:
            d.file_of = kernel_files
        entries: dict[int, BootEntry] = {}
        for g in gens:
            fs, where = (store_fs, state.store) if in_store else (boot_fs, mdir)
            for name in d.file_of(g):
                d.wanted[name] = state.store / name
            entries[g.number] = boot_entry(g, fs, where / g.kernel,
                                           where / g.initrd if g.initrd else None)
        d.entries = tuple(sorted(entries))
        top_n = default if default in entries else (max(entries) if entries else None)
        top = entries[top_n] if top_n is not None else None
        menu_path = mdir / "grub.cfg"
        old_menu = state.text(menu_path) or ""
        older: dict[int, BootEntry | KeptEntry] = {
            n: e for n, e in entries.items() if n != top_n}
        for n in state.damaged:  # unreadable: its entry stays until removed explicitly
            if (k := kept_entry(old_menu, n)) is not None:
                older[n] = k
                d.kept |= referenced(k.kept)
        host = gens[-1].hostname if gens else "genman"
        d.current_refs = referenced(old_menu)
        d.write_if_changed(state, menu_path, render_menu(
            top, [older[n] for n in sorted(older, reverse=True)], host), "menu", Phase.ENTRIES)
        if default is not None and default in entries:
            env = _env_path(state)
            saved = _SAVED.search(state.text(state.files.texts[2]) or "")
            if state.text(env) is not None or saved:
                w = _set_env(state, {"saved_entry": f"genman-{default}"}, "default")
                if w.text != state.text(env):
                    d.writes.append(w)
        return d

    def plan_boot_once(self, state: BootState, number: int) -> tuple[list[Action], str]:
        menu = state.text(menu_dir(_boot_dir(state.target)) / "grub.cfg")
        if menu is None:
            raise GenmanError("genman's GRUB menu does not exist yet",
                              hint="run `genman bootloader install` or `genman switch`")
        entry = entry_id(menu, number)
        return ([_set_env(state, {"next_entry": entry}, "one-shot")],
                f"next boot: {entry} (grubenv next_entry)")

    def plan_finish_boot_once(self, state: BootState) -> list[Action]:
        return []  # GRUB clears next_entry itself when it boots it

    def plan_install(self, state: BootState) -> tuple[list[Action], tuple[str, ...]]:
        hook_path = state.files.texts[3]
        text = render_hook()
        if state.text(hook_path) == text and hook_path in state.executable:
            return [], ()
        actions: list[Action] = [WriteFile(hook_path, text, "GRUB hook, mode 0755",
                                           Phase.ENTRIES, mode=0o755)]
        if state.live:
            actions.append(RunCommand(state.update_grub,
                                      "once: genman's menu is then loaded from grub.cfg"))
            return actions, ()
        root = hook_path.parents[2]
        return actions, (f"note: run update-grub inside {root} (e.g. in a chroot) once, so its "
                         "grub.cfg loads genman's menu",)


def _boot_dir(target: BootTarget) -> Path:
    if target.boot_dir is None:
        raise GenmanError("GRUB needs a /boot directory, and none was found",
                          hint="give --boot-dir DIR")
    return target.boot_dir


def _env_path(state: BootState) -> Path:
    return _boot_dir(state.target) / "grub/grubenv"


def _set_env(state: BootState, changes: dict[str, str | None], what: str) -> WriteFile:
    """The one read-modify-write of grubenv."""
    env = _env_path(state)
    return WriteFile(env, update_env(state.text(env), changes), what, Phase.DEFAULT)
