"""`genman boot-once N` and `genman bootloader install`."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

from genman import fsutil, generation, process, status
from genman.bootloader import grub, systemd_boot
from genman.bootloader.execute import execute_boot, write_text
from genman.bootloader.model import BootPlan, Kind, WriteFile
from genman.bootloader.planner import plan_boot
from genman.bootloader.probe import BootTarget, detect, has_systemd_boot
from genman.context import Options
from genman.errors import GenmanError


def _target(opts: Options, what: str) -> BootTarget:
    target = detect(opts)
    if target.kind is Kind.NONE:
        raise GenmanError(f"{what} needs a bootloader: {target.reason}",
                          hint="give --bootloader systemd-boot|grub and --esp/--boot-dir")
    return target


# ------------------------------------------------------------------ boot-once


def boot_once(opts: Options, number: int) -> str:
    """Boot generation `number` at the next boot only; returns what was done.

    - GRUB: `next_entry` in grubenv (as grub-reboot does), read by the host's grub.cfg
      header before genman's entries; a submenu entry is named `genman-older>genman-N`.
    - systemd-boot, live: `bootctl set-oneshot genman-N.conf` (the LoaderEntryOneShot EFI
      variable).
    - systemd-boot under --root (no EFI variables to set): loader.conf's `default` names
      generation N and /var/lib/genman/boot-once records the real default; the next boot
      restores it: the first mutating genman command after a reboot runs
      `finish_boot_once` (from transaction.recover), and any switch writes the default
      again and drops the record.
    """
    target = _target(opts, "boot-once")
    generation.toplevel_of(opts.layout, number)  # exists, or a clear error
    if target.kind is Kind.GRUB:
        assert target.boot_dir is not None
        try:
            menu = (grub.menu_dir(target.boot_dir) / "grub.cfg").read_text()
        except OSError:
            raise GenmanError("genman's GRUB menu does not exist yet",
                              hint="run `genman bootloader install` or `genman switch`") from None
        entry = grub.entry_id(menu, number)
        env_path = target.boot_dir / "grub/grubenv"
        try:
            old = env_path.read_text()
        except OSError:
            old = None
        write_text(env_path, grub.update_env(old, {"next_entry": entry}))
        fsutil.sync_filesystem(env_path.parent)
        return f"next boot: {entry} (grubenv next_entry)"
    assert target.esp is not None
    if number not in systemd_boot.entry_numbers(target.esp):
        raise GenmanError(f"generation {number} has no boot entry",
                          hint="`genman list-generations` shows which generations have one")
    name = systemd_boot.entry_name(number)
    if opts.layout.is_live:
        process.run(["bootctl", f"--esp-path={target.esp}", "set-oneshot", name], check=True)
        return f"next boot: {name} (LoaderEntryOneShot)"
    conf = target.esp / systemd_boot.LOADER_CONF
    once = opts.layout.host(opts.layout.boot_once_file)
    default = status.markers(opts.layout).default
    if not once.exists():  # a second boot-once keeps the first record of the real default
        from genman.probe import boot_id

        record = {"entry": number, "default": default, "boot_id": boot_id()}
        write_text(once, json.dumps(record) + "\n")
    try:
        old = conf.read_text()
    except OSError:
        old = None
    write_text(conf, systemd_boot.loader_conf(old, number))
    fsutil.sync_filesystem(target.esp)
    return (f"next boot: {name} (loader.conf default, restored at the next boot from "
            f"{opts.layout.boot_once_file})")


def finish_boot_once(opts: Options) -> bool:
    """Undo a file-based systemd-boot one-shot once it has been booted: loader.conf's
    default names the default generation again. True when there was one to finish."""
    once = opts.layout.host(opts.layout.boot_once_file)
    try:
        record = json.loads(once.read_text())
    except FileNotFoundError:
        return False
    except ValueError:
        record = {}
    from genman.probe import boot_id

    if record.get("boot_id") is not None and record.get("boot_id") == boot_id():
        return False  # asked for during this boot: the one-shot boot has not happened yet
    target = detect(opts)
    default = status.markers(opts.layout).default
    if target.kind is Kind.SYSTEMD_BOOT and target.esp is not None and default is not None:
        conf = target.esp / systemd_boot.LOADER_CONF
        try:
            old = conf.read_text()
        except OSError:
            old = None
        write_text(conf, systemd_boot.loader_conf(old, default))
        fsutil.sync_filesystem(target.esp)
    fsutil.remove_file(once)
    return True


# ------------------------------------------------------------------ install


@dataclass(frozen=True)
class InstallPlan:
    hook: WriteFile | None  # GRUB: /etc/grub.d/09_genman
    update_grub: bool  # run update-grub once (live root only)
    boot: BootPlan
    notes: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        lines = []
        if self.hook is not None:
            lines.append(f"write {self.hook.path} (GRUB hook, mode 0755)")
        if self.update_grub:
            lines.append("run update-grub (once: genman's menu is then loaded from grub.cfg)")
        lines.extend(self.boot.describe())
        lines.extend(self.notes)
        return lines


def plan_install(opts: Options) -> InstallPlan:
    target = _target(opts, "bootloader install")
    m = status.markers(opts.layout)
    boot = plan_boot(opts, default=m.default,
                     retained=generation.generation_numbers(opts.layout))
    if target.kind is Kind.SYSTEMD_BOOT:
        assert target.esp is not None
        if not has_systemd_boot(target.esp):
            raise GenmanError(f"systemd-boot is not installed on the ESP {target.esp}",
                              hint=f"install it first: bootctl --esp-path={target.esp} install")
        return InstallPlan(None, False, boot)
    hook_path = opts.layout.host(grub.HOOK)
    text = grub.render_hook()
    try:
        current = hook_path.read_text()
    except OSError:
        current = None
    hook = None
    if current != text or not os.access(hook_path, os.X_OK):
        hook = WriteFile(hook_path, text, "hook", mode=0o755)
    live = opts.layout.is_live
    notes = () if live or hook is None else (
        f"note: run update-grub inside {opts.layout.root} (e.g. in a chroot) once, so its "
        "grub.cfg loads genman's menu",)
    return InstallPlan(hook, live and hook is not None, boot, notes)


def execute_install(opts: Options, plan: InstallPlan) -> None:
    execute_boot(plan.boot)
    if plan.hook is not None:
        write_text(plan.hook.path, plan.hook.text, plan.hook.mode)
    if plan.update_grub:
        cmd = ["update-grub"] if shutil.which("update-grub") else [
            "grub-mkconfig", "-o", "/boot/grub/grub.cfg"]
        process.run(cmd, check=True)
