"""Every path genman touches, derived from one root.

Two kinds of path live here and must not be mixed:
- *target paths* (PurePosixPath, absolute): how a path looks from inside the target system.
  These are what genman writes into links, init= options and scripts.
- *host paths* (Path): where that target path is on the machine genman runs on, i.e. under
  `--root`. These are what genman opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

STATE_DIR = PurePosixPath("/var/lib/genman")
RUN_DIR = PurePosixPath("/run/genman")
ETC = PurePosixPath("/etc")
DEFAULT_PROFILE = PurePosixPath("/etc/genman/profile.toml")

# Paths under /etc that genman itself owns; a profile may not declare them.
RESERVED_ETC = ("static", "genman/ledger.json", "profile.d/genman.sh")


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

    # --- state (target paths) ---
    state_dir = STATE_DIR
    store_dir = STATE_DIR / "store"
    generations_dir = STATE_DIR / "generations"
    default_link = STATE_DIR / "default"
    cache_dir = STATE_DIR / "cache"
    journal = STATE_DIR / "journal.json"
    lock_file = STATE_DIR / "lock"
    run_dir = RUN_DIR
    active_link = RUN_DIR / "active"
    booted_link = RUN_DIR / "booted"
    boot_once_file = STATE_DIR / "boot-once"
    pins_dir = STATE_DIR / "pins"
    etc = ETC
    etc_static = ETC / "static"
    ledger = ETC / "genman/ledger.json"
    path_profile = ETC / "profile.d/genman.sh"
    default_profile = DEFAULT_PROFILE

    def generation(self, number: int) -> PurePosixPath:
        return self.generations_dir / str(number)

    def store_path(self, name: str) -> PurePosixPath:
        return self.store_dir / name
