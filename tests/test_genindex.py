"""The summary index is a cache: list-generations shows the same with it, without it,
with a torn or stale one, and a damaged store path shows as damaged whatever it says."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from genman import generation, genindex
from genman.layout import Layout
from tests.conftest import Run
from tests.helpers import PROFILE


def _three(example: Path, root: Path, genman: Callable[..., Run]) -> Layout:
    for i in range(3):
        example.write_text(PROFILE.replace("idx = 3", f"idx = {i + 3}")
                           .replace('"edge router"', f'"router {i}"'))
        assert genman("--root", root, "--bootloader", "none", "build", example).code == 0
    return Layout.for_root(root)


def test_every_build_rewrites_the_index(example: Path, root: Path,
                                        genman: Callable[..., Run]) -> None:
    layout = _three(example, root, genman)
    index = json.loads(layout.host(layout.generations_index).read_text())
    tops = {generation.toplevel_of(layout, n) for n in (1, 2, 3)}
    assert set(index["entries"]) == tops
    assert {e[3]["description"] for e in index["entries"].values()} == {
        "router 0", "router 1", "router 2"}


def test_listing_is_the_same_with_a_missing_torn_or_lying_index(
        example: Path, root: Path, genman: Callable[..., Run]) -> None:
    layout = _three(example, root, genman)
    path = layout.host(layout.generations_index)
    want = genman("--root", root, "list-generations", "--json").out
    path.unlink()
    assert genman("--root", root, "list-generations", "--json").out == want
    assert path.exists()  # a reader that may write puts it back
    path.write_text('{"version": 1, "entries": {')
    assert genman("--root", root, "list-generations", "--json").out == want
    # an entry whose summary.json no longer stats the same is not used
    data = json.loads(path.read_text())
    top = generation.toplevel_of(layout, 2)
    data["entries"][top][3]["description"] = "a lie"
    data["entries"][top][1] += 1  # size
    path.write_text(json.dumps(data))
    assert genman("--root", root, "list-generations", "--json").out == want


def test_a_damaged_store_path_shows_though_the_index_knew_it(
        example: Path, root: Path, genman: Callable[..., Run]) -> None:
    layout = _three(example, root, genman)
    summary = layout.host(layout.store_path(generation.toplevel_of(layout, 1))) / "summary.json"
    os.chmod(summary.parent, 0o755)
    summary.unlink()
    r = genman("--root", root, "list-generations", "--json")
    rows = {row["number"]: row for row in json.loads(r.out)}
    assert rows[1]["description"] == "(damaged: summary unreadable)"
    assert rows[2]["description"] == "router 1"


def test_a_removed_generation_is_not_listed_from_the_index(
        example: Path, root: Path, genman: Callable[..., Run]) -> None:
    layout = _three(example, root, genman)
    os.unlink(layout.host(layout.generation(2)))  # behind genman's back
    assert [g.number for g in generation.list_generations(layout)] == [1, 3]
    tops = {generation.toplevel_of(layout, n) for n in (1, 3)}
    assert set(genindex.summaries(layout, sorted(tops))) == tops


def test_the_index_is_what_is_read(example: Path, root: Path,
                                   genman: Callable[..., Run]) -> None:
    """An entry whose summary.json stats the same is used without reading the file: the
    point of the index (so a lie with the right stat shows; only genman writes either)."""
    layout = _three(example, root, genman)
    path = layout.host(layout.generations_index)
    data = json.loads(path.read_text())
    data["entries"][generation.toplevel_of(layout, 2)][3]["description"] = "from the index"
    path.write_text(json.dumps(data))
    assert "from the index" in genman("--root", root, "list-generations").out
