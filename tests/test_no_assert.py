"""genman's runtime checks raise GenmanError: an `assert` vanishes under `python -O`."""

from __future__ import annotations

import ast
from pathlib import Path

import genman

PACKAGE = Path(genman.__file__).parent


def asserts_in(source: str) -> list[int]:
    return [n.lineno for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assert)]


def test_the_scan_finds_an_assert() -> None:
    assert asserts_in("def f(x):\n    if x:\n        assert x > 1\n") == [3]


def test_no_assert_in_genman() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 20, paths
    found = {str(p.relative_to(PACKAGE)): asserts_in(p.read_text()) for p in paths}
    assert {p: lines for p, lines in found.items() if lines} == {}
