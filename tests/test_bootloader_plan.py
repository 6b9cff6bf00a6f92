"""Boot planning is pure: BootStates built by hand, plans compared with ==, no disk."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from genman.bootloader.base import BootFiles, BootOnceRecord, BootState
from genman.bootloader.grub import Grub
from genman.bootloader.model import BootPlan, DeleteFile, Kind, Phase, RunCommand, WriteFile
from genman.bootloader.ops import plan_boot_once, plan_finish_boot_once
from genman.bootloader.probe import BootTarget
from genman.bootloader.systemd_boot import SystemdBoot
from genman.errors import GenmanError
from genman.state import Markers

ESP = Path("/nowhere/esp")
CONF = ESP / "loader/loader.conf"
ONCE = Path("/nowhere/var/lib/genman/boot-once")


def sd_state(live: bool = False, conf: str | None = "timeout 3\ndefault genman-2.conf\n",
             once: BootOnceRecord | None = None, boot_id: str = "b1") -> BootState:
    target = BootTarget(Kind.SYSTEMD_BOOT, esp=ESP, boot_dir=Path("/nowhere/boot"),
                        installed=True)
    return BootState(
        target=target, files=BootFiles(ESP / "EFI/genman", "ESP", texts=(CONF,)), live=live,
        store=Path("/nowhere/store"), boot_once_file=ONCE,
        markers=Markers(2, 2, None, frozenset()), boot_id=boot_id, texts={CONF: conf},
        entry_files={"genman-1.conf": ("title 1\n", 8), "genman-2.conf": ("title 2\n", 8)},
        boot_once=once)


def test_boot_once_under_root_records_the_default_and_edits_loader_conf() -> None:
    plan = plan_boot_once(sd_state(), 1)
    record = json.dumps({"entry": 1, "default": 2, "boot_id": "b1"}) + "\n"
    assert plan.plan.actions == (
        WriteFile(ONCE, record, "one-shot record", Phase.ENTRIES),
        WriteFile(CONF, "timeout 3\ndefault genman-1.conf\n", "default", Phase.DEFAULT))
    assert plan.plan.sync == tuple(sorted({ONCE.parent, CONF.parent}))


def test_live_boot_once_is_one_bootctl_call() -> None:
    plan = plan_boot_once(sd_state(live=True), 1)
    assert plan.plan.actions == (RunCommand(
        ("bootctl", f"--esp-path={ESP}", "set-oneshot", "genman-1.conf"), "LoaderEntryOneShot"),)


def test_boot_once_needs_an_entry() -> None:
    with pytest.raises(GenmanError, match="no boot entry"):
        plan_boot_once(sd_state(), 7)


def test_finish_boot_once_only_after_that_boot() -> None:
    once = BootOnceRecord(ONCE, 40, 1, 2, "b1")
    assert plan_finish_boot_once(sd_state(once=once)) is None  # same boot: not yet
    plan = plan_finish_boot_once(sd_state(once=once, boot_id="b2",
                                          conf="default genman-1.conf\n"))
    assert plan == BootPlan(Kind.SYSTEMD_BOOT, (
        WriteFile(CONF, "default genman-*\n", "default", Phase.DEFAULT),
        DeleteFile(ONCE, 40, "state")), dirs=(CONF.parent,), sync=(CONF.parent,))


def test_install_refuses_an_esp_without_systemd_boot() -> None:
    state = sd_state()
    missing = replace(state, target=BootTarget(Kind.SYSTEMD_BOOT, esp=ESP, installed=False))
    assert SystemdBoot().plan_install(state) == ([], ())
    with pytest.raises(GenmanError, match="not installed"):
        SystemdBoot().plan_install(missing)


def test_grub_boot_once_names_the_submenu_entry_in_grubenv() -> None:
    boot = Path("/nowhere/boot")
    menu = ("menuentry 'a' --id 'genman-2' {\n}\nsubmenu 'older' --id 'genman-older' {\n"
            "menuentry 'b' --id 'genman-1' {\n}\n}\n")
    state = BootState(
        target=BootTarget(Kind.GRUB, boot_dir=boot), files=BootFiles(boot / "genman", "/boot"),
        live=False, store=Path("/nowhere/store"), boot_once_file=ONCE,
        markers=Markers(2, 2, None, frozenset()), boot_id=None,
        texts={boot / "genman/grub.cfg": menu, boot / "grub/grubenv": None})
    actions, message = Grub().plan_boot_once(state, 1)
    assert message == "next boot: genman-older>genman-1 (grubenv next_entry)"
    [w] = actions
    assert isinstance(w, WriteFile) and w.path == boot / "grub/grubenv"
    assert "next_entry=genman-older>genman-1\n" in w.text and len(w.text.encode()) == 1024
