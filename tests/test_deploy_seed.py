"""The seed (genman/deploy/seed.py), run as a deploy runs it on a target: `python3 -c`
with Debian's python3, which has genman's dependencies and no genman."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from genman.deploy import copy, seed
from genman.deploy.build import LocalStore, Shipped
from genman.deploy.copy import path_digest

PYTHON = "/usr/bin/python3"
SOURCE = Path(seed.__file__).read_text()
REPO = Path(__file__).resolve().parent.parent
# as sshd starts a session: nothing of this test's environment says how to write bytecode
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shipped:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store = LocalStore(tmp_path / "cache")
    try:
        return store.shipped()  # a path in the store, which outlives the LocalStore
    finally:
        store.close()


def run_seed(python: str, mode: str, root: Path, name: str, *args: str, data: bytes = b"",
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    store = root / "var/lib/genman/store"
    return subprocess.run([python, "-c", SOURCE, mode, str(root), str(store), name, *args],
                          input=data, capture_output=True, cwd="/", timeout=120,
                          env={**BASE_ENV, "TMPDIR": str(root.parent / "tmp"), **(env or {})},
                          check=False)


def answer(r: subprocess.CompletedProcess[bytes]) -> object:
    assert r.returncode == seed.SEED_EXIT, r.stderr
    out = r.stdout.decode()
    assert out.startswith(seed.SEED_MARKER)
    return json.loads(out[len(seed.SEED_MARKER):])


def target(tmp: Path) -> Path:
    root = tmp / "target"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("fra1\n")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (tmp / "tmp").mkdir()
    return root


def test_modules_are_debian_controls_dependencies() -> None:
    control = (REPO / "debian/control").read_text()
    package = control.split("Package: genman", 1)[1]
    deps = set(re.findall(r"python3-[a-z0-9]+", package.split("Suggests:", 1)[0]))
    assert deps == set(seed.MODULES.values())


def test_missing_genman_asks_to_be_shipped(tmp_path: Path) -> None:
    root = target(tmp_path)
    assert answer(run_seed(PYTHON, "facts", root, "0" * 32 + "-genman-0.1.0")) == {"ship": True}


def test_missing_modules_are_named(tmp_path: Path) -> None:
    root = target(tmp_path)
    blocker = tmp_path / "blocker"
    for module in ("click", "psutil"):
        (blocker / module).mkdir(parents=True)
        (blocker / module / "__init__.py").write_text("raise ImportError('no')\n")
    r = run_seed(PYTHON, "facts", root, "x", env={"PYTHONPATH": str(blocker)})
    assert answer(r) == {"missing": ["click", "psutil"]}


def test_ship_receives_genman_into_the_store_then_answers_facts(
        tmp_path: Path, shipped: Shipped) -> None:
    root = target(tmp_path)
    buf = io.BytesIO()
    copy.pack(shipped.dir, [shipped.name], buf)
    r = run_seed(PYTHON, "ship", root, shipped.name, data=buf.getvalue())
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hostname"] == "fra1"
    store = root / "var/lib/genman/store"
    assert path_digest(store / shipped.name) == path_digest(shipped.dir / shipped.name)
    assert os.listdir(tmp_path / "tmp") == []  # the unpacked copy is gone
    # bytecode goes to the cache beside the state, never into the store path
    assert not list((store / shipped.name).rglob("__pycache__"))
    assert (root / "var/cache/genman/python").is_dir()
    # from now on facts come in one call
    r = run_seed(PYTHON, "facts", root, shipped.name)
    assert r.returncode == 0 and json.loads(r.stdout)["hostname"] == "fra1"


def test_tmp_runs_genman_and_leaves_nothing(tmp_path: Path, shipped: Shipped) -> None:
    root = target(tmp_path)
    before = sorted(str(p) for p in root.rglob("*"))
    buf = io.BytesIO()
    copy.pack(shipped.dir, [shipped.name], buf)
    body = buf.getvalue()
    r = run_seed(PYTHON, "tmp", root, shipped.name, "remote", "facts",
                 data=f"{len(body)}\n".encode() + body)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["users"] == {"root": 0}
    assert sorted(str(p) for p in root.rglob("*")) == before
    assert os.listdir(tmp_path / "tmp") == []
