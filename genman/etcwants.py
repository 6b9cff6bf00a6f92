"""What a generation's /etc holds, and how: the words the activation plan and the
generation's own `activate` script share (so both make the same /etc)."""

from __future__ import annotations

from dataclasses import dataclass

from genman.errors import GenmanError
from genman.layout import Layout
from genman.ledger import check_path
from genman.manifest import Manifest
from genman.services import unit_file_name

UNIT_DIR = "systemd/system"

# /etc/profile.d/genman.sh: the active generation's programs on PATH for login shells.
PATH_PROFILE = """\
# Written by genman: the active generation's programs on PATH. Do not edit.
for _genman_d in /run/genman/active/sw/bin /run/genman/active/sw/sbin; do
  case ":$PATH:" in
    *":$_genman_d:"*) ;;
    *) PATH="$_genman_d:$PATH" ;;
  esac
done
unset _genman_d
export PATH
"""


@dataclass(frozen=True, slots=True)  # one per /etc file: 10,000s of them
class LinkWant:
    target: str


@dataclass(frozen=True, slots=True)  # one per /etc file: 10,000s of them
class CopyWant:
    store: str  # store name
    mode: int
    uid: int
    gid: int


Want = LinkWant | CopyWant


def static_target(toplevel: str) -> str:
    return str(Layout.store_dir / toplevel / "etc")


def desired_etc(manifest: Manifest) -> dict[str, Want]:
    """Every /etc path (relative) a generation puts in place, and how."""
    want: dict[str, Want] = {}
    static = str(Layout.etc_static)  # strings, not PurePosixPath: 10,000 paths per switch
    for path, e in manifest.etc.items():
        check_path(path)
        if e.is_copy:
            want[path] = CopyWant(e.store, e.mode if e.mode is not None else 0o644,
                                  e.uid or 0, e.gid or 0)
        else:
            want[path] = LinkWant(f"{static}/{path}")
    for path, s in manifest.secrets.items():
        check_path(path)
        if path in want:
            raise GenmanError(f"/etc/{path} is both an [etc] file and a [secrets] file",
                              hint="declare it in one place only")
        want[path] = CopyWant(s.name, s.mode, s.uid, s.gid)
    for name, svc in sorted(manifest.services.items()):
        if not svc.unit_file:
            continue
        path = f"{UNIT_DIR}/{unit_file_name(svc)}"
        check_path(path)
        if path in want:
            raise GenmanError(
                f"/etc/{path} is both an [etc] file and the unit file of [services.{name}]",
                hint="declare the unit either as unit_file or under [etc], not both",
            )
        want[path] = LinkWant(str(Layout.store_dir / svc.unit_file))
    return want


def touched_paths(*manifests: Manifest | None) -> set[str]:
    """The /etc paths a probe must look at for these generations."""
    out: set[str] = set()
    for m in manifests:
        if m is not None:
            out.update(desired_etc(m))
    return out


def copy_sources(*manifests: Manifest | None) -> set[str]:
    return {w.store for m in manifests if m is not None
            for w in desired_etc(m).values() if isinstance(w, CopyWant)}
