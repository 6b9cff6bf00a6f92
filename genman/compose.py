"""What a generation is made of, composed from a Profile into the store (through a
StoreBatch, which may not write): the manifest, the /etc tree, the toplevel store path.

The toplevel holds:

    etc/<file>        -> /var/lib/genman/store/<hash>-<file>   (the /etc/static tree;
    etc/<dir>         -> ../../<hash>-etc-<dir>, a store directory of links: see etc_tree)
    sw/bin, sw/sbin   -> executables of [packages]
    kernel, initrd, kernel-modules -> store paths
    kernel-params     the profile's kernel parameters, one line
    init, activate    POSIX sh run at boot (see bootscripts)
    manifest.json     everything list-generations, diff and activation read
    summary.json      the few fields list-generations shows
    references        store names this generation needs, one per line (for gc)
    genman            -> the genman that built it, where `genman deploy` shipped it
    sw/bin/genman     -> a command running that genman (deploy's targets need no other)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genman.errors import BUG_HINT, GenmanError
from genman.layout import Layout
from genman.manifest import EtcEntry, KernelEntry, Manifest, SecretEntry, ServiceEntry
from genman.store import StoreBatch

if TYPE_CHECKING:  # profile pulls in jinja2; list-generations must stay light
    from genman.profile import EtcFile, PackageSpec, Profile
    from genman.secretstore import Keeper

Progress = Callable[[str], None]


def _package_links(layout: Layout, pkg: PackageSpec, store_name: str) -> dict[str, str]:
    base = layout.store_dir / store_name
    if not pkg.bin_dirs:
        return {f"bin/{pkg.name}": str(base)}
    links = {}
    for d in pkg.bin_dirs:
        dest = "sbin" if d == "sbin" else "bin"
        for entry in sorted(os.scandir(pkg.path / d), key=lambda e: e.name):
            if entry.is_dir():
                continue
            links[f"{dest}/{entry.name}"] = str(base / d / entry.name)
    return links


def _etc_entry(batch: StoreBatch, ef: EtcFile) -> EtcEntry:
    from genman.profile import source_mode

    name = os.path.basename(ef.path)
    if ef.source is not None:
        # A source keeps its own mode unless the profile sets one.
        store_name = batch.add_file(ef.source, name, ef.mode)
    elif ef.content is not None:
        # mode "0000" is a mode; without one, the template's own mode bounds the copy.
        store_name = batch.add_bytes(ef.content, name, source_mode(ef))
    else:
        raise GenmanError(f"/etc/{ef.path} has neither a source nor content", hint=BUG_HINT)
    if ef.is_copy:
        mode = source_mode(ef)
        return EtcEntry(store_name, mode=mode, uid=ef.uid if ef.uid is not None else 0,
                        gid=ef.gid if ef.gid is not None else 0, user=ef.user, group=ef.group)
    return EtcEntry(store_name)


def _service_digest(unit_file: str | None, triggers: tuple[str, ...],
                    etc: dict[str, EtcEntry | SecretEntry]) -> str:
    h = hashlib.sha256(f"unit:{unit_file}\n".encode())
    for t in triggers:
        t = t.rstrip("/")
        for p in sorted(p for p in etc if p == t or p.startswith(t + "/")):
            h.update(f"{p}\0{json.dumps(etc[p].to_dict(), sort_keys=True)}\n".encode())
    return h.hexdigest()[:32]


def make_manifest(profile: Profile, layout: Layout, batch: StoreBatch,
                  progress: Progress, keeper: Keeper | None = None) -> Manifest:
    """Put every input into the store (staged) and describe the result. `keeper` takes
    the [secrets] (default: the layout's own secrets directory, when the batch writes)."""
    progress(f"hashing {len(profile.etc)} /etc files")
    etc = {ef.path: _etc_entry(batch, ef) for ef in profile.etc}
    secrets = _secrets(profile, layout, batch, keeper)

    packages: dict[str, str] = {}
    path_links: dict[str, str] = {}
    for pkg in profile.packages:
        progress(f"adding package {pkg.name}")
        if pkg.bin_dirs:
            store_name = batch.add_tree(pkg.path, pkg.name)
        else:
            store_name = batch.add_file(pkg.path, pkg.name)
        packages[pkg.name] = store_name
        path_links.update(_package_links(layout, pkg, store_name))

    kernel = None
    if profile.kernel is not None:
        k = profile.kernel
        progress(f"adding kernel {k.version}")
        # Kernel and initrd keep their own modes: an initrd holding LUKS keyfiles is 0600.
        image = batch.add_file(k.image, f"vmlinuz-{k.version}")
        initrd = batch.add_file(k.initrd, f"initrd.img-{k.version}") if k.initrd else None
        modules = None
        if k.modules is not None:
            progress(f"adding kernel modules {k.version}")
            modules = batch.add_tree(k.modules, f"modules-{k.version}", hardlink=True)
        kernel = KernelEntry(k.version, image, initrd, modules, k.params)

    services = {}
    for svc in profile.services:
        unit_file = batch.add_file(svc.unit_file, svc.unit, 0o644) if svc.unit_file else None
        services[svc.name] = ServiceEntry(
            unit=svc.unit,
            unit_file=unit_file,
            restart_triggers=svc.restart_triggers,
            on_change=svc.on_change.value,
            stop_if_changed=svc.stop_if_changed,
            settle=svc.settle,
            digest=_service_digest(unit_file, svc.restart_triggers, {**etc, **secrets}),
        )
    return Manifest(
        hostname=profile.hostname,
        description=profile.description,
        init=profile.init,
        kernel=kernel,
        etc=etc,
        packages=packages,
        path_links=path_links,
        services=services,
        health=profile.sections.get("health"),
        secrets=secrets,
    )


def _secrets(profile: Profile, layout: Layout, batch: StoreBatch,
             keeper: Keeper | None) -> dict[str, SecretEntry]:
    """Each secret goes to the secrets directory (not the store), named by its keyed hash;
    a batch that does not write only names them."""
    if not profile.secrets:
        return {}
    if keeper is None:
        from genman.secretstore import Keeper

        keeper = Keeper(layout, write=batch.write)
    out = {}
    for s in profile.secrets:
        name = keeper.add(s.content)
        if not batch.write:  # in memory only, for the dry run's plan (see StoreBatch.digests)
            batch.digests[name] = hashlib.sha256(s.content).hexdigest()
        out[s.path] = SecretEntry(name, s.mode, s.uid, s.gid, s.user, s.group)
    return out


def etc_tree(
    batch: StoreBatch, layout: Layout, manifest: Manifest
) -> tuple[dict[str, str], set[str]]:
    """The generation's etc tree as a Merkle tree of store directories, like git's trees:
    each directory below /etc/static is a store path of links, named by what it holds.

    A change to one file of a 10,000-file tree makes new store paths only for the
    directories on that file's path, not 10,000 new links. Returns the links of the etc
    root (name -> target) and the directory store paths (references, for gc). Directory
    links are relative (`../<name>`), so they resolve the same under --root as on the
    target; file links name the store file as the target sees it.
    """
    store = str(layout.store_dir)
    root: dict[str, Any] = {}
    for path, entry in manifest.etc.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = f"{store}/{entry.store}"
    dirs: set[str] = set()

    def links_of(node: dict[str, Any], up: str) -> dict[str, str]:
        return {name: (f"{up}{make_dir(name, sub)}" if isinstance(sub, dict) else sub)
                for name, sub in sorted(node.items())}

    def make_dir(name: str, node: dict[str, Any]) -> str:
        links = links_of(node, "../")

        def populate(dest: Path) -> None:
            base = os.fspath(dest)
            for n, target in links.items():
                os.symlink(target, f"{base}/{n}")

        key = "etc-dir\0" + json.dumps(links, sort_keys=True)
        made = batch.add_generated(key, f"etc-{name}", populate)
        dirs.add(made)
        return made

    return links_of(root, "../../"), dirs


def _populate(
    layout: Layout, manifest: Manifest, scripts: dict[str, str],
    etc_links: dict[str, str], etc_dirs: set[str], extra: Mapping[str, str],
) -> Callable[[Path], None]:
    store = str(layout.store_dir)

    def populate(dest: Path) -> None:
        made: set[str] = set()
        base = os.fspath(dest)  # string paths: this links every /etc file of the generation

        def link(rel: str, target: str) -> None:
            parent = os.path.dirname(rel)
            if parent and parent not in made:
                os.makedirs(f"{base}/{parent}", exist_ok=True)
                made.add(parent)
            os.symlink(target, f"{base}/{rel}")

        os.mkdir(dest / "etc")
        for name, target in etc_links.items():
            link(f"etc/{name}", target)
        os.makedirs(dest / "sw/bin")
        os.makedirs(dest / "sw/sbin")
        for rel, target in manifest.path_links.items():
            link(f"sw/{rel}", target)
        if manifest.kernel:
            k = manifest.kernel
            link("kernel", f"{store}/{k.image}")
            if k.initrd:
                link("initrd", f"{store}/{k.initrd}")
            if k.modules:
                link("kernel-modules", f"{store}/{k.modules}")
            _write(dest / "kernel-params", " ".join(k.params) + "\n")
        for name, text in scripts.items():
            _write(dest / name, text, 0o555)
        _write(dest / "manifest.json", manifest.to_json())
        _write(dest / "summary.json", json.dumps(manifest.summary()) + "\n")
        refs = manifest.references() | etc_dirs
        for rel, name in sorted(extra.items()):
            if not os.path.lexists(f"{base}/{rel}"):  # a package's own command wins
                link(rel, f"{store}/{name}")
            refs.add(name)
        _write(dest / "references", "".join(f"{r}\n" for r in sorted(refs)))

    return populate


def _write(path: Path, text: str, mode: int = 0o444) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        os.fchmod(f.fileno(), mode)


def toplevel_key(manifest: Manifest, scripts: dict[str, str],
                 extra: Mapping[str, str] | None = None) -> str:
    parts: dict[str, Any] = {"manifest": manifest.to_dict(), "scripts": scripts}
    if extra:  # absent otherwise: generations built in place hash as before
        parts["extra"] = dict(sorted(extra.items()))
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Composed:
    manifest: Manifest
    toplevel: str  # store name
    etc_dirs: frozenset[str] = frozenset()  # the /etc tree's directory store paths


def compose(profile: Profile, layout: Layout, batch: StoreBatch,
            progress: Progress, keeper: Keeper | None = None,
            extra: Mapping[str, str] | None = None) -> Composed:
    """Every store path of a generation, added through `batch` (which may not write).
    `extra`: more links of the toplevel (path -> store name), referenced like the rest:
    deploy's shipped genman and its command."""
    from genman import bootscripts

    manifest = make_manifest(profile, layout, batch, progress, keeper)
    scripts = bootscripts.render(manifest)
    etc_links, etc_dirs = etc_tree(batch, layout, manifest)
    toplevel = batch.add_generated(
        toplevel_key(manifest, scripts, extra), f"genman-{profile.hostname}",
        _populate(layout, manifest, scripts, etc_links, etc_dirs, extra or {}))
    return Composed(manifest, toplevel, frozenset(etc_dirs))


def add_toplevel(profile: Profile, layout: Layout, batch: StoreBatch,
                 progress: Progress, keeper: Keeper | None = None) -> str:
    """Stage a profile's toplevel and everything it references; its store name."""
    return compose(profile, layout, batch, progress, keeper).toplevel
