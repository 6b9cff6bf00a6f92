"""Steps the scenarios share: run genman in the guest, find a generation's menu entry by
the title genman wrote for it, boot it, and check what the guest reports."""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from .images import REPO, Combo
from .machine import GuestBootError, GuestCommandError, Machine, Result
from .package import GUEST_GENMAN

PROFILES = "/etc/genman/vm"
BOOT_BUDGET = 180  # seconds from power-on to the agent, menu wait included (TCG)


@dataclass(frozen=True)
class Timed:
    result: Result
    seconds: float


def host_switch(combo: Combo, profile: str) -> list[str]:
    """Arguments for a host-side `genman switch` of vm-tests/profiles/PROFILE.toml into an
    image's tree before it is made (images.build_image(host_prepare=...)): cheaper than a
    guest boot plus a switch under TCG, and itself a test of the --root promise."""
    if combo.bootloader == "systemd-boot":
        loader = ["--bootloader", "systemd-boot", "--esp", "{esp}"]
    else:
        loader = ["--bootloader", "grub", "--boot-dir", "{tree}/boot"]
    return ["--root", "{tree}", *loader, "switch", str(REPO / f"vm-tests/profiles/{profile}.toml")]


def genman(
    m: Machine, combo: Combo, args: str, ok: tuple[int, ...] = (0,), timeout: float = 300
) -> Result:
    """Run genman in the guest with this combination's bootloader options."""
    cmd = f"{combo.genman_cmd()} {args}"
    res = m.execute(cmd, timeout=timeout)
    if res.rc not in ok:
        raise GuestCommandError(
            f"{m.name}: `{cmd}` exited {res.rc} (expected {ok})\n"
            f"--- stdout ---\n{res.out}--- stderr ---\n{res.err}"
        )
    return res


def switch(
    m: Machine, combo: Combo, profile: str, ok: tuple[int, ...] = (0,), timeout: float = 300
) -> float:
    started = time.monotonic()
    genman(m, combo, f"switch {PROFILES}/{profile}.toml", ok=ok, timeout=timeout)
    return time.monotonic() - started


def generations(m: Machine, combo: Combo) -> dict[int, dict[str, object]]:
    out = genman(m, combo, "list-generations --json").out
    return {int(g["number"]): g for g in json.loads(out)}


def default_generation(m: Machine, combo: Combo) -> int:
    gens = generations(m, combo)
    defaults = [n for n, g in gens.items() if g.get("default")]
    assert len(defaults) == 1, f"expected exactly one default generation, got {defaults}: {gens}"
    return defaults[0]


def booted_generation(m: Machine) -> int | None:
    cmdline = m.succeed("cat /proc/cmdline")
    found = re.search(r"\bgenman\.generation=(\d+)", cmdline)
    return int(found.group(1)) if found else None


def etc_marker(m: Machine) -> str:
    return m.succeed("cat /etc/genman-vm/marker").strip()


# ------------------------------------------------------------ menu titles


def _grub_menu(cfg: str) -> dict[int, tuple[str, ...]]:
    """generation -> (submenu title..., entry title) from genman's grub.cfg."""
    found: dict[int, tuple[str, ...]] = {}
    stack: list[tuple[str, int]] = []  # (submenu title, depth at which it opened)
    depth = 0
    for line in cfg.splitlines():
        s = line.strip()
        if m := re.match(r"""submenu\s+(['"])(.*?)\1""", s):
            stack.append((m.group(2), depth))
        elif m := re.match(r"""menuentry\s+(['"])(.*?)\1.*?--id[= ]+['"]?genman-(\d+)""", s):
            found[int(m.group(3))] = (*[t for t, _ in stack], m.group(2))
        depth += s.count("{") - s.count("}")
        while stack and depth <= stack[-1][1]:
            stack.pop()
    return found


def _sdboot_menu(m: Machine) -> dict[int, tuple[str, ...]]:
    out = m.succeed(
        'for f in /boot/efi/loader/entries/genman-*.conf; do echo "== $f"; cat "$f"; done'
    )
    entries: dict[int, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for line in out.splitlines():
        if hdr := re.match(r"== .*/genman-(\d+)(?:\+\d+(?:-\d+)?)?\.conf$", line):
            cur = entries.setdefault(int(hdr.group(1)), {})
        elif cur is not None and (kv := re.match(r"(\w[\w-]*)\s+(.*)$", line)):
            cur.setdefault(kv.group(1), kv.group(2).strip())
    titles = [e.get("title", "") for e in entries.values()]
    found = {}
    for n, e in entries.items():
        title = e.get("title", f"genman-{n}")
        # systemd-boot tells identical titles apart by appending the version.
        if titles.count(title) > 1 and e.get("version"):
            title = f"{title} ({e['version']})"
        found[n] = (title,)
    return found


def menu_path(m: Machine, combo: Combo, generation: int) -> tuple[str, ...]:
    """The titles to pick, level by level, to boot `generation` — read from what genman
    wrote, so the test follows the menu a person would see."""
    if combo.bootloader == "systemd-boot":
        menu = _sdboot_menu(m)
    else:
        menu = _grub_menu(m.succeed("cat /boot/genman/grub.cfg"))
    if generation not in menu:
        raise AssertionError(
            f"{m.name}: genman wrote no boot entry for generation {generation}: {menu}"
        )
    return menu[generation]


def menu_entries(m: Machine, combo: Combo) -> dict[int, tuple[str, ...]]:
    return (
        _sdboot_menu(m)
        if combo.bootloader == "systemd-boot"
        else _grub_menu(m.succeed("cat /boot/genman/grub.cfg"))
    )


def title_matcher(title: str) -> Callable[[str], bool]:
    """Does a highlighted menu line show `title`? Menus cut long titles at the screen
    width; GRUB marks the selection with '*' and submenus with '>'; systemd-boot may
    append " (version)". So: one must be a prefix of the other, over a stretch long
    enough to include "generation N:"."""

    def matches(line: str) -> bool:
        shown = re.sub(r"\s*>$", "", line.strip().lstrip("*").strip())
        shown = shown.rstrip(".…").strip()  # some menus mark the cut
        if len(shown) < min(len(title), 20):
            return False
        return title.startswith(shown) or shown.startswith(title)

    matches.__name__ = f"title {title!r}"
    return matches


# ------------------------------------------------------------ boots


def reboot_into(
    m: Machine, combo: Combo, generation: int | None = None, expect_default: int | None = None
) -> float:
    """Reboot; pick `generation` from the menu (None: take the default, checking that
    the menu highlights `expect_default` first). Returns seconds to the agent."""
    path: tuple[str, ...] = ()
    default_path: tuple[str, ...] = ()
    if generation is not None:
        path = menu_path(m, combo, generation)
    if expect_default is not None:
        default_path = menu_path(m, combo, expect_default)
    m.reboot()
    return boot_menu(m, path, default_path)


def boot_menu(m: Machine, path: tuple[str, ...] = (), default_path: tuple[str, ...] = ()) -> float:
    if default_path:
        # Nothing pressed yet: the highlighted entry is the menu's default. Allow the
        # menu a few seconds to settle (redraws) before calling it wrong.
        is_default = title_matcher(default_path[-1])
        hl = m._wait_highlight(None, time.monotonic() + 120)
        settle = time.monotonic() + 3
        while hl is not None and not is_default(hl) and time.monotonic() < settle:
            time.sleep(0.3)
            hl = m._wait_highlight(None, time.monotonic())
        if hl is None or not is_default(hl):
            raise GuestBootError(
                f"{m.name}: menu highlights {hl!r} by default, expected {default_path[-1]!r}\n"
                f"--- screen ---\n{m.screen().dump()}\n" + m.console_tail()
            )
    if path:
        m.select_boot_entry(*[title_matcher(t) for t in path])
    elif default_path:
        m.select_boot_entry(
            title_matcher(default_path[-1])
        )  # Enter: no need to sit out the timeout
    return m.wait_for_agent(timeout=BOOT_BUDGET)


def ride_out_bad_boots(m: Machine, resets: int, budget: float = 420) -> float:
    """Reboot into a default that cannot stay up and let nobody touch it: each of `resets`
    tries ends with a reset the guest does itself (panic=, the watchdog, the boot-time
    marker's reboot; QEMU runs with -no-reboot, so each is an exit and the next power-on
    is the harness's, as firmware would do). Then the guest must come up on its own.
    Returns the seconds from the reboot to the agent answering again."""
    started = time.monotonic()
    m.reboot()
    for _ in range(resets):
        m.wait_exit(budget)
        m.start()
    boot_menu(m)
    return time.monotonic() - started


def assert_booted(m: Machine, combo: Combo, generation: int, marker: str) -> None:
    """The guest runs `generation`: the kernel was given its entry, and /etc is its /etc."""
    assert booted_generation(m) == generation, m.succeed("cat /proc/cmdline")
    assert etc_marker(m) == marker
    gens = generations(m, combo)
    assert gens[generation].get("booted") is True, gens
    assert gens[generation].get("active") is True, gens


def assert_genman_packaged(m: Machine) -> None:
    """genman in the guest is the .deb's (package.py): dpkg has it installed, the
    command on PATH is the packaged one, and no copied tree is left to shadow it."""
    status = m.succeed("dpkg-query -W -f '${Status} ${Version}' genman")
    assert status.startswith("install ok installed "), status
    assert m.succeed("command -v genman").strip() == GUEST_GENMAN
    m.succeed(f"{GUEST_GENMAN} --version && test ! -e /usr/local/lib/genman")
    # The hook the initrds were made with is the package's own file.
    m.succeed("dpkg -S /usr/share/initramfs-tools/hooks/genman | grep -q '^genman:'")


def sh_quote(s: str) -> str:
    return shlex.quote(s)
