"""Each host's generation, built on the deploying machine into one local store: a file
that many hosts' generations hold is stored once."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from genman import compose, fsutil, generation, profile
from genman.deploy.facts import Facts
from genman.deploy.hosts import Host
from genman.layout import Layout
from genman.secretstore import Keeper
from genman.store import Store


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "genman" / "deploy"


@dataclass(frozen=True)
class Built:
    toplevel: str
    closure: tuple[str, ...]  # the toplevel and every store path it references
    # [secrets] content by name, in memory only: it goes over SSH into the target's
    # secrets directory, never into a store (see genman.secretstore).
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)


class LocalStore:
    """The deployer's store. Builds run one at a time: they share the store, its hash
    cache and the compiled templates (a build is CPU-bound Python anyway)."""

    def __init__(self, directory: Path) -> None:
        self.layout = Layout.for_root(directory)
        self.dir = self.layout.host(self.layout.store_dir)
        self._lock = threading.Lock()

    def build(self, host: Host, facts: Facts) -> Built:
        with self._lock:
            prof = profile.load(host.profile, self.layout, facts.for_profile(host.vars))
            keeper = Keeper.for_deploy(self.layout, self.key_path(host))
            cache = generation.hash_cache(self.layout)
            store = Store(self.layout, cache)
            store.clean()
            with fsutil.umask(0o022), store.batch() as batch:
                toplevel = compose.add_toplevel(prof, self.layout, batch, lambda _: None,
                                                keeper)
            cache.save()
            if prof.compiled is not None:
                prof.compiled.save()
        refs = (self.dir / toplevel / "references").read_text().split()
        return Built(toplevel, (toplevel, *refs), keeper.collected or {})

    def key_path(self, host: Host) -> Path:
        """This machine's key for naming `host`'s secrets (0600 in a 0700 directory): its
        own per host, so equal secrets of two hosts get unrelated names."""
        digest = hashlib.sha256(host.name.encode()).hexdigest()[:32]
        return self.layout.root / "secret-keys" / digest
