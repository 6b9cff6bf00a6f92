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
from pathlib import Path, PurePosixPath

from genman.bootloader import templates
from genman.bootloader.entries import GenBoot
from genman.bootloader.model import BootEntry
from genman.bootloader.probe import FsInfo
from genman.errors import GenmanError

MENU_DIR = PurePosixPath("/boot/genman")
HOOK = PurePosixPath("/etc/grub.d/09_genman")
OLDER_ID = "genman-older"
_ID = re.compile(r"--id\s+'?genman-([1-9][0-9]*)'?")
_STORE_NAME = re.compile(r"[0-9a-f]{32}-[A-Za-z0-9+._?=-]+")
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


def render_menu(top: BootEntry | None, older: list[BootEntry], hostname: str) -> str:
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
    return set(_STORE_NAME.findall(menu))


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
