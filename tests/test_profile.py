"""Profiles: loading, merging, rendering, and a corpus of bad profiles that must each be
refused with exit 1, one line naming the problem, and nothing written under the root."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from genman import profile
from genman.errors import GenmanError
from genman.layout import Layout
from tests.conftest import Run
from tests.helpers import write_tree


def tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


GOOD = {
    "profile.toml": """
imports = ["common.toml"]
[system]
hostname = "fra1"
description = "edge"
[vars]
idx = 3
[etc."bird/bird.conf"]
template = "t/bird.conf.j2"
mode = "0640"
group = "bird"
[etc.motd]
text = "hi {{ system.hostname }} {{ host.architecture | length > 0 }}\\n"
[services.bird]
restart_triggers = ["bird/bird.conf"]
on_change = "reload"
""",
    "common.toml": """
[vars]
idx = 1
prefix = "172.18"
[etc."nginx/sites"]
source = "files/sites/"
[etc.motd]
source = "files/motd"
""",
    "t/bird.conf.j2": "router id {{ prefix }}.{{ idx }}.1;\n",
    "files/sites/a.conf": "a\n",
    "files/sites/sub/b.conf": "b\n",
    "files/motd": "from common\n",
}


def test_good_profile_merges_imports_key_by_key(tmp_path: Path, root: Path) -> None:
    write_tree(tmp_path / "p", GOOD)
    prof = profile.load(tmp_path / "p/profile.toml", Layout.for_root(root))
    by_path = {e.path: e for e in prof.etc}
    assert sorted(by_path) == ["bird/bird.conf", "motd", "nginx/sites/a.conf",
                               "nginx/sites/sub/b.conf"]
    # The host's value wins over common's, the import's other vars stay.
    assert by_path["bird/bird.conf"].content == b"router id 172.18.3.1;\n"
    assert by_path["bird/bird.conf"].mode == 0o640
    assert by_path["bird/bird.conf"].gid == 115
    # A later file's content replaces an imported one of another kind.
    assert by_path["motd"].kind is profile.EtcKind.TEXT
    assert by_path["motd"].content == b"hi fra1 True\n"
    assert prof.services[0].unit == "bird"
    assert prof.services[0].on_change is profile.OnChange.RELOAD
    assert prof.hostname == "fra1"


@pytest.mark.parametrize(("value", "seconds"), [
    ('"5s"', 5.0), ('"500ms"', 0.5), ("3", 3.0), ('"0s"', 0.0), ("0", 0.0), ('"1m"', 60.0),
    (None, None)])
def test_service_settle(tmp_path: Path, root: Path, value: str | None,
                        seconds: float | None) -> None:
    text = "[services.s]\n" + (f"settle = {value}\n" if value is not None else "")
    write_tree(tmp_path / "p", {"profile.toml": text})
    prof = profile.load(tmp_path / "p/profile.toml", Layout.for_root(root))
    assert prof.services[0].settle == seconds


def test_hostname_defaults_to_the_targets(tmp_path: Path, root: Path) -> None:
    write_tree(tmp_path / "p", {"profile.toml": "[etc.motd]\ntext = '{{ system.hostname }}'\n"})
    prof = profile.load(tmp_path / "p/profile.toml", Layout.for_root(root))
    assert prof.hostname == "sandbox"
    assert prof.etc[0].content == b"sandbox"


def test_kernel_latest_and_matching_initrd(tmp_path: Path, root: Path) -> None:
    (root / "boot").mkdir()
    for v in ("6.1.0-9-amd64", "6.1.0-28-amd64", "5.10.0-1-amd64"):
        (root / f"boot/vmlinuz-{v}").write_bytes(b"k" + v.encode())
        (root / f"boot/initrd.img-{v}").write_bytes(b"i")
    (root / "lib/modules/6.1.0-28-amd64").mkdir(parents=True)
    write_tree(tmp_path / "p", {"profile.toml": "[kernel]\nimage = 'latest'\nparams = ['quiet']\n"})
    k = profile.load(tmp_path / "p/profile.toml", Layout.for_root(root)).kernel
    assert k is not None
    assert k.version == "6.1.0-28-amd64"  # version order, not string order
    assert k.initrd == root / "boot/initrd.img-6.1.0-28-amd64"
    assert k.modules == root / "lib/modules/6.1.0-28-amd64"
    assert k.params == ("quiet",)


BASE = '[system]\nhostname = "fra1"\n'

# (name, files, what the one error line must say)
BAD: list[tuple[str, dict[str, str], str]] = [
    ("unknown top-level key", {"profile.toml": "[sytem]\nhostname = 'x'\n"},
     "sytem: unknown key"),
    ("unknown system key", {"profile.toml": "[system]\nhostnme = 'x'\n"},
     "[system].hostnme: unknown key"),
    ("unknown etc key", {"profile.toml": "[etc.motd]\nsourc = 'x'\n"},
     '[etc.motd].sourc: unknown key'),
    ("unknown service key", {"profile.toml": "[services.x]\nrestart_trigger = []\n"},
     "[services.x].restart_trigger: unknown key"),
    ("hostname wrong type", {"profile.toml": "[system]\nhostname = 5\n"},
     "[system] hostname: expected a string, got an integer"),
    ("bad hostname", {"profile.toml": "[system]\nhostname = 'fra_1!'\n"},
     "is not a valid host name"),
    ("missing source", {"profile.toml": BASE + "[etc.motd]\nsource = 'nope'\n"},
     "[etc.motd] source: nope ("),
    ("missing template", {"profile.toml": BASE + "[etc.motd]\ntemplate = 'nope.j2'\n"},
     "[etc.motd] template: nope.j2 ("),
    ("undefined variable, with line",
     {"profile.toml": BASE + "[etc.motd]\ntemplate = 't.j2'\n",
      "t.j2": "line one\n{{ ltnet_prefix_v6 }}\n"},
     "undefined template variable in"),
    ("template syntax error",
     {"profile.toml": BASE + "[etc.motd]\ntemplate = 't.j2'\n", "t.j2": "{% if %}\n"},
     "template syntax error in"),
    ("absolute etc path", {"profile.toml": BASE + "[etc.'/etc/motd']\ntext = 'x'\n"},
     "must be relative"),
    ("dotdot etc path", {"profile.toml": BASE + "[etc.'nginx/../../shadow']\ntext = 'x'\n"},
     "may not contain '..'"),
    ("two sources in one entry",
     {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\nsource = 'f'\n", "f": "x"},
     "two sources for one path (source and text)"),
    ("directory source overlaps a file entry",
     {"profile.toml": BASE + "[etc.'nginx/sites']\nsource = 'd'\n"
      "[etc.'nginx/sites/a.conf']\ntext = 'x'\n", "d/a.conf": "a"},
     "is also declared by"),
    ("file and directory",
     {"profile.toml": BASE + "[etc.a]\ntext = 'x'\n[etc.'a/b']\ntext = 'y'\n"},
     "is a file but"),
    ("bad mode", {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\nmode = '999'\n"},
     "mode: bad mode '999'"),
    ("integer mode", {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\nmode = 644\n"},
     "mode: bad mode 644"),
    ("import cycle", {"profile.toml": "imports = ['a.toml']\n", "a.toml": "imports = ['b.toml']\n",
                      "b.toml": "imports = ['a.toml']\n"},
     "import cycle"),
    ("missing import", {"profile.toml": "imports = ['nope.toml']\n"},
     "imports: nope.toml ("),
    ("unknown user", {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\nuser = 'www'\n"},
     "user 'www' does not exist in the target's /etc/passwd"),
    ("unknown group", {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\ngroup = 'www'\n"},
     "group 'www' does not exist in the target's /etc/group"),
    ("reserved static", {"profile.toml": BASE + "[etc.'static/x']\ntext = 'x'\n"},
     "/etc/static is reserved"),
    ("reserved PATH file", {"profile.toml": BASE + "[etc.'profile.d/genman.sh']\ntext = 'x'\n"},
     "/etc/profile.d/genman.sh is reserved"),
    ("trigger not managed",
     {"profile.toml": BASE + "[etc.motd]\ntext = 'x'\n[services.s]\nrestart_triggers = ['mtod']\n"},
     "'mtod' is not an /etc path this profile manages"),
    ("bad on_change", {"profile.toml": BASE + "[services.s]\non_change = 'bounce'\n"},
     "'bounce' is not one of restart, reload, none"),
    ("settle not a duration", {"profile.toml": BASE + "[services.s]\nsettle = 'soon'\n"},
     "[services.s] settle: 'soon' is not a duration"),
    ("settle a boolean", {"profile.toml": BASE + "[services.s]\nsettle = false\n"},
     "[services.s] settle: expected a duration"),
    ("settle too long", {"profile.toml": BASE + "[services.s]\nsettle = '2m'\n"},
     "[services.s] settle: '2m' is longer than 60 s"),
    ("backslash outside a unit directory",
     {"profile.toml": BASE + "[etc.'nginx/a\\x2db.conf']\ntext = 'x'\n"},
     "the /etc path contains '\\\\'"),
    ("missing package", {"profile.toml": BASE + "[packages]\nbird = '/nonexistent/bird'\n"},
     "/nonexistent/bird does not exist"),
    ("missing kernel image", {"profile.toml": BASE + "[kernel]\nimage = '/nonexistent/vmlinuz'\n"},
     "[kernel] image: /nonexistent/vmlinuz does not exist"),
    ("latest with no kernel", {"profile.toml": BASE + "[kernel]\nimage = 'latest'\n"},
     '"latest" found no vmlinuz-*'),
    ("init in params", {"profile.toml": BASE + "[kernel]\nimage = 'k'\nparams = ['init=/x']\n",
                        "k": "kernel"},
     "'init=/x' is set by genman"),
    ("quoted init in params",
     {"profile.toml": BASE + "[kernel]\nimage = 'k'\nparams = ['\"init=/x\"']\n", "k": "kernel"},
     "is set by genman"),
    ("newline in a param",
     {"profile.toml": BASE + "[kernel]\nimage = 'k'\nparams = [\"quiet\\noptions x\"]\n",
      "k": "kernel"}, "control character '\\n'"),
    ("two params in one item",
     {"profile.toml": BASE + "[kernel]\nimage = 'k'\nparams = ['quiet -- x']\n", "k": "kernel"},
     "is not one parameter"),
    ("hostname with a trailing newline", {"profile.toml": "[system]\nhostname = \"fra1\\n\"\n"},
     "is not a valid host name"),
    ("newline in description",
     {"profile.toml": "[system]\ndescription = \"x\\noptions init=/bin/sh\"\n"},
     "[system] description: contains the control character '\\n'"),
    ("control character in init", {"profile.toml": "[system]\ninit = \"/sbin/init\\r\"\n"},
     "[system] init: contains the control character '\\r'"),
    ("reserved genman dir", {"profile.toml": BASE + "[etc.'genman/profile.toml']\ntext = 'x'\n"},
     "/etc/genman is reserved"),
    ("file in place of a reserved parent",
     {"profile.toml": BASE + "[etc.'profile.d']\ntext = 'x'\n"},
     "/etc/profile.d must stay a directory"),
    ("source dir yields a reserved path",
     {"profile.toml": BASE + "[etc.'profile.d']\nsource = 'd'\n", "d/genman.sh": "evil"},
     "/etc/profile.d/genman.sh is reserved"),
    ("source dir yields the ledger",
     {"profile.toml": BASE + "[etc.genman]\nsource = 'd'\n", "d/ledger.json": "{}"},
     "/etc/genman is reserved"),
    ("source dir yields a quote",
     {"profile.toml": BASE + "[etc.app]\nsource = 'd'\n", "d/a'$(reboot)'": "x"},
     "the /etc path contains"),
    ("unit named like an option",
     {"profile.toml": BASE + "[services.s]\nunit = '--root=/x'\n"}, "bad unit name"),
    ("service named like an option",
     {"profile.toml": BASE + "[services.'--now']\n"}, "bad service name"),
    ("invalid TOML", {"profile.toml": "[system\nhostname = 'x'\n"}, "invalid TOML"),
    ("var shadows system", {"profile.toml": "[vars]\nsystem = 1\n"},
     "[vars] system: 'system' is a name genman gives templates"),
    ("entry without content", {"profile.toml": BASE + "[etc.motd]\nmode = '0644'\n"},
     "[etc.motd]: no content"),
    ("imports not a list", {"profile.toml": "imports = 'common.toml'\n"},
     "imports: expected an array of strings"),
    ("params not a list", {"profile.toml": BASE + "[kernel]\nimage = 'k'\nparams = 'quiet'\n",
                           "k": "kernel"},
     "[kernel] params: expected an array of strings"),
    ("package not executable", {"profile.toml": BASE + "[packages]\ntool = 'tool'\n", "tool": "x"},
     "is not executable"),
    ("package without bin", {"profile.toml": BASE + "[packages]\ntool = 'd'\n", "d/README": "x"},
     "has neither bin/ nor sbin/"),
    ("two packages, one binary",
     {"profile.toml": BASE + "[packages]\na = 'a'\nb = 'b'\n", "a/bin/x": "#!/bin/sh\n",
      "b/bin/x": "#!/bin/sh\n"},
     "bin/x is provided by both 'a' and 'b'"),
    ("unit file missing", {"profile.toml": BASE + "[services.s]\nunit_file = 'x.service'\n"},
     "unit_file: x.service ("),
    ("etc entry not a table", {"profile.toml": BASE + "[etc]\nmotd = 'hello'\n"},
     "expected a table"),
    ("quote in etc path", {"profile.toml": BASE + "[etc.\"it's\"]\ntext = 'x'\n"},
     "the /etc path contains \"'\""),
    ("unit file also an etc path",
     {"profile.toml": BASE + "[etc.'systemd/system/app.service']\ntext = 'x'\n"
      "[services.app]\nunit_file = 'app.service'\n", "app.service": "[Service]\n"},
     "/etc/systemd/system/app.service is also an [etc] path"),
]


@pytest.mark.parametrize("name,files,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_profile_is_refused_cleanly(
    name: str, files: dict[str, str], expected: str, tmp_path: Path, root: Path,
    genman: Callable[..., Run],
) -> None:
    write_tree(tmp_path / "p", files)
    for rel in files:  # executables in package dirs (the non-executable case keeps 0644)
        if "/bin/" in rel:
            os.chmod(tmp_path / "p" / rel, 0o755)
    before = tree_digest(root)
    r = genman("--root", root, "build", tmp_path / "p/profile.toml")
    assert r.code == 1, r.err
    error_lines = [ln for ln in r.err.splitlines() if ln.startswith("error:")]
    assert len(error_lines) == 1, r.err
    assert expected in error_lines[0], r.err
    assert "Traceback" not in r.err
    assert all(ln.startswith(("error:", "hint:")) for ln in r.err.splitlines()), r.err
    assert r.out == ""
    assert tree_digest(root) == before, "a refused profile wrote under the root"


def test_undefined_variable_names_template_line(tmp_path: Path, root: Path) -> None:
    write_tree(tmp_path / "p", {"profile.toml": BASE + "[etc.motd]\ntemplate = 't.j2'\n",
                                "t.j2": "a\nb\n{{ nope }}\n"})
    with pytest.raises(GenmanError) as e:
        profile.load(tmp_path / "p/profile.toml", Layout.for_root(root))
    assert "t.j2 line 3" in e.value.message
    assert "'nope' is undefined" in e.value.message
    assert "[vars]" in (e.value.hint or "")


def test_path_escaping_etc_through_a_link_is_refused(tmp_path: Path, root: Path) -> None:
    (root / "var").mkdir()
    os.symlink("/var", root / "etc/evil")
    write_tree(tmp_path / "p", {"profile.toml": BASE + "[etc.'evil/x']\ntext = 'x'\n"})
    with pytest.raises(GenmanError, match="resolves outside /etc"):
        profile.load(tmp_path / "p/profile.toml", Layout.for_root(root))


def test_link_inside_etc_is_fine(tmp_path: Path, root: Path) -> None:
    (root / "etc/real").mkdir()
    os.symlink("real", root / "etc/alias")
    write_tree(tmp_path / "p", {"profile.toml": BASE + "[etc.'alias/x']\ntext = 'x'\n"})
    assert profile.load(tmp_path / "p/profile.toml", Layout.for_root(root)).etc[0].path == "alias/x"


def test_missing_profile(tmp_path: Path, root: Path, genman: Callable[..., Run]) -> None:
    r = genman("--root", root, "build", tmp_path / "nope.toml")
    assert r.code == 1
    assert "profile" in r.err and "does not exist" in r.err
