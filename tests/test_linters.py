"""Linters run as tests, so the test command is the one gate."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shell_scripts() -> list[Path]:
    found = []
    for p in sorted(REPO.rglob("*")):
        if not p.is_file() or ".venv" in p.parts or ".git" in p.parts:
            continue
        if p.suffix == ".sh" or (p.parent.name == "tools" and p.suffix == ""):
            found.append(p)
        elif p.suffix == "" and p.stat().st_size < 200_000:
            with open(p, "rb") as f:
                if f.read(32).startswith((b"#!/bin/sh", b"#!/usr/bin/env sh")):
                    found.append(p)
    return found


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff() -> None:
    r = run([sys.executable, "-m", "ruff", "check", "genman", "tests", "vm-tests", "bench"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict() -> None:
    r = run([sys.executable, "-m", "mypy"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_shell_scripts_pass_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed: tools/bootstrap.sh --test installs it")
    scripts = shell_scripts()
    assert scripts, "found no shell scripts: the finder is broken"
    with_shebang = [p for p in scripts if p.read_bytes().startswith(b"#!")]
    bare = [p for p in scripts if p not in with_shebang]  # sourced fragments: POSIX sh
    for shell_args, group in (([], with_shebang), (["--shell=sh"], bare)):
        if group:
            r = run(["shellcheck", "--severity=warning", *shell_args, *map(str, group)])
            assert r.returncode == 0, r.stdout + r.stderr
