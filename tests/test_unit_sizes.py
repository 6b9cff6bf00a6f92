"""Units stay small enough to read: no module of genman/ over 400 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

import genman

PACKAGE = Path(genman.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    found = sorted(PACKAGE.rglob("*.py"))
    assert len(found) > 20, found  # the scan did find genman's modules
    return found


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function (methods and nested ones too) over the limit."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                out.append((node.name, lines))
    return out


def test_the_function_check_finds_a_long_function() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"def f():\n{body[: body.rindex('    x')]}") == []


def test_no_module_over_400_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules()}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_over_60_lines() -> None:
    found = {str(p.relative_to(PACKAGE)): long_functions(p.read_text()) for p in modules()}
    assert {p: f for p, f in found.items() if f} == {}
