"""Private inputs stay private in everything genman writes: the store, the /etc copies, the
boot copies, the caches and the generation files."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from genman import generation
from genman.layout import Layout
from tests.conftest import Run

SOURCE = b"SECRET-SOURCE-5e1f"
TEMPLATE = b"SECRET-TEMPLATE-77aa"
INITRD = b"SECRET-INITRD-c0de"


def _files_holding(top: Path, needles: tuple[bytes, ...]) -> dict[Path, int]:
    """Every regular file below `top` that holds one of `needles`, with its mode."""
    found: dict[Path, int] = {}
    for dirpath, _, names in os.walk(top):
        for n in names:
            p = Path(dirpath) / n
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and any(x in p.read_bytes() for x in needles):
                found[p] = stat.S_IMODE(st.st_mode)
    return found


def test_private_inputs_are_never_readable_by_others(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "secret.conf").write_bytes(SOURCE + b"\n")
    (src / "secret.j2").write_bytes(TEMPLATE + b" {{ system.hostname }}\n")
    (src / "vmlinuz-6.1.0-28-amd64").write_bytes(b"K" * 4000)
    (src / "initrd.img-6.1.0-28-amd64").write_bytes(INITRD * 100)
    for name in ("secret.conf", "secret.j2", "initrd.img-6.1.0-28-amd64"):
        os.chmod(src / name, 0o600)
    old = time.time() - 60  # old enough for the hash cache to remember them
    for p in src.iterdir():
        os.utime(p, (old, old))
    (tmp_path / "p.toml").write_text(
        '[system]\nhostname = "fra1"\n'
        f'[kernel]\nimage = "{src}/vmlinuz-6.1.0-28-amd64"\n'
        f'initrd = "{src}/initrd.img-6.1.0-28-amd64"\n'
        f'[etc."secret.conf"]\nsource = "{src}/secret.conf"\n'
        f'[etc."secret.tmpl"]\ntemplate = "{src}/secret.j2"\n'
        f'[etc."copied.tmpl"]\ntemplate = "{src}/secret.j2"\nuser = "root"\n'
        '[etc.zero]\ntext = "nobody reads this"\nmode = "0000"\n')
    (root / "boot/efi/EFI/systemd").mkdir(parents=True)
    (root / "boot/efi/EFI/systemd/systemd-bootx64.efi").write_bytes(b"MZ")
    for bootloader in ("systemd-boot", "grub"):
        r = genman("--root", root, "--bootloader", bootloader, "switch", tmp_path / "p.toml")
        assert r.code == 0, r.err
    cache = tmp_path / "build-cache"
    assert list(cache.rglob("*.cache")), "the compiled template was cached"
    assert list(cache.rglob("hashes.sqlite")), "the source hashes were cached"

    found = {**_files_holding(root, (SOURCE, TEMPLATE, INITRD)),
             **_files_holding(cache, (SOURCE, TEMPLATE, INITRD))}
    where = {str(p.relative_to(tmp_path)) for p in found}
    assert any("/store/" in w and "secret.conf" in w for w in where), where
    assert any("/store/" in w and "initrd" in w for w in where), where
    assert any("boot/efi/EFI/genman/" in w for w in where), where
    assert any("boot/genman/" in w for w in where), where
    assert any(w.endswith(".cache") for w in where), where
    assert (root / "etc/copied.tmpl").is_file() and not (root / "etc/copied.tmpl").is_symlink()
    assert {p: oct(m) for p, m in found.items() if m & 0o077} == {}
    for p in cache.rglob("*"):
        mode = stat.S_IMODE(os.lstat(p).st_mode)
        assert mode in ((0o700,) if p.is_dir() else (0o600, 0o400)), (p, oct(mode))
    assert not (root / "var/lib/genman/cache").exists()

    layout = Layout.for_root(root)
    zero = generation.manifest_of(layout, 1).etc["zero"]
    assert zero.mode == 0
    assert stat.S_IMODE(os.stat(layout.host(layout.store_path(zero.store))).st_mode) == 0


def _evil_bytecode(legit: bytes, marker: Path) -> bytes:
    """The cached entry of the same template with code that creates `marker` when loaded."""
    import io
    import pickle

    import jinja2
    from jinja2.bccache import Bucket, bc_magic

    f = io.BytesIO(legit)
    assert f.read(len(bc_magic)) == bc_magic
    bucket = Bucket(jinja2.Environment(), "key", pickle.load(f))  # our own file, in a test
    bucket.bytecode_from_string(legit)
    assert bucket.code is not None  # the legit entry loads
    bucket.code = compile(f"open({str(marker)!r}, 'w').close()", "<evil>", "exec")
    return bucket.bytecode_to_string()


def test_a_compiled_template_planted_in_the_target_is_never_loaded(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    (tmp_path / "t.j2").write_text("hello {{ system.hostname }}\n")
    (tmp_path / "p.toml").write_text('[etc.motd]\ntemplate = "t.j2"\n')
    assert genman("--root", root, "build", tmp_path / "p.toml").code == 0
    cached = list((tmp_path / "build-cache").rglob("*.cache"))
    assert len(cached) == 1
    pwned = tmp_path / "PWNED"
    evil = _evil_bytecode(cached[0].read_bytes(), pwned)
    # Whoever controls the target tree plants code under the old in-tree cache path, and
    # the real cache was left readable and writable by others: neither is loaded.
    planted = root / "var/lib/genman/cache/jinja" / cached[0].name
    planted.parent.mkdir(parents=True)
    planted.write_bytes(evil)
    cached[0].write_bytes(evil)
    os.chmod(cached[0], 0o666)
    from genman import templating

    templating.environment.cache_clear()  # a new genman process
    r = genman("--root", root, "switch", "--dry-run", tmp_path / "p.toml")
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert not pwned.exists()
