"""kernel: "latest", "current" and paths resolved against a sandbox root's /boot."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import pytest

from genman import kernel
from genman.errors import GenmanError
from genman.layout import Layout


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "boot").mkdir(parents=True)
    (r / "lib/modules").mkdir(parents=True)
    return r


def _kernel(root: Path, version: str) -> Path:
    p = root / "boot" / f"vmlinuz-{version}"
    p.write_bytes(b"k" + version.encode())
    (root / "lib/modules" / version).mkdir(parents=True, exist_ok=True)
    return p


def test_version_key_sorts_numerically() -> None:
    vs = ["6.10.0", "6.2.0", "6.1.0-rc1", "6.1.0", "5.15.0-91-generic"]
    assert sorted(vs, key=kernel.version_key) == [
        "5.15.0-91-generic", "6.1.0", "6.1.0-rc1", "6.2.0", "6.10.0"]


def test_latest_picks_highest_version(sandbox: Path, tmp_path: Path) -> None:
    _kernel(sandbox, "6.2.0-1")
    newest = _kernel(sandbox, "6.10.0-1")
    _kernel(sandbox, "6.9.9-1")
    (sandbox / "boot/vmlinuz-99-dir").mkdir()  # not a file: ignored
    (sandbox / "boot/config-7.0").write_text("")
    path, version, on_target = kernel.resolve_image(
        Layout.for_root(sandbox), "latest", tmp_path / "profile.toml")
    assert (path, version, on_target) == (newest, "6.10.0-1", True)


def test_latest_without_kernels_fails(sandbox: Path, tmp_path: Path) -> None:
    with pytest.raises(GenmanError, match='"latest" found no vmlinuz') as e:
        kernel.resolve_image(Layout.for_root(sandbox), "latest", tmp_path / "profile.toml")
    assert "profile.toml" in str(e.value)
    assert e.value.hint


def test_latest_follows_absolute_link_inside_root(sandbox: Path, tmp_path: Path) -> None:
    real = sandbox / "usr/lib/kernels/vmlinuz-real"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"kernel")
    os.symlink("/usr/lib/kernels/vmlinuz-real", sandbox / "boot/vmlinuz-6.5.0")
    path, version, _ = kernel.resolve_image(
        Layout.for_root(sandbox), "latest", tmp_path / "p.toml")
    assert version == "6.5.0"
    assert path.read_bytes() == b"kernel"
    assert str(path).startswith(str(sandbox))


def test_latest_ignores_link_leaving_root(sandbox: Path, tmp_path: Path) -> None:
    outside = tmp_path / "host-kernel"
    outside.write_bytes(b"host")
    os.symlink(str(outside), sandbox / "boot/vmlinuz-6.6.0")
    with pytest.raises(GenmanError, match="found no vmlinuz"):
        kernel.resolve_image(Layout.for_root(sandbox), "latest", tmp_path / "p.toml")


def test_current_uses_running_release(sandbox: Path, tmp_path: Path) -> None:
    release = platform.release()
    with pytest.raises(GenmanError, match=re.escape(f'"current" is {release}')):
        kernel.resolve_image(Layout.for_root(sandbox), "current", tmp_path / "p.toml")
    p = _kernel(sandbox, release)
    assert kernel.resolve_image(Layout.for_root(sandbox), "current", tmp_path / "p.toml") == (
        p, release, True)


def test_path_relative_to_profile(sandbox: Path, tmp_path: Path) -> None:
    prof = tmp_path / "prof"
    (prof / "k").mkdir(parents=True)
    img = prof / "k" / "vmlinuz-6.3.1-custom"
    img.write_bytes(b"x")
    got = kernel.resolve_image(Layout.for_root(sandbox), "k/vmlinuz-6.3.1-custom",
                               prof / "profile.toml")
    assert got == (img, "6.3.1-custom", False)
    got = kernel.resolve_image(Layout.for_root(sandbox), str(img), tmp_path / "elsewhere.toml")
    assert got == (img, "6.3.1-custom", False)


def test_missing_path_fails(sandbox: Path, tmp_path: Path) -> None:
    with pytest.raises(GenmanError, match="does not exist"):
        kernel.resolve_image(Layout.for_root(sandbox), "nope/vmlinuz-1", tmp_path / "p.toml")


def _bzimage(path: Path, version: str) -> None:
    head = bytearray(0x4000)
    head[0x202:0x206] = b"HdrS"
    offset = 0x1000
    head[0x20E:0x210] = offset.to_bytes(2, "little")
    text = f"{version} (builder@host) #1 SMP".encode() + b"\0"
    head[0x200 + offset:0x200 + offset + len(text)] = text
    path.write_bytes(bytes(head))


def test_bzimage_version_from_header(tmp_path: Path) -> None:
    img = tmp_path / "bzImage"
    _bzimage(img, "6.7.1-test")
    assert kernel.bzimage_version(img) == "6.7.1-test"
    assert kernel.image_version(img) == "6.7.1-test"
    named = tmp_path / "vmlinuz-1.2.3"
    _bzimage(named, "6.7.1-test")
    assert kernel.image_version(named) == "1.2.3"


def test_image_without_header_is_unknown(tmp_path: Path) -> None:
    img = tmp_path / "Image"
    img.write_bytes(b"\0" * 0x300)
    assert kernel.bzimage_version(img) is None
    assert kernel.image_version(img) == "unknown"
    assert kernel.bzimage_version(tmp_path / "absent") is None


@pytest.mark.parametrize("name", ["initrd.img-6.1", "initramfs-6.1.img", "initrd-6.1"])
def test_initrd_names(sandbox: Path, name: str) -> None:
    img = _kernel(sandbox, "6.1")
    assert kernel.matching_initrd(img, "6.1") is None
    assert kernel.target_initrd(Layout.for_root(sandbox), "6.1") is None
    (sandbox / "boot" / name).write_bytes(b"i")
    assert kernel.matching_initrd(img, "6.1") == sandbox / "boot" / name
    assert kernel.target_initrd(Layout.for_root(sandbox), "6.1") == sandbox / "boot" / name
    assert kernel.target_initrd(Layout.for_root(sandbox), "6.2") is None
