"""Boot counting under --root, each boot simulated by doing what the loader does (the BLS
rename, GRUB's countdown in grubenv) and setting /run/genman/booted, then running the
boot-time judgement: the counter names read back by the real bootctl, the grubenv values
by the real grub-editenv; a good boot is blessed, a failing one reboots until the loader
falls back, and the fallback is recorded and made the default again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from genman.bootloader import grub
from genman.health import counting
from genman.health.config import MAX_TRIES
from genman.health.counting import BlsName, Verdict, judge, parse_bls
from genman.health.state import GenState, Record
from tests.bootsandbox import Sandbox, find_bootctl, tmpfs
from tests.conftest import Run

Genman = Callable[..., Run]


@pytest.fixture
def sb(tmp_path: Path, root: Path, genman: Genman) -> Sandbox:
    return Sandbox(tmp_path, root, genman)


def profile(sb: Sandbox, desc: str, check: str = "true") -> Path:
    p = sb.tmp / f"{desc}.toml"
    p.write_text(
        f'[system]\nhostname = "fra1"\ndescription = "{desc}"\n'
        f'[kernel]\nimage = "{sb.kernel}"\ninitrd = "{sb.initrd}"\nparams = ["console=ttyS0"]\n'
        f'[health]\ntries = 3\nboot_timeout = "2m"\n'
        f'[health.checks.svc]\ncommand = ["sh", "-c", "{check}"]\n')
    return p


def test_bls_names() -> None:
    assert parse_bls("genman-4.conf") == BlsName(4)
    assert parse_bls("genman-4+3.conf") == BlsName(4, 3)
    assert parse_bls("genman-12+0-3.conf") == BlsName(12, 0, 3)
    assert parse_bls("genman-12+0-3.conf").bad  # type: ignore[union-attr]
    assert parse_bls("other-4.conf") is None and parse_bls("genman-0.conf") is None
    for n in ("genman-4.conf", "genman-4+3.conf", "genman-4+1-2.conf"):
        assert parse_bls(n).name == n  # type: ignore[union-attr]


TRYING = Record(GenState.TRYING, 3)


@pytest.mark.parametrize(("default", "booted", "rec", "left", "verdict"), [
    (2, 2, TRYING, 2, Verdict.CHECK),
    (2, 2, Record(GenState.GOOD), None, Verdict.RECORD),
    (2, 1, TRYING, 0, Verdict.FALLBACK),
    (2, 1, TRYING, 2, Verdict.MANUAL),  # picked by hand: not a fallback, not blessed
    (2, 1, Record(GenState.GOOD), None, Verdict.MANUAL),
    (None, 1, None, None, Verdict.NOTHING),
    (2, None, TRYING, 1, Verdict.NOTHING),
])
def test_judge(default: int | None, booted: int | None, rec: Record | None, left: int | None,
               verdict: Verdict) -> None:
    assert judge(default, booted, rec, left) is verdict


def test_panic_reboots_only_counted_generations() -> None:
    from genman.health.config import HealthConfig

    assert counting.panic_params(HealthConfig(), ("quiet",)) == ("panic=10",)
    assert counting.panic_params(HealthConfig(), ("panic=30",)) == ()
    assert counting.panic_params(None, ("quiet",)) == ()


def test_grub_menu_counts_down_every_allowed_number_of_tries() -> None:
    menu = grub.render_menu(None, [], "fra1")
    for n in range(1, MAX_TRIES + 1):
        assert f'elif [ "${{genman_tries_left}}" = {n} ]; then\n' \
               f"      set genman_tries_left={n - 1}\n      save_env genman_tries_left" in menu
    assert 'set default="genman-older>genman-${genman_good}"' in menu


def bootctl_list(esp: Path) -> dict[str, dict[str, object]]:
    bootctl = find_bootctl()
    assert bootctl is not None, "bootctl is missing: run tools/fetch-bootctl.sh"
    r = subprocess.run([bootctl, f"--esp-path={esp}", "--no-variables", "--no-pager", "list",
                        "--json=short"], capture_output=True, text=True, check=False,
                       env={**os.environ, "SYSTEMD_RELAX_ESP_CHECKS": "1"})
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    flat = [e for chunk in entries for e in (chunk if isinstance(chunk, list) else [chunk])]
    return {str(e["id"]): e for e in flat}


def bootctl_default(esp: Path) -> str:
    """The id bootctl marks (default): read from its text listing (its JSON has no flag)."""
    bootctl = find_bootctl()
    assert bootctl is not None
    text = subprocess.run([bootctl, f"--esp-path={esp}", "--no-variables", "--no-pager",
                           "list"], capture_output=True, text=True, check=True,
                          env={**os.environ, "SYSTEMD_RELAX_ESP_CHECKS": "1"}).stdout
    for block in text.split("\n\n"):
        if "(default)" in block:
            return next(line.split(":", 1)[1].strip() for line in block.splitlines()
                        if line.strip().startswith("id:"))
    raise AssertionError(f"bootctl shows no default:\n{text}")


def sort_key(esp: Path, number: int) -> str:
    name = counting.bls_entries(esp)[number].name
    text = (esp / "loader/entries" / name).read_text()
    return next(line.split(None, 1)[1] for line in text.splitlines()
                if line.startswith("sort-key "))


def loader_try(esp: Path, number: int) -> None:
    """What systemd-boot does when it boots a counted entry: one try less, one more done."""
    cur = counting.bls_entries(esp)[number]
    assert cur.left is not None and cur.left > 0
    new = BlsName(number, cur.left - 1, (cur.done or 0) + 1)
    d = esp / "loader/entries"
    os.rename(d / cur.name, d / new.name)


def states(genman: Genman, *g: str | Path) -> list[tuple[object, ...]]:
    rows = json.loads(genman(*g, "list-generations", "--json").out)
    return [(r["number"], r["state"], r["tries_left"], r["failure"]) for r in rows]


def test_systemd_boot_bless_and_fallback_read_back_by_bootctl(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sb.install_systemd_boot(esp)
        g = ("--root", sb.root, "--esp", esp)
        r = genman(*g, "switch", profile(sb, "one"))
        assert "boot counting is off" in r.err  # no marker yet: said, not silent
        assert sb.entries(esp) == ["genman-1.conf"]
        r = genman(*g, "health", "--install-marker", "--init-system", "systemd")
        assert r.code == 0, r.err
        assert (sb.root / "usr/lib/genman/genman-boot-mark").is_file()
        assert os.readlink(sb.root / "etc/systemd/system/multi-user.target.wants/"
                           "genman-boot-mark.service") == \
            "/lib/systemd/system/genman-boot-mark.service"
        # Generation 2 becomes the default with 3 tries; its id stays genman-2.conf.
        assert genman(*g, "switch", profile(sb, "two")).code == 0
        assert sb.entries(esp) == ["genman-1.conf", "genman-2+3.conf"]
        listed = bootctl_list(esp)
        assert bootctl_default(esp) == "genman-2.conf"
        assert listed["genman-2.conf"]["triesLeft"] == 3
        assert "panic=10" in str(listed["genman-2.conf"]["options"])
        assert states(genman, *g)[1] == (2, "trying", 3, None)
        # A good boot: the loader counts one try, the marker blesses it.
        loader_try(esp, 2)
        sb.set_link("booted", 2)
        r = genman(*g, "boot-mark")
        assert r.code == 0, r.err
        assert sb.entries(esp) == ["genman-1.conf", "genman-2.conf"]
        assert "triesLeft" not in bootctl_list(esp)["genman-2.conf"]
        assert states(genman, *g)[1] == (2, "good", None, None)
        # Two more boots: nothing left to count, still the default.
        for _ in range(2):
            assert genman(*g, "boot-mark").code == 0
        assert sb.entries(esp) == ["genman-1.conf", "genman-2.conf"]
        assert bootctl_default(esp) == "genman-2.conf"

        # Generation 3's required check fails: each boot reboots until the loader gives up.
        assert genman(*g, "switch", profile(sb, "three", "echo no route; exit 1")).code == 0
        assert "genman-3+3.conf" in sb.entries(esp)
        sb.set_link("booted", 3)
        for left in (2, 1):
            loader_try(esp, 3)
            r = genman(*g, "boot-mark")
            assert r.code == 5, r.err  # the marker reboots
            assert states(genman, *g)[2] == (3, "trying", left, "check 'svc' failed: no route")
        # The last try fails too: the loader would fall back by itself, and the marker
        # moves the default back at once, then reboots.
        loader_try(esp, 3)
        assert genman(*g, "boot-mark").code == 5
        assert "genman-3+0-3.conf" in sb.entries(esp)
        assert bootctl_list(esp)["genman-3.conf"]["triesLeft"] == 0
        assert states(genman, *g)[2] == (3, "failed", None,
                                         "3 boots, check 'svc' failed: no route")
        assert bootctl_default(esp) == "genman-2.conf"
        assert (esp / "loader/loader.conf").read_text().count("default genman-*") == 1
        assert sort_key(esp, 2) == "genman-1-default"
        sb.set_link("booted", 2)
        assert genman(*g, "boot-mark").code == 0
        status = genman(*g, "status")
        assert status.out.splitlines()[0] == \
            "FAILED: generation 3: 3 boots, check 'svc' failed: no route"
        # Never counted down again, and later boots leave it alone.
        assert genman(*g, "boot-mark").code == 0
        assert states(genman, *g)[2][1] == "failed"


def test_systemd_boot_falls_back_by_itself_from_a_default_that_never_boots(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    """A panic: no marker runs, so only the loader can undo it. bootctl (which picks the
    default as systemd-boot does: the first entry loader.conf's pattern matches, entries
    at +0 sorted last) shows the new generation as the default while it has tries left,
    and the last good one, not a newer failed one, once it has none."""
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sb.install_systemd_boot(esp)
        g = ("--root", sb.root, "--esp", esp)
        assert genman(*g, "health", "--install-marker", "--init-system", "systemd").code == 0
        assert genman(*g, "switch", profile(sb, "one")).code == 0
        loader_try(esp, 1)
        sb.set_link("booted", 1)
        assert genman(*g, "boot-mark").code == 0
        # Generation 2 was reverted at switch time: failed, never counted, newer than 1.
        r = genman(*g, "switch", "--confirm-within", "1h", profile(sb, "two", "exit 1"))
        assert r.code == 5, r.err
        assert sb.entries(esp) == ["genman-1.conf", "genman-2.conf"]
        assert states(genman, *g)[1][:2] == (2, "failed")
        assert bootctl_default(esp) == "genman-1.conf"
        # Generation 3 panics at every boot: the loader counts, nothing else runs.
        assert genman(*g, "switch", profile(sb, "three")).code == 0
        assert bootctl_default(esp) == "genman-3.conf"
        assert (sort_key(esp, 3), sort_key(esp, 1), sort_key(esp, 2)) == (
            "genman-1-default", "genman-2-fallback", "genman-3")
        for left in (2, 1):
            loader_try(esp, 3)
            assert bootctl_list(esp)["genman-3.conf"]["triesLeft"] == left
            assert bootctl_default(esp) == "genman-3.conf"
        loader_try(esp, 3)
        assert bootctl_list(esp)["genman-3.conf"]["triesLeft"] == 0
        assert bootctl_default(esp) == "genman-1.conf"
        # The fallback boot's marker records it and makes 1 the default again.
        sb.set_link("booted", 1)
        r = genman(*g, "boot-mark")
        assert r.code == 0, r.err
        assert states(genman, *g)[2] == (
            3, "failed", None,
            "3 boots, never marked good (a panic, a hang, or no boot-time marker)")
        assert sort_key(esp, 1) == "genman-1-default"
        assert "genman-3+0-3.conf" in sb.entries(esp)
        assert bootctl_default(esp) == "genman-1.conf"
        rows = json.loads(genman(*g, "list-generations", "--json").out)
        assert [r["number"] for r in rows if r["default"]] == [1]
        head = genman(*g, "status").out.splitlines()[:2]
        assert head[0].startswith("FAILED: generation 2: check 'svc' failed")
        assert head[1].startswith("FAILED: generation 3: 3 boots, never marked good")
        # Boot-once still wins over the pattern (under --root: loader.conf's default).
        assert genman(*g, "boot-once", "2").code == 0
        assert bootctl_default(esp) == "genman-2.conf"


def test_dry_run_shows_the_tries_and_checks_that_will_run_text_and_json(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sb.install_systemd_boot(esp)
        g = ("--root", sb.root, "--esp", esp)
        assert genman(*g, "switch", profile(sb, "one")).code == 0
        # No marker yet: the dry run says counting is off, as the switch would.
        r = genman(*g, "switch", "--dry-run", profile(sb, "two", "exit 1"))
        assert r.code == 0, r.err
        assert "  health: 3 tries to boot, each marked good within 2m\n" in r.out
        assert "  health: boot counting is off: the boot-time marker" in r.out
        assert "  health check svc (required, timeout 30s): sh -c 'exit 1'\n" in r.out
        assert genman(*g, "health", "--install-marker", "--init-system", "systemd").code == 0
        r = genman(*g, "switch", "--dry-run", profile(sb, "two", "exit 1"))
        assert "  health: generation 2 gets its 3 tries as the boot default; at 0 the " \
               "loader boots the last good one\n" in r.out
        before = sb.entries(esp)
        items = json.loads(genman(*g, "switch", "--dry-run", "--json",
                                  profile(sb, "two", "exit 1")).out)
        kinds = [i["kind"] for i in items]
        assert kinds[-3:] == ["health", "health_counting", "health_check"]
        assert "boot_entries" in kinds[:-3]  # the plan's own objects come first
        health, counted, check = items[-3:]
        assert (health["tries"], health["boot_timeout"], health["counting"]) == (3, 120.0, True)
        assert health["counting_off"] is None and counted["counting"] is True
        assert (check["name"], check["command"], check["required"], check["timeout"]) == (
            "svc", ["sh", "-c", "exit 1"], True, 30.0)
        assert check["text"] == "health check svc (required, timeout 30s): sh -c 'exit 1'"
        r = genman(*g, "switch", "--dry-run", "--json", "--confirm-within", "45s",
                   profile(sb, "two"))
        items = json.loads(r.out)
        assert items[-1]["kind"] == "confirm" and items[-1]["within"] == 45.0
        assert "once confirmed" in items[-3]["text"]
        # switch-generation and rollback say it too; nothing of it ran.
        r = genman(*g, "switch-generation", "--dry-run", "1")
        assert "  health check svc (required" in r.out
        assert sb.entries(esp) == before
        assert [s[1] for s in states(genman, *g)] == [None]


def test_a_generation_picked_by_hand_is_not_blessed(
        sb: Sandbox, tmp_path: Path, genman: Genman) -> None:
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sb.install_systemd_boot(esp)
        g = ("--root", sb.root, "--esp", esp)
        genman(*g, "health", "--install-marker", "--init-system", "systemd")
        genman(*g, "switch", profile(sb, "one"))
        genman(*g, "switch", profile(sb, "two"))
        loader_try(esp, 2)
        sb.set_link("booted", 1)  # someone picked generation 1 at the menu
        assert genman(*g, "boot-mark").code == 0
        assert "genman-2+2-1.conf" in sb.entries(esp)
        assert states(genman, *g)[1][1] == "trying"


def editenv(env: Path) -> dict[str, str]:
    assert shutil.which("grub-editenv"), "missing: apt install grub-common"
    out = subprocess.run(["grub-editenv", str(env), "list"], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def grub_try(env: Path) -> None:
    """What genman's menu does at each boot of the tried default."""
    left = int(editenv(env)["genman_tries_left"])
    subprocess.run(["grub-editenv", str(env), "set", f"genman_tries_left={max(left - 1, 0)}"],
                   check=True)


def test_grub_counting_in_grubenv_read_back_by_grub_editenv(
        sb: Sandbox, genman: Genman) -> None:
    g = ("--root", sb.root, "--bootloader", "grub")
    env = sb.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    genman(*g, "health", "--install-marker", "--init-system", "sysvinit")
    assert (sb.root / "etc/rc2.d/S99genman-boot-mark").is_symlink()
    assert genman(*g, "switch", profile(sb, "one")).code == 0
    assert editenv(env)["genman_trying"] == "1"
    grub_try(env)
    sb.set_link("booted", 1)
    assert genman(*g, "boot-mark").code == 0
    values = editenv(env)
    assert values["genman_good"] == "1" and "genman_trying" not in values
    # A generation that never reaches userspace (a panic: no marker runs): GRUB counts
    # three boots down, then boots genman_good; that boot's marker records the fallback.
    assert genman(*g, "switch", profile(sb, "two", "exit 1")).code == 0
    assert editenv(env) | {"saved_entry": ""} == {
        "genman_trying": "2", "genman_tries_left": "3", "genman_good": "1",
        "saved_entry": ""}
    for _ in range(3):
        grub_try(env)
    assert editenv(env)["genman_tries_left"] == "0"
    sb.set_link("booted", 1)
    assert genman(*g, "boot-mark").code == 0
    values = editenv(env)
    assert "genman_trying" not in values and values["genman_good"] == "1"
    assert states(genman, *g)[1][:3] == (2, "failed", None)
    assert states(genman, *g)[1][3].startswith("3 boots, never marked good")
    menu = (sb.root / "boot/genman/grub.cfg").read_text()
    assert grub.top_number(menu) == 1  # the default entry is the good one again
    assert genman(*g, "status").out.startswith("FAILED: generation 2: 3 boots")


def test_moving_the_default_and_starting_its_count_is_one_session(
        sb: Sandbox, genman: Genman, mocker: MockerFixture) -> None:
    """`switch`, `boot`, `switch-generation` and `rollback` take the lock once: a
    boot-time marker (or another genman) cannot come between the default moving and its
    boots being counted, leaving a new default that nothing falls back from."""
    from genman import session as session_module

    g = ("--root", sb.root, "--bootloader", "grub")
    env = sb.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    genman(*g, "health", "--install-marker", "--init-system", "sysvinit")
    locks = mocker.spy(session_module, "locked")
    for args, counted in [(("switch", profile(sb, "one")), 1),
                          (("boot", profile(sb, "two")), 2),
                          (("switch-generation", "1"), 1),
                          (("boot", profile(sb, "two")), 2),
                          (("rollback",), 1)]:
        locks.reset_mock()
        r = genman(*g, *args)
        assert r.code == 0, r.err
        assert locks.call_count == 1, args
        assert editenv(env)["genman_trying"] == str(counted), args


def test_grub_check_failures_reboot_then_fall_back(sb: Sandbox, genman: Genman) -> None:
    g = ("--root", sb.root, "--bootloader", "grub")
    env = sb.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    genman(*g, "health", "--install-marker", "--init-system", "systemd")
    genman(*g, "switch", profile(sb, "one"))
    sb.set_link("booted", 1)
    assert genman(*g, "boot-mark").code == 0
    genman(*g, "switch", profile(sb, "two", "exit 1"))
    sb.set_link("booted", 2)
    for _ in range(3):
        grub_try(env)
        assert genman(*g, "boot-mark").code == 5
    assert states(genman, *g)[1] == (2, "failed", None,
                                     "3 boots, check 'svc' failed: exit code 1")
    assert editenv(env).get("genman_trying") is None
    assert grub.top_number((sb.root / "boot/genman/grub.cfg").read_text()) == 1


def test_a_counter_that_does_not_move_does_not_reboot_for_ever(
        sb: Sandbox, genman: Genman) -> None:
    """GRUB that cannot save_env: the same count twice means no reboot the second time."""
    g = ("--root", sb.root, "--bootloader", "grub")
    env = sb.root / "boot/grub/grubenv"
    env.parent.mkdir(parents=True)
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    genman(*g, "health", "--install-marker", "--init-system", "openrc")
    genman(*g, "switch", profile(sb, "one", "exit 1"))
    sb.set_link("booted", 1)
    assert genman(*g, "boot-mark").code == 5
    r = genman(*g, "boot-mark")
    assert r.code == 0 and "did not count down" in r.err
