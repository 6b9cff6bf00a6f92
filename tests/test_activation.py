"""switch / test / boot / switch-generation / rollback / status / --dry-run, end to end in a
--root sandbox: after each step every managed /etc path resolves to that generation's
content, unmanaged files are byte-for-byte untouched and no stale managed path remains."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from genman import generation
from genman.layout import Layout
from genman.ledger import Ledger
from genman.profile import resolve_in_root

# ---------------------------------------------------------------- sandbox helpers (shared)

UNMANAGED = {
    "hostname": b"sandbox\n",
    "app/local.conf": b"# the admin's own file\n",
    "profile.d/other.sh": b"export X=1\n",
}

PROFILES: dict[int, str] = {
    1: """
[system]
hostname = "sandbox"
description = "first"
[etc."motd"]
text = "one {{ system.hostname }}\\n"
[etc."app/app.conf"]
text = "threads = 1\\n"
[etc."secret.conf"]
text = "token = 1\\n"
mode = "0600"
[etc."d1/d2/f1"]
text = "deep\\n"
[etc."web.conf"]
text = "port = 80\\n"
[services.app]
unit = "app"
restart_triggers = ["app/app.conf"]
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
""",
    2: """
[system]
hostname = "sandbox"
description = "second"
[etc."motd"]
text = "two {{ system.hostname }}\\n"
[etc."app/app.conf"]
text = "threads = 1\\n"
[etc."secret.conf"]
text = "token = 2\\n"
mode = "0640"
[etc."new/x"]
text = "x\\n"
[etc."web.conf"]
text = "port = 8080\\n"
[services.app]
unit = "app"
restart_triggers = ["app/app.conf"]
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
""",
    3: """
[system]
hostname = "sandbox"
description = "third"
[etc."motd"]
text = "three\\n"
[etc."web.conf"]
text = "port = 8080\\n"
[etc."d1/other"]
text = "again\\n"
[services.web]
unit = "web"
restart_triggers = ["web.conf"]
on_change = "reload"
[services.api]
unit_file = "api.service"
""",
}


def make_root(base: Path) -> Path:
    r = base / "root"
    (r / "etc/genman").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\n")
    for p, data in UNMANAGED.items():
        (r / "etc" / p).parent.mkdir(parents=True, exist_ok=True)
        (r / "etc" / p).write_bytes(data)
    return r


def write_profiles(base: Path) -> dict[int, Path]:
    d = base / "profiles"
    d.mkdir(exist_ok=True)
    (d / "api.service").write_text("[Service]\nExecStart=/bin/true\n")
    out = {}
    for n, text in PROFILES.items():
        out[n] = d / f"p{n}.toml"
        out[n].write_text(text)
    return out


def snapshot(root: Path) -> dict[str, Any]:
    """/etc (type, link target, content hash, mode) and the state links."""
    snap: dict[str, Any] = {}
    etc = root / "etc"
    for dirpath, dirnames, filenames in os.walk(etc):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                snap[rel] = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                snap[rel] = ("d", stat.S_IMODE(st.st_mode))
            else:
                snap[rel] = ("f", stat.S_IMODE(st.st_mode),
                             hashlib.sha256(p.read_bytes()).hexdigest())
    for link in ("var/lib/genman/default", "run/genman/active"):
        snap[link] = os.readlink(root / link) if os.path.islink(root / link) else None
    return snap


def tree_hash(root: Path) -> str:
    """Everything under root: names, types, modes, link targets, content, mtimes."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = os.lstat(p)
            h.update(f"{p.relative_to(root)}\0{st.st_mode}\0{st.st_mtime_ns}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(p.read_bytes())
    return h.hexdigest()


def check_generation(root: Path, number: int) -> None:
    """/etc is exactly generation `number`'s, and everything else in /etc is untouched."""
    layout = Layout.for_root(root)
    m = generation.manifest_of(layout, number)
    for path, entry in m.etc.items():
        host = root / "etc" / path
        want = (root / "var/lib/genman/store" / entry.store).read_bytes()
        if entry.is_copy:
            st = os.lstat(host)
            assert stat.S_ISREG(st.st_mode), path
            assert stat.S_IMODE(st.st_mode) == entry.mode, path
            assert host.read_bytes() == want, path
        else:
            real = resolve_in_root(root, PurePosixPath("/etc", path))
            assert (root / str(real).lstrip("/")).read_bytes() == want, path
            assert os.readlink(host) == f"/etc/static/{path}"
    for p, data in UNMANAGED.items():
        assert (root / "etc" / p).read_bytes() == data, p
    ledger = Ledger.parse((root / "etc/genman/ledger.json").read_text())
    assert ledger.files == set(m.etc) | {
        f"systemd/system/{s.unit if '.' in s.unit else s.unit + '.service'}"
        for s in m.services.values() if s.unit_file}
    # No stale managed link: every link into /etc/static is a path of this generation.
    for dirpath, dirnames, filenames in os.walk(root / "etc"):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink() and os.readlink(p).startswith("/etc/static/"):
                assert str(p.relative_to(root / "etc")) in m.etc, p
    toplevel = generation.toplevel_of(layout, number)
    assert os.readlink(root / "etc/static") == f"/var/lib/genman/store/{toplevel}/etc"
    assert os.readlink(root / "run/genman/active") == f"/var/lib/genman/generations/{number}"
    assert (root / "etc/profile.d/genman.sh").read_text().count("/run/genman/active/sw/bin")


# ---------------------------------------------------------------- tests


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[int, Path]]:
    return make_root(tmp_path), write_profiles(tmp_path)


Genman = Callable[..., Any]


def test_switch_rollback_switch_generation_sequence(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    for n in (1, 2, 3):
        r = genman("--root", root, "switch", profiles[n])
        assert r.code == 0, r.err
        assert r.out.strip() == f"switched to generation {n}"
        check_generation(root, n)
        assert os.readlink(root / "var/lib/genman/default") == f"/var/lib/genman/generations/{n}"
    # generation 1's nested dirs are gone with generation 2; d1 came back with 3.
    assert not (root / "etc/d1/d2").exists()
    assert (root / "etc/systemd/system/api.service").is_symlink()

    r = genman("--root", root, "rollback")
    assert r.code == 0, r.err
    check_generation(root, 2)
    assert not (root / "etc/systemd/system").exists()  # genman made it, now empty
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/2"

    r = genman("--root", root, "switch-generation", "1")
    assert r.code == 0, r.err
    check_generation(root, 1)
    assert not (root / "etc/new").exists()
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/1"
    assert (root / "etc/app").is_dir()  # the admin's local.conf keeps it


def test_services_are_planned_not_run_under_root(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    r = genman("--root", root, "switch", profiles[2])
    assert r.code == 0
    assert "not run under --root: reload web" in r.err
    assert "restart app" not in r.err  # app.conf did not change


def test_dry_run_changes_nothing_and_prints_the_plan(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    assert genman("--root", root, "switch", profiles[1]).code == 0
    before = tree_hash(root)
    r = genman("--root", root, "switch", "--dry-run", profiles[2])
    assert r.code == 0, r.err
    assert tree_hash(root) == before
    out = r.out
    assert "plan for generation 2:" in out
    assert "etc: ~ /etc/secret.conf (file, mode 0640" in out
    assert "etc: + /etc/new/x -> /etc/static/new/x" in out
    assert "etc: ~ /etc/motd (new content through /etc/static)" in out
    assert "etc: - /etc/d1/d2/f1" in out
    assert "etc: rmdir /etc/d1/d2 (genman made it; now empty)" in out
    assert "services: reload web (web): changed: web.conf" in out
    assert "services: app (app)" not in out
    assert "unchanged app (app): nothing it uses changed" in out
    assert "default: /var/lib/genman/default -> /var/lib/genman/generations/2" in out
    # The same for a generation that exists already, and for rollback.
    genman("--root", root, "build", profiles[2])
    before = tree_hash(root)
    assert genman("--root", root, "switch", "--dry-run", profiles[2]).code == 0
    assert genman("--root", root, "switch-generation", "--dry-run", "2").code == 0
    assert tree_hash(root) == before


def test_dry_run_plan_is_the_plan_that_runs(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    genman("--root", root, "build", profiles[2])
    dry = genman("--root", root, "switch-generation", "--dry-run", "2").out.splitlines()[1:]
    from genman import activation
    from genman.context import Options

    result = activation.switch_generation(Options(Layout.for_root(root)), 2, lambda _: None)
    assert [f"  {line}" for line in result.plan.describe()] == dry


def test_unmanaged_file_in_the_way_is_refused_then_backed_up(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    (root / "etc/motd").write_text("the admin's motd\n")
    before = snapshot(root)
    r = genman("--root", root, "switch", profiles[1])
    assert r.code == 1
    assert "/etc/motd" in r.err and "--backup" in r.err
    after = snapshot(root)
    assert after == before  # refused before anything changed
    r = genman("--root", root, "switch", "--backup", profiles[1])
    assert r.code == 0, r.err
    check_generation(root, 1)
    backups = list((root / "etc").glob("motd.genman-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == "the admin's motd\n"


def test_test_keeps_default_and_boot_does_not_activate(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    assert genman("--root", root, "switch", profiles[1]).code == 0
    assert genman("--root", root, "test", profiles[2]).code == 0
    check_generation(root, 2)
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/1"
    r = genman("--root", root, "status", "--json")
    st = json.loads(r.out)
    assert (st["default"], st["active"]) == (1, 2)
    assert any("differs from the default" in w for w in st["warnings"])

    etc_before = {k: v for k, v in snapshot(root).items() if k.startswith("etc")}
    assert genman("--root", root, "boot", profiles[3]).code == 0
    assert {k: v for k, v in snapshot(root).items() if k.startswith("etc")} == etc_before
    assert os.readlink(root / "var/lib/genman/default") == "/var/lib/genman/generations/3"
    r = genman("--root", root, "status")
    assert "default: 3" in r.out and "active:  2" in r.out


def test_rollback_without_older_generation_is_a_clear_error(
    sandbox: tuple[Path, dict[int, Path]], genman: Genman
) -> None:
    root, profiles = sandbox
    genman("--root", root, "switch", profiles[1])
    r = genman("--root", root, "rollback")
    assert r.code == 1
    assert "oldest" in r.err
    r = genman("--root", root, "switch-generation", "9")
    assert r.code == 1 and "generation 9 does not exist" in r.err
