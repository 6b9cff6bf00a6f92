"""systemd-boot: entry and loader.conf text (golden), one copy per kernel content, the real
`bootctl list` reading genman's entries, and a too-small ESP refused before any change."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from genman.bootloader import entry_numbers, execute_boot, plan_boot, systemd_boot
from genman.bootloader.model import BootEntry
from genman.errors import GenmanError
from tests.bootsandbox import (
    Sandbox,
    find_bootctl,
    snapshot,
    tmpfs,
)

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def sandbox(tmp_path: Path, root: Path, genman: Callable[..., object]) -> Sandbox:
    return Sandbox(tmp_path, root, genman)

ENTRY = BootEntry(
    number=7,
    title="fra1 generation 7: edge router (2024-05-01, Linux 6.1.0-28-amd64)",
    version="7 2024-05-01 6.1.0-28-amd64",
    linux="/EFI/genman/0123456789abcdef0123456789abcdef-vmlinuz-6.1.0-28-amd64",
    initrd="/EFI/genman/fedcba9876543210fedcba9876543210-initrd.img-6.1.0-28-amd64",
    params=("console=ttyS0", "quiet",
            "init=/var/lib/genman/store/00112233445566778899aabbccddeeff-genman-fra1/init",
            "genman.generation=7"),
    machine_id="4f1c3b2a9d8e7f6a5b4c3d2e1f0a9b8c",
    sort_key=systemd_boot.SORT_DEFAULT,
)


def test_entry_matches_golden() -> None:
    assert systemd_boot.render_entry(ENTRY) == (GOLDEN / "systemd-boot-entry.conf").read_text()


def test_entry_without_machine_id_or_initrd_matches_golden() -> None:
    e = BootEntry(**{**ENTRY.__dict__, "machine_id": None, "initrd": None})
    assert systemd_boot.render_entry(e) == (
        GOLDEN / "systemd-boot-entry-minimal.conf").read_text()


def test_loader_conf_new_and_edited_match_golden() -> None:
    assert systemd_boot.loader_conf(None) == (GOLDEN / "loader.conf-new").read_text()
    old = "# mine\ntimeout 3\ndefault debian-*.conf\nconsole-mode max\ndefault again\n"
    assert systemd_boot.loader_conf(old) == (GOLDEN / "loader.conf-edited").read_text()


def test_ten_generations_on_one_kernel_hold_one_copy(sandbox: Sandbox) -> None:
    sandbox.install_systemd_boot()
    numbers = sandbox.build_many(10)
    assert numbers == list(range(1, 11))
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=10, retained=numbers))
    assert sandbox.entries() == sorted(f"genman-{n}.conf" for n in numbers)
    files = sandbox.boot_files(sandbox.esp / "EFI/genman")
    assert len(files) == 2
    assert sum("vmlinuz" in f for f in files) == 1 and sum("initrd" in f for f in files) == 1
    assert "default genman-*\n" in (sandbox.esp / "loader/loader.conf").read_text()
    entry = sandbox.esp / "loader/entries/genman-10.conf"
    assert "sort-key genman-1-default\n" in entry.read_text()
    assert entry_numbers(opts) == set(numbers)
    # Nothing left to do: the plan is empty the second time.
    assert plan_boot(opts, default=10, retained=numbers).actions == ()


def test_prune_keep_2_leaves_two_entries_and_only_their_files(sandbox: Sandbox) -> None:
    sandbox.install_systemd_boot()
    sandbox.build_many(5)
    sandbox.set_kernel(b"k2" * 4000, b"i2" * 2000, "6.1.0-29-amd64")
    sandbox.build_many(5)  # generations 6..10 on a second kernel
    opts = sandbox.opts()
    sandbox.set_link("default", 10)
    execute_boot(opts, plan_boot(opts, default=10, retained=list(range(1, 11))))
    assert len(sandbox.boot_files(sandbox.esp / "EFI/genman")) == 4

    r = sandbox.genman("--root", sandbox.root, "prune", "--keep", "2")
    assert r.code == 0, r.err
    assert "removed 8 generations: 1-8" in r.out
    assert "on the ESP" in r.out
    assert sandbox.entries() == ["genman-10.conf", "genman-9.conf"]
    named = set()
    for e in sandbox.entries():
        named |= systemd_boot.referenced((sandbox.esp / "loader/entries" / e).read_text())
    assert set(sandbox.boot_files(sandbox.esp / "EFI/genman")) == named
    assert len(named) == 2 and all("6.1.0-29" in n for n in named)


def test_generation_without_kernel_gets_no_entry(sandbox: Sandbox) -> None:
    sandbox.install_systemd_boot()
    a = sandbox.build("with kernel")
    b = sandbox.build("no kernel", kernel=False)
    opts = sandbox.opts()
    plan = plan_boot(opts, default=b, retained=[a, b])
    assert plan.entries == (a,)
    assert any("no kernel" in w for w in plan.warnings)
    execute_boot(opts, plan)
    assert sandbox.entries() == [f"genman-{a}.conf"]
    rows = json.loads(sandbox.genman("--root", sandbox.root, "list-generations",
                                     "--json").out)  # type: ignore[attr-defined]
    assert {r["number"]: r["boot_entry"] for r in rows} == {a: True, b: False}


def test_loader_conf_keeps_the_users_lines(sandbox: Sandbox) -> None:
    sandbox.install_systemd_boot()
    (sandbox.esp / "loader").mkdir(parents=True)
    (sandbox.esp / "loader/loader.conf").write_text("timeout 3\ndefault debian.conf\neditor no\n")
    n = sandbox.build("one")
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=n, retained=[n]))
    assert (sandbox.esp / "loader/loader.conf").read_text() == (
        "timeout 3\ndefault genman-*\neditor no\n")


def test_plan_runs_in_rule_3_order_and_cleans_stray_temps(sandbox: Sandbox) -> None:
    sandbox.install_systemd_boot()
    sandbox.build_many(2)
    opts = sandbox.opts()
    execute_boot(opts, plan_boot(opts, default=2, retained=[1, 2]))
    sandbox.set_kernel(b"new" * 3000, b"newi" * 100, "6.2.0-1-amd64")
    n = sandbox.build("new kernel")
    stray = sandbox.esp / "EFI/genman/.genman-tmp-0123456789ab-half-a-kernel"
    stray.write_bytes(b"half")
    plan = plan_boot(opts, default=n, retained=[2, n])
    kinds = [type(a).__name__ + ":" + a.phase for a in plan.actions]
    assert kinds == ["CopyFile:files", "CopyFile:files", "WriteFile:entries",
                     "WriteFile:default", "DeleteFile:delete"]
    assert any("genman-1.conf" in line for line in plan.describe())
    execute_boot(opts, plan)
    assert not stray.exists()
    assert sandbox.entries() == ["genman-2.conf", f"genman-{n}.conf"]


def test_no_bootloader_warns_once_and_writes_nothing(sandbox: Sandbox) -> None:
    sandbox.build("bare")
    before = snapshot(sandbox.root)
    plan = plan_boot(sandbox.opts(), default=1, retained=[1])
    assert plan.actions == () and len(plan.warnings) == 1
    r = sandbox.genman("--root", sandbox.root, "gc")
    assert r.code == 0, r.err
    assert r.err.count("no bootloader found") == 1
    after = snapshot(sandbox.root)
    assert {k for k in after if "boot" in k} == {k for k in before if "boot" in k}


def _bootctl_list(bootctl: str, esp: Path) -> list[dict[str, object]]:
    env = {**os.environ, "SYSTEMD_RELAX_ESP_CHECKS": "1"}
    r = subprocess.run([bootctl, f"--esp-path={esp}", "--no-variables", "--no-pager",
                        "list", "--json=short"], capture_output=True, text=True, env=env,
                       check=False)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_real_bootctl_lists_genmans_entries(sandbox: Sandbox, tmp_path: Path) -> None:
    bootctl = find_bootctl()
    if bootctl is None:
        pytest.fail("bootctl not found: tools/bootstrap.sh --test runs tools/fetch-bootctl.sh "
                    "(Debian's systemd-boot, unpacked into a cache, not installed)")
    sandbox.build_many(3)
    with tmpfs(tmp_path / "esp", "16m") as esp:
        sandbox.install_systemd_boot(esp)
        opts = sandbox.opts(esp=esp)
        sandbox.set_link("default", 2)
        execute_boot(opts, plan_boot(opts, default=2, retained=[1, 2, 3]))
        entries = _bootctl_list(bootctl, esp)
        assert sorted(str(e["id"]) for e in entries) == [
            "genman-1.conf", "genman-2.conf", "genman-3.conf"]
        by_id = {e["id"]: e for e in entries}
        e2 = by_id["genman-2.conf"]
        assert e2["sortKey"] == "genman-1-default"
        assert str(e2["title"]).startswith("fra1 generation 2: generation 1")
        assert "genman.generation=2" in str(e2["options"])
        assert "init=/var/lib/genman/store/" in str(e2["options"])
        for e in entries:
            assert (esp / str(e["linux"]).lstrip("/")).is_file()
            initrds = e["initrd"]
            assert isinstance(initrds, list)
            assert all((esp / str(i).lstrip("/")).is_file() for i in initrds)
        env = {**os.environ, "SYSTEMD_RELAX_ESP_CHECKS": "1"}
        text = subprocess.run([bootctl, f"--esp-path={esp}", "--no-variables", "--no-pager",
                               "list"], capture_output=True, text=True, env=env,
                              check=True).stdout
        assert "(default)" in text.split("id: genman-2.conf")[0].rsplit("title:", 1)[1]


def test_kernel_that_does_not_fit_on_the_esp_fails_before_any_change(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.write_profile("small")
    with tmpfs(tmp_path / "esp", "256k") as esp:
        sandbox.install_systemd_boot(esp)
        r = sandbox.genman("--root", sandbox.root, "--esp", esp, "switch", sandbox.profile)
        assert r.code == 0, r.err
        sandbox.set_kernel(os.urandom(600 * 1024), b"i" * 1000, "6.9.0-1-amd64")
        sandbox.write_profile("big kernel")
        esp_before, etc_before = snapshot(esp), snapshot(sandbox.root / "etc")
        default_before = os.readlink(sandbox.root / "var/lib/genman/default")
        r = sandbox.genman("--root", sandbox.root, "--esp", esp, "switch", sandbox.profile)
        assert r.code == 1, r.out + r.err
        assert "not enough space on the ESP" in r.err and "missing" in r.err
        assert "Traceback" not in r.err
        assert snapshot(esp) == esp_before
        assert snapshot(sandbox.root / "etc") == etc_before
        assert os.readlink(sandbox.root / "var/lib/genman/default") == default_before


def test_space_error_names_the_prune_that_makes_room(sandbox: Sandbox, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "esp", "400k") as esp:
        sandbox.install_systemd_boot(esp)
        opts = sandbox.opts(esp=esp)
        for i in range(3):  # three kernels of 100 KiB each on the ESP
            sandbox.set_kernel(os.urandom(100 * 1024), b"i%d" % i, f"6.1.{i}-amd64")
            sandbox.build(f"k{i}")
        sandbox.set_link("default", 3)
        execute_boot(opts, plan_boot(opts, default=3, retained=[1, 2, 3]))
        sandbox.set_kernel(os.urandom(200 * 1024), b"i4", "6.1.4-amd64")
        n = sandbox.build("k4")
        before = snapshot(esp)
        with pytest.raises(GenmanError) as e:
            plan_boot(opts, default=n, retained=[1, 2, 3, n])
        assert "not enough space on the ESP" in e.value.message
        assert e.value.hint is not None and "genman prune --keep 2" in e.value.hint
        assert snapshot(esp) == before
        r = sandbox.genman("--root", sandbox.root, "--esp", esp, "prune", "--keep", "2")
        assert r.code == 0, r.err
        plan_boot(opts, default=n, retained=[3, n])  # fits now
