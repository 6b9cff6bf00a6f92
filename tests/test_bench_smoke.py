"""The benchmark runs end to end (`bench/run.py --quick --tiny`): every item, both Nix
peers and Ansible, on toy sizes. Only that it runs and reports is checked: figures are
never asserted (speed is measured in bench/, on a quiet machine)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO, env


def test_quick_bench_runs_every_item(tmp_path: Path) -> None:
    for tool in ("nix-build", "nix-store", "nix-env", "ansible-playbook"):
        assert shutil.which(tool), f"{tool} is missing: apt install nix-bin ansible-core"
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "bench/run.py", "--quick", "--tiny",
                        "--workdir", str(tmp_path / "work"), "--outdir", str(out)],
                       cwd=REPO, env=env(), capture_output=True, text=True, check=False,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "FAILED" not in r.stdout
    [result] = out.glob("results-tiny-*.json")
    data = json.loads(result.read_text())
    keys = {row["key"] for row in data["rows"]}
    assert {"build-cold", "rebuild-1", "rebuild-0", "switch-30", "list", "prune",
            "growth-noop-40", "small-cold", "small-noop", "small-edit", "small-edit-fair"} <= keys
    peers = {row["key"]: row["peer"] for row in data["rows"]}
    for key in ("build-cold", "list", "prune", "small-noop", "small-edit-fair", "switch-30"):
        assert peers[key] is not None and peers[key]["seconds"], key  # the peer really ran
