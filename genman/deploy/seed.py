"""The first thing a deploy runs on a target: `python3 -c <this file> MODE ...`.

Standard library only, because it runs before the target has any genman: it checks that
python3 is new enough and that genman's Debian-packaged dependencies import, then runs the
genman the deploy shipped (a store path, see build.shipped_genman) with PYTHONPATH at that
path. MODE:

    facts ROOT STORE NAME     genman's facts, or a SEED_MARKER line: what is missing
    dryfacts ROOT STORE NAME  the same, writing no bytecode cache (a dry run)
    ship ROOT STORE NAME      stdin: a copy stream (copy.pack) holding only the genman path;
                              the genman in it receives itself into the store (unpacked in a
                              temporary directory first), then answers facts
    tmp ROOT STORE NAME ARGS  stdin: "<length>\\n", a copy stream of that length holding the
                              genman path, then the input for `genman --root ROOT ARGS`, run
                              from a temporary directory: a dry run leaves nothing behind

Exit code SEED_EXIT with a SEED_MARKER line on stdout: {"python": "3.9.2"} too old,
{"missing": [...]} modules that do not import, {"ship": true} the genman path is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import NoReturn

SEED_MARKER = "genman-seed: "
SEED_EXIT = 3
PYTHON_MIN = (3, 11)
# module -> the Debian package that provides it (debian/control's Depends)
MODULES = {"click": "python3-click", "jinja2": "python3-jinja2", "psutil": "python3-psutil",
           "pyudev": "python3-pyudev", "yaml": "python3-yaml"}


def genman_env(root: str, path: str, cache: bool = True) -> dict[str, str]:
    """The environment the shipped genman runs in (and every genman it starts: the confirm
    watcher). Its bytecode goes to a cache beside the state, never into the store path;
    without `cache` (a dry run) it is not written at all."""
    env = {"PYTHONPATH": path, "PYTHONSAFEPATH": "1"}
    if cache:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(root, "var/cache/genman/python")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _say(answer: dict[str, object]) -> int:
    sys.stdout.write(SEED_MARKER + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return SEED_EXIT


def _missing() -> dict[str, object] | None:
    if sys.version_info[:2] < PYTHON_MIN:
        return {"python": ".".join(map(str, sys.version_info[:3]))}
    missing = []
    for module in MODULES:
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - any failure to import is a missing dependency
            missing.append(module)
    return {"missing": missing} if missing else None


def _exec(root: str, path: str, args: list[str], cache: bool = True) -> NoReturn:
    os.execve(sys.executable, [sys.executable, "-m", "genman", "--root", root, *args],
              {**os.environ, **genman_env(root, path, cache)})


def _unpack(data: bytes, into: str) -> None:
    import io

    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # Python before 3.11.4
            tar.extractall(into)  # the deployer's own stream, over its own ssh


def _run_unpacked(root: str, name: str, data: bytes, args: list[str], stdin: bytes) -> int:
    tmp = tempfile.mkdtemp(prefix="genman-seed-")
    try:
        _unpack(data, tmp)
        env = {**os.environ, **genman_env(root, os.path.join(tmp, name), cache=False)}
        return subprocess.run([sys.executable, "-m", "genman", "--root", root, *args],
                              input=stdin, env=env, check=False).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    mode, root, store, name, *args = argv
    missing = _missing()
    if missing is not None:
        return _say(missing)
    path = os.path.join(store, name)
    if mode in ("facts", "dryfacts"):
        if not os.path.isdir(path):
            return _say({"ship": True})
        _exec(root, path, ["remote", "facts"], cache=mode == "facts")
    data = sys.stdin.buffer.read()
    if mode == "ship":
        code = _run_unpacked(root, name, data, ["remote", "receive"], data)
        if code != 0:
            return code
        _exec(root, path, ["remote", "facts"])
    length, _, rest = data.partition(b"\n")
    n = int(length)
    return _run_unpacked(root, name, rest[:n], args, rest[n:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
