"""The store as a read-only bind mount: a write through /etc fails, genman's own writes
open it for the moment they need, and --root never mounts anything."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from genman import storemount
from genman.layout import Layout


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    """A directory that may be bind-mounted here (probed by trying), unmounted after."""
    d = tmp_path / "store"
    d.mkdir()
    (d / "motd").write_text("shared\n")
    r = subprocess.run(["mount", "-o", "bind", str(d), str(d)], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"bind mounts are not allowed here: {r.stderr.strip()}")
    subprocess.run(["umount", str(d)], check=True)
    try:
        yield d
    finally:
        while storemount.mount_state(str(d)) is not None:
            subprocess.run(["umount", "-l", str(d)], check=True)


def test_a_write_through_a_link_into_the_protected_store_fails(store: Path) -> None:
    assert storemount.protect_path(str(store))
    assert storemount.mount_state(str(store)) is True
    with pytest.raises(OSError) as e, open(store / "motd", "a") as f:
        f.write("x\n")
    assert e.value.errno == 30  # EROFS
    assert (store / "motd").read_text() == "shared\n"


def test_genman_opens_the_store_only_while_it_writes(store: Path) -> None:
    storemount.protect_path(str(store))
    (store.parent / "module.ko").write_text("a module\n")
    with storemount.writable_path(str(store)):
        assert not storemount.mount_state(str(store))
        (store / "new").write_text("added\n")
        # Hard links from the store's own file system work (no mount point in between).
        (store / "module.ko").hardlink_to(store.parent / "module.ko")
    assert storemount.mount_state(str(store)) is True
    assert (store / "new").read_text() == "added\n"
    assert (store / "module.ko").stat().st_nlink == 2


def test_under_root_nothing_is_mounted(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "var/lib/genman/store").mkdir(parents=True)
    # Even a layout that says it is live (as tests of live behaviour make it) mounts only
    # the real root's store.
    monkeypatch.setattr(Layout, "is_live", property(lambda self: True))
    with storemount.writable(Layout.for_root(root)):
        pass
    assert storemount.mount_state(str(root / "var/lib/genman/store")) is None


def test_mount_state_reads_escaped_mount_points(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text("36 35 98:0 / /a\\040b rw,noatime shared:1 - ext4 /dev/x rw\n"
                    "37 36 98:0 / /a\\040b ro,relatime shared:2 - ext4 /dev/x rw\n")
    assert storemount.mount_state("/a b", str(info)) is True
    assert storemount.mount_state("/c", str(info)) is None


def test_the_boot_script_protects_the_store() -> None:
    from genman import bootscripts
    from genman.manifest import Manifest

    text = bootscripts.render(Manifest(hostname="h", description="", init=None, kernel=None,
                                       etc={}, packages={}, path_links={}, services={}))["init"]
    assert "mount -o remount,ro,bind \"$store\"" in text
    assert "store=/var/lib/genman/store\n" in text
