"""The profile's [health] table: parsed, merged across imports, refused when wrong (one
error naming file, key and fix, nothing written), and carried in the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genman import generation, profile
from genman.errors import GenmanError
from genman.health.config import Check, HealthConfig, parse_duration
from genman.layout import Layout
from genman.manifest import Manifest
from tests.conftest import Run

BASE = '[system]\nhostname = "sandbox"\n'

HEALTH = BASE + """
[health]
boot_timeout = "2m"
tries = 4

[health.checks.ssh]
command = ["sh", "-c", "true"]
timeout = "10s"

[health.checks.gateway]
command = ["/bin/ping", "-c1", "192.0.2.1"]
required = false
"""


def load(tmp_path: Path, root: Path, text: str, extra: dict[str, str] | None = None) -> Any:
    for name, body in (extra or {}).items():
        (tmp_path / name).write_text(body)
    p = tmp_path / "profile.toml"
    p.write_text(text)
    return profile.load(p, Layout.for_root(root))


@pytest.fixture
def ping(root: Path) -> Path:
    (root / "bin").mkdir(exist_ok=True)
    p = root / "bin/ping"
    p.write_text("#!/bin/sh\n")
    p.chmod(0o755)
    return p


def test_health_table_parses(tmp_path: Path, root: Path, ping: Path) -> None:
    h = load(tmp_path, root, HEALTH).sections.get("health")
    assert h == HealthConfig(
        boot_timeout=120.0, tries=4,
        checks=(Check("gateway", ("/bin/ping", "-c1", "192.0.2.1"), 30.0, False),
                Check("ssh", ("sh", "-c", "true"), 10.0, True)),
    )
    assert [c.name for c in h.required] == ["ssh"]


def test_no_health_table_is_none(tmp_path: Path, root: Path) -> None:
    assert load(tmp_path, root, BASE).sections.get("health") is None


def test_imports_merge_key_by_key(tmp_path: Path, root: Path, ping: Path) -> None:
    """[health] keys merge one by one; a later `checks` table replaces the earlier one."""
    common = HEALTH.replace(BASE, "")
    text = 'imports = ["common.toml"]\n' + BASE + """
[health]
tries = 2
[health.checks.ssh]
command = ["true"]
timeout = "3s"
"""
    h = load(tmp_path, root, text, {"common.toml": common}).sections.get("health")
    assert h.tries == 2 and h.boot_timeout == 120.0
    assert h.checks == (Check("ssh", ("true",), 3.0, True),)


@pytest.mark.parametrize(("body", "words"), [
    ('[health]\nboot_timeot = "5m"\n', ["[health] boot_timeot", "unknown key",
                                          "boot_timeout"]),
    ('[health.checks.ssh]\ncommand = ["true"]\ntimout = "1s"\n',
     ["[health.checks.ssh] timout", "unknown key", "timeout"]),
    ('[health.checks.ssh]\ncommand = ["/usr/bin/nonesuch"]\n',
     ["[health.checks.ssh] command", "/usr/bin/nonesuch does not exist"]),
    ('[health.checks.ssh]\ncommand = ["true"]\ntimeout = "0s"\n',
     ["[health.checks.ssh] timeout", "not a positive duration"]),
    ('[health.checks.ssh]\ncommand = ["true"]\ntimeout = "-5s"\n',
     ["[health.checks.ssh] timeout", "is not a duration"]),
    ('[health.checks.ssh]\ncommand = ["true"]\ntimeout = "soon"\n',
     ["[health.checks.ssh] timeout", "'soon' is not a duration"]),
    ('[health]\nboot_timeout = 0\n', ["[health] boot_timeout", "positive"]),
    ('[health]\ntries = 0\n', ["[health] tries", "1 to 9"]),
    ('[health]\ntries = true\n', ["[health] tries"]),
    ('[health.checks.ssh]\ntimeout = "1s"\n', ["[health.checks.ssh]", "no command"]),
    ('[health.checks.ssh]\ncommand = "ss -ltn"\n', ["command", "array of strings"]),
    ('[health.checks.ssh]\ncommand = []\n', ["command", "non-empty array"]),
    ('[health.checks.ssh]\ncommand = ["true"]\nrequired = "yes"\n', ["required", "true or false"]),
    ('[health]\nchecks = 3\n', ["[health] checks", "table of checks"]),
])
def test_bad_health_is_one_clear_error(tmp_path: Path, root: Path, body: str,
                                        words: list[str]) -> None:
    with pytest.raises(GenmanError) as e:
        load(tmp_path, root, BASE + body)
    text = f"{e.value.message} {e.value.hint}"
    assert "profile.toml" in e.value.message
    assert e.value.hint
    for w in words:
        assert w in text


def test_bad_health_writes_nothing(tmp_path: Path, root: Path,
                                   genman: Callable[..., Run]) -> None:
    p = tmp_path / "profile.toml"
    p.write_text(BASE + '[health.checks.x]\ncommand = ["true"]\ntimeout = "never"\n')
    before = sorted(str(x) for x in root.rglob("*"))
    r = genman("--root", root, "--bootloader", "none", "build", p)
    assert r.code == 1
    assert "[health.checks.x] timeout" in r.err and "hint:" in r.err
    assert sorted(str(x) for x in root.rglob("*")) == before


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10.0), ("5m", 300.0), ("1.5h", 5400.0), ("250ms", 0.25), (30, 30.0), ("2", 2.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_health_goes_into_the_manifest_and_round_trips(tmp_path: Path, root: Path,
                                                       ping: Path) -> None:
    layout = Layout.for_root(root)
    prof = load(tmp_path, root, HEALTH)
    generation.build(prof, layout, lambda _: None)
    m = generation.manifest_of(layout, 1)
    assert m.health == prof.sections.get("health")
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert Manifest.from_json(m.to_json()).health == prof.sections.get("health")


def test_a_profile_without_health_keeps_its_manifest_unchanged(tmp_path: Path,
                                                              root: Path) -> None:
    """No [health] key in the manifest: generations built before stay the same build."""
    layout = Layout.for_root(root)
    generation.build(load(tmp_path, root, BASE), layout, lambda _: None)
    assert "health" not in generation.manifest_of(layout, 1).to_dict()
