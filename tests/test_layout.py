"""--root stays inside its root: links in the target tree that lead out of it are refused or
followed as the target would follow them, never to a file of the building machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from genman.layout import Layout, etc_path_problem, resolve_in_root
from tests.conftest import Run

PROFILE = '[system]\nhostname = "fra1"\n[etc.motd]\ntext = "hi"\n'


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "precious").write_text("precious\n")
    return d


def _profile(tmp_path: Path, text: str = PROFILE) -> Path:
    (tmp_path / "p.toml").write_text(text)
    return tmp_path / "p.toml"


def test_resolve_follows_links_as_the_target_does(root: Path, tmp_path: Path) -> None:
    (root / "boot").mkdir()
    os.symlink(str(tmp_path / "outside/precious"), root / "boot/abs")
    os.symlink("../../../../../../etc/hostname", root / "boot/rel")
    layout = Layout.for_root(root)
    assert layout.resolve("/boot/abs") == root / str(tmp_path / "outside/precious").lstrip("/")
    assert layout.resolve("/boot/rel") == root / "etc/hostname"
    assert resolve_in_root(root, PurePosixPath("/boot/rel")) == PurePosixPath("/etc/hostname")


def test_lock_file_link_is_not_followed(root: Path, tmp_path: Path, outside: Path,
                                        genman: Callable[..., Run]) -> None:
    (root / "var/lib/genman").mkdir(parents=True)
    os.symlink(outside / "precious", root / "var/lib/genman/lock")
    r = genman("--root", root, "switch", _profile(tmp_path))
    assert r.code == 1 and r.err.startswith("error: ") and "lock" in r.err, r.err
    assert (outside / "precious").read_text() == "precious\n"


def test_lock_path_a_directory_is_an_error(root: Path, tmp_path: Path,
                                           genman: Callable[..., Run]) -> None:
    (root / "var/lib/genman/lock").mkdir(parents=True)
    r = genman("--root", root, "switch", _profile(tmp_path))
    assert r.code == 1 and "Traceback" not in r.err and "hint: remove" in r.err, r.err
    os.rmdir(root / "var/lib/genman/lock")  # the way out the hint gives
    assert genman("--root", root, "switch", _profile(tmp_path)).code == 0


@pytest.mark.parametrize("link", ["var/lib/genman", "var/lib", "run/genman", "etc/genman"])
def test_state_directory_leading_out_of_the_root_is_refused(
        root: Path, tmp_path: Path, outside: Path, link: str,
        genman: Callable[..., Run]) -> None:
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, root / link)
    r = genman("--root", root, "switch", _profile(tmp_path))
    assert r.code == 1 and "leads out of the root" in r.err, r.err
    assert sorted(os.listdir(outside)) == ["precious"]


def test_boot_image_link_to_a_file_of_the_building_machine_is_not_copied(
        root: Path, tmp_path: Path, outside: Path, genman: Callable[..., Run]) -> None:
    secret = outside / "id_rsa"
    secret.write_bytes(b"SECRET-KEY-OF-THE-BUILDER")
    os.chmod(secret, 0o600)
    (root / "boot").mkdir()
    os.symlink(secret, root / "boot/vmlinuz-6.6.6")
    os.symlink("../" * 12 + str(secret).lstrip("/"), root / "boot/vmlinuz-6.6.7")
    r = genman("--root", root, "build",
               _profile(tmp_path, PROFILE + '[kernel]\nimage = "latest"\n'))
    assert r.code == 1 and "found no vmlinuz" in r.err, r.err
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            assert p.is_symlink() or b"SECRET-KEY" not in p.read_bytes(), p


def test_ledger_entry_leaving_etc_deletes_nothing(root: Path, tmp_path: Path, outside: Path,
                                                  genman: Callable[..., Run]) -> None:
    assert genman("--root", root, "switch", _profile(tmp_path)).code == 0
    ledger = root / "etc/genman/ledger.json"
    text = ledger.read_text()
    rel = os.path.relpath(outside / "precious", root / "etc")
    ledger.write_text(text.replace('["link", "motd"],', f'["link", "motd"],\n["link", "{rel}"],'))
    r = genman("--root", root, "switch", _profile(tmp_path, PROFILE.replace("hi", "ho")))
    assert r.code == 1 and "ledger" in r.err and "Traceback" not in r.err, r.err
    assert (outside / "precious").read_text() == "precious\n"


@pytest.mark.parametrize(("path", "problem"), [
    ("motd", None), ("profile.d/x.sh", None), ("../x", "'..'"), ("/x", "relative"),
    ("a/./b", "'..'"), ("a\nb", "contains"), ("genman/ledger.json", "reserved"),
    ("genman", "reserved"), ("profile.d", "must stay a directory"), ("static", "reserved"),
    ("x" * 256, "too long"),
    # systemd-escape's \xNN in unit names, drop-in and .wants directories under the unit
    # directories; any other backslash, and control characters, stay refused
    ("systemd/system/srv-foo\\x2dbar.mount", None),
    ("systemd/system/dev-disk-by\\x2dlabel-x.swap", None),
    ("systemd/system/srv-foo\\x2dbar.mount.d/10-opts.conf", None),
    ("systemd/system/local-fs.target.wants/srv-foo\\x2dbar.mount", None),
    ("systemd/user/a\\x20b.service", None),
    ("systemd/system/foo\\bar.service", "'\\\\'"),
    ("systemd/system/foo\\x2.service", "'\\\\'"),
    ("systemd/system/foo\\x2d\\.service", "'\\\\'"),
    ("systemd/system/a\\x2db.service\n", "control"),
    ("systemd/system/it's\\x2d.service", "\"'\""),
    ("systemd/system/../system/a\\x2db.service", "'..'"),
    ("systemd/network/a\\x2db.network", "'\\\\'"),
    ("nginx/a\\x2db.conf", "'\\\\'"),
    ("genman/a\\x2db.service", "'\\\\'"),
])
def test_etc_path_problem(path: str, problem: str | None) -> None:
    found = etc_path_problem(path)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_store_names_one_pattern() -> None:
    from genman.layout import is_store_name, store_names_in

    name = "0123456789abcdef0123456789abcdef-vmlinuz-6.1.0-28-amd64"
    assert is_store_name(name)
    assert not is_store_name(".genman-tmp-0123456789ab")
    assert not is_store_name(name[1:])  # 31 hex digits
    assert not is_store_name(name + "/x")
    menu = f"linux /var/lib/genman/store/{name} root=x\ninitrd /EFI/genman/{'f' * 32}-i.img\n"
    assert store_names_in(menu) == {name, f"{'f' * 32}-i.img"}
