"""`genman diff A B --content` and `switch --dry-run --diff`: unified diffs for text, sizes
and hashes for binaries, a summary first, secrets never shown, colours on terminals only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from genman.textdiff import file_diff, render
from tests.conftest import Run

SECRET_A = "SECRET-A-6c1e"
SECRET_B = "SECRET-B-99f0"


def _profile(tmp_path: Path, n: int, motd: str, blob: bytes, secret: str) -> Path:
    d = tmp_path / f"p{n}"
    d.mkdir()
    (d / "blob").write_bytes(blob)
    (d / "key").write_text(secret + "\n")
    (d / "profile.toml").write_text(
        f'[etc.motd]\ntext = """{motd}"""\n[etc."data.bin"]\nsource = "blob"\n'
        '[secrets."app.key"]\nfile = "key"\n'
        + ('[etc.gone]\ntext = "bye\\n"\n' if n == 1 else ""))
    return d / "profile.toml"


def test_diff_content_between_generations(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one = _profile(tmp_path, 1, "line 1\nline 2\nline 3\n", b"\x00\x01\x02", SECRET_A)
    two = _profile(tmp_path, 2, "line 1\nline two\nline 3\n", b"\x00\x01\x02\x03", SECRET_B)
    for p in (one, two):
        assert genman("--root", root, "--bootloader", "none", "switch", p).code == 0
    r = genman("--root", root, "diff", "1", "2", "--content")
    assert r.code == 0, r.err
    out = r.out.splitlines()
    start = out.index(" /etc/app.key  | secret")
    assert out[start:start + 5] == [
        " /etc/app.key  | secret",
        " /etc/data.bin | binary 3 -> 4 bytes",
        " /etc/gone     |    1 -",
        " /etc/motd     |    2 +-",
        " 4 files changed, 1 insertion(+), 2 deletions(-)",
    ]
    assert "--- /etc/motd\n+++ /etc/motd\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+line two\n line 3" \
        in r.out
    assert "--- /etc/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye" in r.out
    assert "Binary file /etc/data.bin: 3 bytes, sha256 " in r.out
    assert "(secret: content not shown)" in r.out
    assert SECRET_A not in r.out and SECRET_B not in r.out
    assert "\033[" not in r.out
    data = json.loads(genman("--root", root, "diff", "1", "2", "--content", "--json").out)
    assert [f["path"] for f in data["content"]] == [
        "/etc/app.key", "/etc/data.bin", "/etc/gone", "/etc/motd"]
    assert SECRET_A not in json.dumps(data) and SECRET_B not in json.dumps(data)
    same = genman("--root", root, "diff", "2", "2", "--content")
    assert same.out == "generations 2 and 2 are the same\n"


def test_switch_dry_run_diff_shows_what_etc_content_changes(
        tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    one = _profile(tmp_path, 1, "hello\n", b"\x00", SECRET_A)
    r = genman("--root", root, "--bootloader", "none", "switch", "--dry-run", "--diff", one)
    assert r.code == 0, r.err
    assert "content:\n /etc/app.key  | secret\n" in r.out, r.out
    assert "--- /dev/null\n+++ /etc/motd\n@@ -0,0 +1 @@\n+hello" in r.out
    assert "Binary file /etc/data.bin: absent -> 1 bytes" in r.out
    assert SECRET_A not in r.out
    assert not (root / "var/lib/genman").exists(), "a dry run writes nothing"
    assert genman("--root", root, "--bootloader", "none", "switch", one).code == 0
    r = genman("--root", root, "--bootloader", "none", "switch", "--dry-run", "--diff", one)
    assert r.out.endswith("content: no /etc file changes\n"), r.out
    (root / "etc/motd").unlink()
    (root / "etc/motd").write_text("by hand\n")
    r = genman("--root", root, "--bootloader", "none", "switch", "--dry-run", "--diff",
               "--force", one)
    assert "-by hand\n+hello" in r.out, r.out
    assert genman("--root", root, "switch", "--diff", one).code == 2


def test_colours_only_when_asked() -> None:
    d = file_diff("/etc/x", b"a\n", b"b\n")
    plain = render([d], colour=False)
    painted = render([d], colour=True)
    assert not any("\033[" in line for line in plain)
    assert "\033[32m+b\033[0m" in painted and "\033[31m-a\033[0m" in painted
    assert [line for line in plain if line.startswith(("-", "+"))] == \
        ["--- /etc/x", "+++ /etc/x", "-a", "+b"]
