"""Every path genman touches, derived from one root.

Two kinds of path live here and must not be mixed:
- *target paths* (PurePosixPath, absolute): how a path looks from inside the target system.
  These are what genman writes into links, init= options and scripts.
- *host paths* (Path): where that target path is on the machine genman runs on, i.e. under
  `--root`. These are what genman opens.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from genman.errors import GenmanError

STATE_DIR = PurePosixPath("/var/lib/genman")
RUN_DIR = PurePosixPath("/run/genman")
ETC = PurePosixPath("/etc")
DEFAULT_PROFILE = PurePosixPath("/etc/genman/profile.toml")

# Paths under /etc that genman itself owns; a profile may not declare them, anything below
# them, or a file where one of their parent directories must be.
RESERVED_ETC = ("static", "genman", "profile.d/genman.sh")

# Paths go into the ledger and into sh scripts: refuse what would need quoting.
_UNQUOTABLE = re.compile("[\"\\\\'\x00-\x1f\x7f\x85\u2028\u2029]")
# systemd's unit directories, where a unit name may carry systemd-escape's `\xNN`
# (`srv-foo\x2dbar.mount`, `dev-disk-by\x2dlabel-x.swap`). Those are the only backslashes
# allowed in an /etc path: the ledger writes each as JSON's `\\` and the boot-time
# activate script turns it back.
UNIT_DIRS = ("systemd/system/", "systemd/user/")
_UNIT_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}")
_ESCAPED_NAME = re.compile(r"(?:[A-Za-z0-9:_.@-]|\\x[0-9a-fA-F]{2})+")
# File names and whole paths the kernel refuses (NAME_MAX, PATH_MAX less "/etc/").
NAME_MAX = 255
PATH_MAX = 4096 - 5
# A name a profile puts in /etc leaves room for what genman adds to it while it switches:
# `.genman-tmp-<12 hex>-` before it, `.genman-backup-<time>` after it.
ETC_NAME_MAX = NAME_MAX - 32


def etc_path_problem(path: object, reserved: bool = True) -> str | None:
    """Why `path` (relative to /etc) is not a path genman may manage, or None. The one check
    for profile entries, every file a source directory yields, and ledger entries before
    anything is deleted by them. `reserved` (a path a profile declares): genman's own paths
    are refused, and each name must leave room for genman's temp and backup names."""
    if not isinstance(path, str) or not path:
        return "the /etc path must be a non-empty string"
    if path.startswith("/"):
        return "the /etc path must be relative (no leading /)"
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:  # list lookups: 10,000 calls a build
        return "the /etc path may not contain '..', '.' or empty parts"
    if "\\" in path and path.startswith(UNIT_DIRS) and all(
            _ESCAPED_NAME.fullmatch(p) for p in parts if "\\" in p):
        m = _UNQUOTABLE.search(_UNIT_ESCAPE.sub("", path))
    else:
        m = _UNQUOTABLE.search(path)
    if m:
        return (f"the /etc path contains {m.group()!r} (quotes, backslashes and control "
                "characters are not supported; a systemd unit name under systemd/system/ may "
                "hold \\xNN escapes)")
    size = len(path.encode())  # names are scanned only when the whole path could hold a long one
    if size > PATH_MAX or (size > NAME_MAX and any(len(p.encode()) > NAME_MAX for p in parts)):
        return "the /etc path or one of its names is too long"
    if reserved and size > ETC_NAME_MAX and any(len(p.encode()) > ETC_NAME_MAX for p in parts):
        return (f"a name in the /etc path is longer than {ETC_NAME_MAX} bytes (file names "
                f"are limited to {NAME_MAX}, and genman adds up to {NAME_MAX - ETC_NAME_MAX} "
                "to a name while it switches)")
    for own in RESERVED_ETC if reserved else ():
        if path == own or path.startswith(own + "/"):
            return f"/etc/{own} is reserved for genman itself"
        if own.startswith(path + "/"):
            return f"/etc/{path} must stay a directory: genman keeps /etc/{own} in it"
    return None


def resolve_in_root(root: Path, rel: PurePosixPath) -> PurePosixPath:
    """Resolve a target path as the target would, following links inside `root`."""
    parts = list(rel.parts)
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "/", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise OSError("too many levels of symbolic links")
            link = os.readlink(candidate)
            if link.startswith("/"):
                resolved = []
            parts = list(PurePosixPath(link).parts) + parts
            continue
        resolved.append(part)
    return PurePosixPath("/", *resolved)


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def for_root(cls, root: str | Path = "/") -> Layout:
        return cls(Path(root).absolute())

    @property
    def is_live(self) -> bool:
        """True when genman operates on the running system rather than a tree under --root."""
        return self.root == Path("/")

    def host(self, target: PurePosixPath | str) -> Path:
        """The host path of a target path."""
        rel = str(target).lstrip("/")
        return self.root / rel if rel else self.root

    def target(self, host_path: Path) -> PurePosixPath:
        """The target path of a host path under the root."""
        return PurePosixPath("/") / host_path.relative_to(self.root)

    def resolve(self, target: PurePosixPath | str) -> Path:
        """The host path of `target` with every link on the way followed as the target
        would follow it: an absolute link names a path under the root, `..` stops at the
        root. Never a path outside the root (a /boot/vmlinuz-* link to a file of the
        building machine finds the target's file of that name, or nothing)."""
        return self.host(resolve_in_root(self.root, PurePosixPath("/", str(target))))

    def check_contained(self) -> None:
        """Refuse a --root whose state, run, /etc or boot directories are links leaving it:
        genman would write (and delete) outside the tree it was given."""
        if self.is_live:
            return
        real_root = os.path.realpath(self.root)
        for target in (self.state_dir, self.run_dir, self.etc, self.ledger.parent,
                       PurePosixPath("/boot"), PurePosixPath("/boot/efi"), PurePosixPath("/efi"),
                       self.lock_file, self.journal, self.trash_dir):
            real = os.path.realpath(self.host(target))
            if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
                raise GenmanError(
                    f"{self.host(target)} leads out of the root {self.root} (to {real})",
                    hint="a link under --root points outside it; replace it with a directory "
                    "inside the root",
                )

    # --- state (target paths) ---
    state_dir = STATE_DIR
    store_dir = STATE_DIR / "store"
    generations_dir = STATE_DIR / "generations"
    default_link = STATE_DIR / "default"
    cache_dir = STATE_DIR / "cache"
    generations_index = STATE_DIR / "generations-index.json"  # a cache: genindex.py
    journal = STATE_DIR / "journal.json"
    lock_file = STATE_DIR / "lock"
    run_dir = RUN_DIR
    active_link = RUN_DIR / "active"
    booted_link = RUN_DIR / "booted"
    boot_once_file = STATE_DIR / "boot-once"
    last_generation = STATE_DIR / "last-generation"  # numbers are never handed out twice
    pins_dir = STATE_DIR / "pins"
    secrets_dir = STATE_DIR / "secrets"  # 0700 root: [secrets] content, by keyed hash
    secrets_key = STATE_DIR / "secrets/.key"  # the host's HMAC key for those names
    trash_dir = STATE_DIR / "trash"  # what prune and gc removed, until it is deleted (trash.py)
    etc = ETC
    etc_static = ETC / "static"
    ledger = ETC / "genman/ledger.json"
    path_profile = ETC / "profile.d/genman.sh"
    default_profile = DEFAULT_PROFILE

    @property
    def build_cache(self) -> Path:
        """Caches of the machine genman runs on (hashes, compiled templates), one directory
        per root: never inside the target tree, where whoever controls the tree could plant
        a compiled template that runs as genman. $XDG_CACHE_HOME when set, else
        /var/cache/genman for root and ~/.cache/genman for others."""
        xdg = os.environ.get("XDG_CACHE_HOME")
        if xdg:
            base = Path(xdg) / "genman"
        elif os.geteuid() == 0:
            base = Path("/var/cache/genman")
        else:
            base = Path.home() / ".cache/genman"
        import hashlib  # only here: the read commands never need it

        return base / hashlib.sha256(os.fsencode(self.root)).hexdigest()[:16]

    def generation(self, number: int) -> PurePosixPath:
        return self.generations_dir / str(number)

    def store_path(self, name: str) -> PurePosixPath:
        return self.store_dir / name

    def copy_source(self, name: str) -> PurePosixPath:
        return copy_source(name)


# A store path's name: 32 hex digits of its hash, a dash, a cleaned-up name. The same
# shape names the boot files copied to the ESP or /boot.
STORE_NAME = re.compile(r"[0-9a-f]{32}-[A-Za-z0-9+._?=-]+")


def is_store_name(name: str) -> bool:
    return STORE_NAME.fullmatch(name) is not None


def store_names_in(text: str) -> set[str]:
    """Every store name a text (a menu, a journal) mentions."""
    return set(STORE_NAME.findall(text))


# A secret's name: the HMAC-SHA256 of its content under the host's key, 64 hex digits.
SECRET_NAME = re.compile(r"[0-9a-f]{64}")


def is_secret_name(name: str) -> bool:
    return SECRET_NAME.fullmatch(name) is not None


def copy_source(name: str) -> PurePosixPath:
    """Where a real /etc file's content is (a target path): a secret's in the secrets
    directory, any other in the store."""
    return (Layout.secrets_dir if is_secret_name(name) else Layout.store_dir) / name
