"""The deploying genman on a target that may have none: the facts step through the seed
(seed.py), which ships genman as a store path the first time, and, for a dry run, genman
run from a temporary directory on the target so that nothing stays behind."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Sequence
from typing import IO

from genman.deploy import copy, seed
from genman.deploy import facts as facts_mod
from genman.deploy.build import Shipped
from genman.deploy.ssh import Connection, remote_failure, seed_failure
from genman.errors import GenmanError
from genman.process import Result

Say = Callable[[str, str], None]


def _seed_answer(result: Result, what: str) -> dict[str, object] | None:
    """The seed's marker line, if it answered with one; a missing python3 raises."""
    if result.returncode == 127:
        raise remote_failure(result, what, shipped=True)
    if result.returncode != seed.SEED_EXIT or not result.stdout.startswith(seed.SEED_MARKER):
        return None
    try:
        answer = json.loads(result.stdout[len(seed.SEED_MARKER):])
    except ValueError:
        raise GenmanError(f"{what}: the target's seed answered {result.stdout!r}") from None
    return answer if isinstance(answer, dict) else {}


def _pack(shipped: Shipped, out: IO[bytes]) -> None:
    copy.pack(shipped.dir, [shipped.name], out)


def facts(conn: Connection, shipped: Shipped, dry_run: bool,
          say: Say) -> tuple[facts_mod.Facts, bool]:
    """The target's facts, and whether the shipped genman is in its store now. Where it
    is not, a real deploy ships it (one more round trip, once per genman version); a dry
    run runs it from a temporary directory instead."""
    result = conn.run(conn.seed("facts"), what="facts", timeout=120)
    answer = _seed_answer(result, "facts")
    if answer is None:
        return facts_mod.parse(result, shipped=True), True
    if not answer.get("ship"):
        raise seed_failure(answer, "facts")
    if dry_run:
        return facts_mod.parse(unpacked(conn, shipped, ["remote", "facts"], b"", "facts"),
                               shipped=True), False
    say(conn.host.name, f"shipping {shipped.name.split('-', 1)[1]}")
    with tempfile.TemporaryFile() as stream:
        _pack(shipped, stream)
        stream.seek(0)
        result = conn.run(conn.seed("ship"), what="shipping genman", stdin=stream,
                          timeout=600)
    answer = _seed_answer(result, "shipping genman")
    if answer is not None:
        raise seed_failure(answer, "shipping genman")
    return facts_mod.parse(result, shipped=True), True


def unpacked(conn: Connection, shipped: Shipped, args: Sequence[str], data: bytes,
             what: str) -> Result:
    """`genman ARGS` with `data` on stdin, run from a temporary copy of the shipped genman
    on the target (the seed's tmp mode): nothing is left on the target."""
    buf = io.BytesIO()
    _pack(shipped, buf)
    body = buf.getvalue()
    with tempfile.TemporaryFile() as stream:
        stream.write(f"{len(body)}\n".encode() + body + data)
        stream.seek(0)
        result = conn.run(conn.seed("tmp", *args), what=what, stdin=stream, timeout=600)
    answer = _seed_answer(result, what)
    if answer is not None:
        raise seed_failure(answer, what)
    return result
