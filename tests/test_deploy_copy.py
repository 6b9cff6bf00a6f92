"""The copy stream: digests, a complete copy, a cut one, a tampered one; ssh argv."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from genman.deploy.copy import pack, path_digest, receive
from genman.deploy.hosts import Host
from genman.deploy.ssh import Connection
from genman.errors import GenmanError

A = "0" * 32 + "-etc-bird"
B = "1" * 32 + "-motd"


def make_store(tmp: Path) -> Path:
    src = tmp / "src"
    (src / A / "sub").mkdir(parents=True)
    (src / A / "sub/bird.conf").write_text("router id 1;\n" * 1000)
    os.symlink("/var/lib/genman/store/" + B, src / A / "motd")
    (src / B).write_text("hi\n")
    os.chmod(src / B, 0o444)
    return src


def stream_of(src: Path, names: list[str]) -> bytes:
    buf = io.BytesIO()
    pack(src, names, buf)
    return buf.getvalue()


def test_copy_arrives_whole_with_the_same_digest(tmp_path: Path) -> None:
    src = make_store(tmp_path)
    dst = tmp_path / "dst"
    made = receive(dst, io.BytesIO(stream_of(src, [A, B])))
    assert sorted(made) == [A, B]
    assert path_digest(dst / A) == path_digest(src / A)
    assert os.readlink(dst / A / "motd") == "/var/lib/genman/store/" + B
    assert sorted(os.listdir(dst)) == [A, B]  # no staging left


def test_cut_copy_leaves_nothing(tmp_path: Path) -> None:
    src = make_store(tmp_path)
    data = stream_of(src, [A, B])
    last = data.index(b"hi\n")  # inside the last path's content
    for cut in (100, data.index(b"router id"), last + 1):
        dst = tmp_path / f"dst{cut}"
        with pytest.raises(GenmanError, match=r"broke off|damaged"):
            receive(dst, io.BytesIO(data[:cut]))
        assert os.listdir(dst) == []


def test_tampered_copy_is_refused(tmp_path: Path) -> None:
    src = make_store(tmp_path)
    data = stream_of(src, [A, B]).replace(b"router id 1;", b"router id 2;", 1)
    with pytest.raises(GenmanError, match="arrived damaged"):
        receive(tmp_path / "dst", io.BytesIO(data))
    assert os.listdir(tmp_path / "dst") == []


def test_confirm_never_rides_the_shared_connection(tmp_path: Path) -> None:
    host = Host("fra1", "192.0.2.1", tmp_path / "p.toml", port=2222, ssh_user="root",
                ssh_options=("-o", "ControlMaster=yes"), root="/mnt")
    conn = Connection(host, tmp_path)
    argv = conn.argv(conn.genman("confirm"), fresh=True)
    # ssh takes the first value given: ours must come before the user's options
    assert argv[:5] == ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=none"]
    assert not any(a.startswith("ControlPath=" + str(tmp_path)) for a in argv)
    assert argv[-2:] == ["192.0.2.1", "genman --root /mnt confirm"]
    shared = conn.argv(conn.genman("remote", "facts"))
    assert f"ControlPath={tmp_path}/%C" in shared and "ControlMaster=no" not in shared
    assert shared[shared.index("-p") + 1] == "2222" and "-l" in shared


def test_remote_command_is_quoted(tmp_path: Path) -> None:
    host = Host("x", "x", tmp_path / "p.toml", root="/srv/my root; rm -rf /")
    conn = Connection(host, tmp_path)
    assert conn.argv(conn.genman("remote", "facts"))[-1] == (
        "genman --root '/srv/my root; rm -rf /' remote facts")


def test_remote_failures_read_as_one_line() -> None:
    from genman.deploy.ssh import remote_failure
    from genman.process import Result

    e = remote_failure(Result(("ssh",), 127, "", "sh: 1: genman: not found\n"), "facts")
    assert e.message == "facts: genman (or python3) is not installed on the target"
    tb = ("Traceback (most recent call last):\n  File ...\n"
          "ModuleNotFoundError: No module named 'jinja2'\n")
    e = remote_failure(Result(("ssh",), 1, "", tb), "facts")
    assert e.message == ("facts: the target's python3 lacks the module jinja2: "
                         "apt-get install python3-jinja2")
    e = remote_failure(Result(("ssh",), 127, "", "sh: 1: python3: not found\n"), "facts",
                       shipped=True)
    assert e.message == ("facts: python3 is not installed on the target: apt-get install "
                         "python3 python3-click python3-jinja2 python3-psutil python3-pyudev "
                         "python3-yaml")
    e = remote_failure(Result(("ssh",), 1, "", "error: store path x is missing\nhint: y\n"),
                       "activate")
    assert e.message == "activate: store path x is missing"


def test_the_shipped_genman_runs_from_its_store_path(tmp_path: Path) -> None:
    host = Host("fra1", "192.0.2.1", tmp_path / "p.toml", root="/mnt", python="/usr/bin/python3")
    name = "0" * 32 + "-genman-0.1.0"
    conn = Connection(host, tmp_path, shipped=name)
    path = f"/mnt/var/lib/genman/store/{name}"
    assert conn.genman("remote", "facts") == [
        "env", "PYTHONPATH=" + path, "PYTHONPYCACHEPREFIX=/mnt/var/cache/genman/python",
        "PYTHONSAFEPATH=1", "/usr/bin/python3", "-m", "genman", "--root", "/mnt", "remote",
        "facts"]
    dry = Connection(host, tmp_path, shipped=name, dry=True)
    assert "PYTHONDONTWRITEBYTECODE=1" in dry.genman("confirm")
    seed = conn.seed("facts")
    assert seed[:2] == ["/usr/bin/python3", "-c"]
    assert seed[3:] == ["facts", "/mnt", "/mnt/var/lib/genman/store", name]
    assert dry.seed("facts")[3] == "dryfacts"
