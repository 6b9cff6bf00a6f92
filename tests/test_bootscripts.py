"""bootscripts: the rendered init and activate scripts are valid sh and carry /etc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from genman import bootscripts
from genman.bootline import sh_quote
from genman.errors import GenmanError
from genman.layout import Layout
from genman.manifest import EtcEntry, KernelEntry, Manifest, ServiceEntry

SHELLS = [["dash", "-n"], ["busybox", "sh", "-n"]]


def _manifest(init: str | None = None) -> Manifest:
    return Manifest(
        hostname="sandbox", description="it's a test", init=init,
        kernel=KernelEntry("6.1", "img", None, None, ("quiet",)),
        etc={
            "motd": EtcEntry("aaa-motd"),
            "with space/$x;y`z`.conf": EtcEntry("bbb-x"),
            "secret.conf": EtcEntry("ccc-secret", mode=0o600, uid=0, gid=115),
            "systemd/system/srv-foo\\x2dbar.mount": EtcEntry("eee-mount"),
        },
        services={"app": ServiceEntry("app.service", "ddd-app.service", (), "restart", "d")},
    )


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    return bootscripts.render(_manifest())


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
@pytest.mark.parametrize("name", ["init", "activate"])
def test_scripts_parse(tmp_path: Path, scripts: dict[str, str], shell: list[str],
                       name: str) -> None:
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} not installed")
    f = tmp_path / name
    f.write_text(scripts[name])
    r = subprocess.run([*shell, str(f)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    broken = tmp_path / "broken"
    broken.write_text(scripts[name] + "\nif then\n")
    r = subprocess.run([*shell, str(broken)], capture_output=True, text=True, check=False)
    assert r.returncode != 0


def test_activate_carries_etc_entries_quoted(scripts: dict[str, str]) -> None:
    act = scripts["activate"]
    static = str(Layout.etc_static)
    store = str(Layout.store_dir)
    assert f'"$1" link motd {sh_quote(static + "/motd")}\n' in act
    odd = "with space/$x;y`z`.conf"
    assert f'"$1" link {sh_quote(odd)} {sh_quote(static + "/" + odd)}\n' in act
    assert f'"$1" copy secret.conf {sh_quote(store + "/ccc-secret")} 0600 0 115\n' in act
    assert "ddd-app.service" in act
    assert "aaa-motd" not in act  # links go through /etc/static, not the store name
    # a systemd escape's backslash stays literal inside single quotes (busybox and dash)
    esc = "systemd/system/srv-foo\\x2dbar.mount"
    assert f'"$1" link \'{esc}\' \'{static}/{esc}\'\n' in act


def test_etc_entries_sorted_links_before_copies(scripts: dict[str, str]) -> None:
    lines = [ln.strip() for ln in scripts["activate"].splitlines()
             if ln.startswith('\t"$1" ')]
    kinds = [ln.split()[1] for ln in lines]
    assert kinds == sorted(kinds, key=lambda k: k != "link")
    assert len(lines) == 5


def test_init_order_with_profile_init() -> None:
    init = bootscripts.render(_manifest(init="/sbin/init"))["init"]
    assert "for init in /sbin/init /lib/systemd/systemd; do" in init
    custom = bootscripts.render(_manifest(init="/usr/bin/my init"))["init"]
    assert "for init in '/usr/bin/my init' /lib/systemd/systemd /sbin/init; do" in custom


def test_init_default_order(scripts: dict[str, str]) -> None:
    assert "for init in /lib/systemd/systemd /sbin/init; do" in scripts["init"]


def test_unquotable_etc_path_is_refused() -> None:
    bad = Manifest(hostname="h", description="d", init=None, kernel=None,
                   etc={"it's.conf": EtcEntry("x")})
    with pytest.raises(GenmanError, match=r"it's\.conf"):
        bootscripts.render(bad)
