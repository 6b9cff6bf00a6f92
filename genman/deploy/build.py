"""Each host's generation, built on the deploying machine into one local store: a file
that many hosts' generations hold is stored once. The genman doing the build goes into the
store too (`genman`), and every generation built for a target that runs it references it:
the target runs the very genman that built what it activates, and keeps it as long as it
keeps the generation."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from genman import compose, fsutil, generation, profile
from genman.deploy import keep as keep_mod
from genman.deploy.facts import Facts
from genman.deploy.hosts import Host
from genman.errors import GenmanError
from genman.layout import Layout
from genman.manifest import Manifest
from genman.secretstore import Keeper
from genman.store import Store, StoreBatch


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "genman" / "deploy"


@dataclass(frozen=True)
class Built:
    toplevel: str
    closure: tuple[str, ...]  # the toplevel and every store path it references
    manifest: Manifest
    # [secrets] content by name, in memory only: it goes over SSH into the target's
    # secrets directory, never into a store (see genman.secretstore).
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Shipped:
    """The deploying genman as a store path: `name` inside directory `dir`."""
    dir: Path
    name: str


def _copy_file(src: str, dst: str) -> None:
    """A file's content and mode (times and owners mean nothing in the store)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    os.chmod(dst, os.stat(src).st_mode & 0o777)


def package_tree(into: Path) -> None:
    """genman's own package as this process imports it, without bytecode, with the
    bootloader templates inside it (a source checkout keeps them beside the package)."""
    from genman.templating import bootloaders_dir

    src = resources.files("genman")
    if not isinstance(src, Path) or not src.is_dir():
        raise GenmanError(f"genman is imported from {src}, not a directory: it cannot be "
                          "shipped to the targets",
                          hint="install genman as a package or run it from a checkout, or "
                               "set `genman` in the inventory to the targets' own genman")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(src, into / "genman", ignore=skip, copy_function=_copy_file)
    if not (into / "genman/bootloaders").is_dir():
        shutil.copytree(Path(str(bootloaders_dir())), into / "genman/bootloaders", ignore=skip,
                        copy_function=_copy_file)


def command(genman: str, python: str) -> str:
    """`genman` on the target's PATH (the active generation's sw/bin): the shipped one."""
    from genman.deploy import seed

    env = seed.genman_env("/", str(Layout.store_dir / genman))
    return ("#!/bin/sh\n# genman as `genman deploy` brought it: a store path of this "
            "generation.\nexec env " + " ".join(f"{k}={v}" for k, v in sorted(env.items()))
            + f' {python} -m genman "$@"\n')


class LocalStore:
    """The deployer's store. Builds run one at a time: they share the store, its hash
    cache and the compiled templates (a build is CPU-bound Python anyway). With `write`
    False (a dry run) every store name is computed and nothing is written."""

    def __init__(self, directory: Path, write: bool = True, keep: int = keep_mod.KEEP) -> None:
        self.directory = directory
        self.layout = Layout.for_root(directory)
        self.dir = self.layout.host(self.layout.store_dir)
        self.write = write
        self.keep = keep  # builds per host kept by `collect`; 0: keep everything
        self._lock = threading.Lock()
        self._shipped: Shipped | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None  # made by shipped()
        self._hold = keep_mod.hold(directory) if write else None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._hold is not None:
            os.close(self._hold)
            self._hold = None

    def collect(self) -> keep_mod.Collected | None:
        """Drop what no host's last `keep` builds need (None: nothing to collect)."""
        if self._hold is None or self.keep == 0:
            return None
        return keep_mod.collect(self.directory, Store(self.layout), self.keep, self._hold)

    def shipped(self) -> Shipped:
        """This genman as a store path (made once per deploy)."""
        with self._lock:
            if self._shipped is None:
                self._shipped = self._ship()
            return self._shipped

    def _ship(self) -> Shipped:
        from genman import __version__

        self._tmp = tempfile.TemporaryDirectory(prefix="genman-deploy-")
        tmp = Path(self._tmp.name)
        package_tree(tmp / "pkg")
        store = Store(self.layout, generation.hash_cache(self.layout) if self.write else None)
        if not self.write:
            name = store.tree_identity(tmp / "pkg", f"genman-{__version__}")
            os.rename(tmp / "pkg", tmp / name)
            return Shipped(tmp, name)
        store.clean()
        with fsutil.umask(0o022), store.batch() as batch:
            name = batch.add_tree(tmp / "pkg", f"genman-{__version__}")
        store.cache.save()
        return Shipped(self.dir, name)

    def build(self, host: Host, facts: Facts, genman: str | None) -> Built:
        """`genman`: the shipped genman's store name, for the toplevel to reference."""
        with self._lock:
            prof = profile.load(host.profile, self.layout, facts.for_profile(host.vars))
            keeper = Keeper.for_deploy(self.layout, self.key_path(host))
            cache = generation.hash_cache(self.layout) if self.write else None
            store = Store(self.layout, cache)
            batch = StoreBatch(store, write=self.write)
            if self.write:
                store.clean()
            with fsutil.umask(0o022), batch:
                extra = {} if genman is None else {
                    "genman": genman,
                    "sw/bin/genman": batch.add_bytes(command(genman, host.python).encode(),
                                                     "genman", 0o555)}
                composed = compose.compose(prof, self.layout, batch, lambda _: None, keeper,
                                           extra)
            if self.write:
                store.cache.save()
                if prof.compiled is not None:
                    prof.compiled.save()
                keep_mod.record(self.directory, host.name, composed.toplevel, self.keep)
        refs = composed.manifest.references() | set(composed.etc_dirs) | set(extra.values())
        return Built(composed.toplevel, (composed.toplevel, *sorted(refs)), composed.manifest,
                     keeper.collected or {})

    def key_path(self, host: Host) -> Path:
        """This machine's key for naming `host`'s secrets (0600 in a 0700 directory): its
        own per host, so equal secrets of two hosts get unrelated names."""
        digest = hashlib.sha256(host.name.encode()).hexdigest()[:32]
        return self.layout.root / "secret-keys" / digest
