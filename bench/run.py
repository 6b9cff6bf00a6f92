#!/usr/bin/env python3
"""genman side by side with Nix and Ansible. See bench/README.md.

    python3 bench/run.py              full suite (~12 min on 2 cores, + ~25 min: item 7)
    python3 bench/run.py --quick      CI smoke size (< 2 min)
    python3 bench/run.py --items 1,2  only some items

Prints one table row per measurement (genman median and min–max, the peer's, the ratio
peer/genman, genman's peak RSS) and the targets met or missed; writes the same as
Markdown and JSON under bench/out/. Exit 1 only if a command failed; the figures are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (documents that --cprofile needs it)
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import workload as W  # noqa: E402
from measure import (  # noqa: E402
    CommandFailed,
    Sample,
    Stats,
    fmt_stats,
    fmt_time,
    load,
    run,
)
from peers import (  # noqa: E402
    Ansible,
    Nix,
    ansible_version,
    have,
    nix_etc_expr,
    nix_version,
    remove,
    restore,
    snapshot,
)

MIB = 1 << 20


@dataclass(frozen=True)
class Config:
    name: str
    files: int  # item 1/2 profile
    templates: int
    package_mib: int
    switch_files: tuple[int, ...]  # item 3
    ansible_files: int  # files Ansible really applies; scaled to switch_files[0]
    gens: int  # items 4/5
    growth: tuple[int, ...]  # item 6
    runs: int
    fast_runs: int  # for commands that take milliseconds
    big_runs: int  # item 6 cold build at >= 100,000 files (60-90 s each here; no-op: 3 runs)
    small: tuple[int, int] = (10_000, 50)  # item 7: files of ~1 KiB, directories (one source)
    # item 7's fair Nix peer, cold: Nix 2.8 builds 10,001 derivations in ~22 min here (its
    # cost grows faster than the count: 7.8 s at 500, 25 s at 1,000), so once from 10,000 on
    fair_cold_runs: int = 1


FULL = Config("full", 10_000, 300, 200, (1_000, 10_000), 20, 1_000,
              (1_000, 10_000, 100_000), 5, 10, 2)
QUICK = Config("quick", 400, 12, 4, (200,), 4, 30, (200, 1_000), 3, 5, 3, (300, 10))
# tests/test_bench_smoke.py: every item and peer runs once, on toy sizes (no figures kept)
TINY = Config("tiny", 40, 2, 1, (30,), 2, 6, (40,), 1, 1, 1, (40, 4))


@dataclass
class Row:
    key: str
    item: str
    genman: Stats | None
    peer_name: str = ""
    peer: Stats | None = None
    show_mem: bool = False
    note: str = ""
    load_before: str = ""
    load_after: str = ""
    per_file_us: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.genman is None or self.peer is None or not self.genman.n or not self.peer.n:
            return None
        return self.peer.median / self.genman.median

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key, "item": self.item, "peer_name": self.peer_name,
            "genman": self.genman.to_dict() if self.genman else None,
            "peer": self.peer.to_dict() if self.peer else None,
            "ratio": self.ratio, "genman_peak_mib": self.genman.peak_mib if self.genman else None,
            "note": self.note, "load_before": self.load_before, "load_after": self.load_after,
            "per_file_us": self.per_file_us,
        }


@dataclass
class Target:
    what: str
    met: bool | None  # None: not measured
    detail: str


@dataclass
class Bench:
    cfg: Config
    work: Path
    commands: set[str]
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    setup: dict[str, float] = field(default_factory=dict)
    replay: dict[str, Callable[[], list[str]]] = field(default_factory=dict)
    main: W.Workload | None = None
    main_root: Path | None = None
    switch_roots: dict[int, Path] = field(default_factory=dict)
    nix_main: Nix | None = None

    # --- running things ---------------------------------------------------------------

    def genman_cmd(self, root: Path, *args: str) -> list[str]:
        return [sys.executable, "-m", "genman", "--root", str(root), "--bootloader", "none",
                *args]

    def genman(self, root: Path, *args: str) -> Sample:
        return run(self.genman_cmd(root, *args), cwd=str(REPO))

    def has(self, *cmds: str) -> bool:
        return all(c in self.commands for c in cmds)

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {load()}] {msg}", file=sys.stderr, flush=True)

    def row(self, **kw: object) -> Row:
        r = Row(**kw)  # type: ignore[arg-type]
        self.rows.append(r)
        ratio = f"  ratio {r.ratio:.1f}x" if r.ratio else ""
        self.log(f"{r.item}: genman {fmt_stats(r.genman)}; {r.peer_name} "
                 f"{fmt_stats(r.peer)}{ratio}")
        return r

    def main_workload(self) -> W.Workload:
        if self.main is None:
            c = self.cfg
            t = time.perf_counter()
            self.main = W.generate(W.Spec(files=c.files, templates=c.templates,
                                          package_bytes=c.package_mib * MIB), self.work / "w-main")
            self.setup["generate main workload"] = time.perf_counter() - t
        return self.main


def genman_commands() -> set[str]:
    out = subprocess.run([sys.executable, "-m", "genman", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    cmds = set()
    in_cmds = False
    for line in out.splitlines():
        if line.startswith("Commands:"):
            in_cmds = True
        elif in_cmds and line.startswith("  ") and line.split():
            cmds.add(line.split()[0])
    return cmds


def combine(*samples: Sample) -> Sample:
    return Sample(sum(s.seconds for s in samples), max(s.maxrss_kib for s in samples))


def alternate(r: int, a: Callable[[], None], b: Callable[[], None]) -> None:
    """Run a then b on even repetitions, b then a on odd ones."""
    for f in ((a, b) if r % 2 == 0 else (b, a)):
        f()


# ------------------------------------------------------------------ items


def item1_build_cold(b: Bench) -> None:
    c = b.cfg
    w = b.main_workload()
    nix_ok = have("nix-store")
    nixsrc = b.work / "nix-src"
    if nix_ok and not nixsrc.exists():
        W.nix_tree(w, nixsrc)
    g, p = Stats(), Stats()
    root = b.work / "root-main"
    nix = Nix(b.work / "nix-main")

    def one_genman() -> None:
        remove(root)
        g.add(b.genman(root, "build", str(w.profile)))

    def one_nix() -> None:
        nix.remove()
        nix.init()
        s1, paths = nix.add(nixsrc)
        g_ = nix.set(paths[0])
        p.add(combine(s1, g_))

    before = load()
    for r in range(c.runs):
        alternate(r, one_genman, one_nix if nix_ok else lambda: None)
    what = f"{c.files:,} files ({c.templates} templates, {w.etc_bytes / MIB:.0f} MiB) + " \
           f"{c.package_mib} MiB package"
    b.row(key="build-cold", item=f"1 build, cold: {what}", genman=g,
          peer_name="nix-store --add + nix-env --set", peer=p if nix_ok else None,
          show_mem=True, load_before=before, load_after=load())
    b.main_root = root
    b.nix_main = nix if nix_ok else None

    def replay() -> list[str]:
        remove(b.work / "root-profile")
        return b.genman_cmd(b.work / "root-profile", "build", str(w.profile))

    b.replay["build-cold"] = replay
    peak = g.peak_mib
    b.targets.append(Target("build memory < 200 MB (item 1)", peak < 200, f"{peak:.0f} MiB"))


def item2_rebuild_warm(b: Bench) -> None:
    c = b.cfg
    w = b.main_workload()
    if b.main_root is None:
        item1_build_cold(b)
    root, nix = b.main_root, b.nix_main
    assert root is not None
    nixsrc = b.work / "nix-src"
    g1, p1, g0, p0 = Stats(), Stats(), Stats(), Stats()
    before = load()
    for r in range(c.runs):
        w.set_special(f"warm{r}")
        if nix is not None:
            W.nix_rerender(w, nixsrc)

        def gen_changed() -> None:
            g1.add(b.genman(root, "build", str(w.profile)))

        def nix_changed() -> None:
            if nix is not None:
                s, paths = nix.add(nixsrc)
                p1.add(combine(s, nix.set(paths[0])))

        alternate(r, gen_changed, nix_changed)

        def gen_same() -> None:
            s = b.genman(root, "build", str(w.profile))
            if "unchanged" not in s.stderr:
                b.notes.append("item 2: a no-change build did not say 'unchanged'")
            g0.add(s)

        def nix_same() -> None:
            if nix is not None:
                s, paths = nix.add(nixsrc)
                p0.add(combine(s, nix.set(paths[0])))

        alternate(r, gen_same, nix_same)
    after = load()
    peer = "nix-store --add + nix-env --set"
    rc = b.row(key="rebuild-1", item=f"2a rebuild, warm, 1 template var changed ({c.files:,} "
               "files)", genman=g1, peer_name=peer, peer=p1 if nix else None, show_mem=True,
               load_before=before, load_after=after)
    r0 = b.row(key="rebuild-0", item=f"2b rebuild, warm, no change ({c.files:,} files)",
               genman=g0, peer_name=peer, peer=p0 if nix else None, show_mem=True,
               load_before=before, load_after=after)
    b.replay["rebuild-1"] = lambda: (w.set_special("replay"),
                                     b.genman_cmd(root, "build", str(w.profile)))[1]
    b.replay["rebuild-0"] = lambda: b.genman_cmd(root, "build", str(w.profile))
    for r in (rc, r0):
        if r.ratio is not None:
            b.targets.append(Target(f"{r.item.split(' ', 1)[1]}: >= 10x faster than Nix's "
                                    "re-add", r.ratio >= 10, f"{r.ratio:.1f}x"))
    w.set_special("a")
    if nix is not None:
        W.nix_rerender(w, nixsrc)


def _switch_workload(b: Bench, n: int) -> W.Workload:
    c = b.cfg
    if n == c.files:
        return b.main_workload()
    return W.generate(W.Spec(files=n, templates=max(1, n * 3 // 100), package_bytes=0),
                      b.work / f"w-switch-{n}")


def _ansible(b: Bench, n_target: int, g_first: Callable[[int], None]) -> Stats | None:
    """Ansible applying the same kind of files; measured on cfg.ansible_files files and
    scaled linearly (startup measured apart) to n_target. g_first(r) runs genman's
    repetition r so the two alternate."""
    c = b.cfg
    if not have("ansible-playbook"):
        for r in range(c.runs):
            g_first(r)
        return None
    k = c.ansible_files
    aw = W.generate(W.Spec(files=k, templates=max(1, k * 3 // 100), dirs=max(1, k // 20),
                           package_bytes=0), b.work / f"w-ansible-{k}")
    ans = Ansible(b.work / "ansible-home")
    pdir = b.work / "ansible-play"
    pdir.mkdir(exist_ok=True)
    sandbox = b.work / "ansible-sandbox"
    playbook = W.ansible_playbook(aw, sandbox, pdir)
    empty = pdir / "empty.yml"
    empty.write_text(json.dumps([{"hosts": "localhost", "connection": "local",
                                  "gather_facts": False, "tasks": []}]))
    t = time.perf_counter()
    ans.play(playbook)  # first apply: everything is new
    b.setup[f"ansible first apply ({k} files)"] = time.perf_counter() - t
    start, full = Stats(), Stats()
    for r in range(c.runs):
        aw.set_special(f"ans{r}")
        W.vars_file_update(aw, playbook)

        def one() -> None:
            start.add(ans.play(empty))
            full.add(ans.play(playbook))

        alternate(r, lambda r=r: g_first(r), one)
    if k == n_target:
        return full
    scaled = Stats()
    t0 = start.median
    for s, rss in zip(full.samples, full.rss_kib, strict=True):
        scaled.add(Sample(t0 + (s - t0) * n_target / k, rss))
    b.notes.append(
        f"Ansible was run on {k} files (1 template changed) and scaled to {n_target:,}: "
        f"t = startup + (t_{k} - startup) x {n_target}/{k}, startup = an empty play "
        f"({fmt_stats(start)}); measured t_{k} = {fmt_stats(full)}. "
        f"`--ansible-files {n_target}` measures it directly.")
    return scaled


def item3_switch(b: Bench) -> None:
    c = b.cfg
    if not b.has("switch"):
        b.notes.append("item 3 skipped: `genman switch` is not there yet")
        return
    for i, n in enumerate(c.switch_files):
        w = _switch_workload(b, n)
        if n == c.files and b.main_root is not None:
            root = b.main_root  # item 1/2's root: its store and hash cache are warm
        else:
            root = b.work / f"root-switch-{n}"
            remove(root)
        b.switch_roots[n] = root
        t = time.perf_counter()
        b.genman(root, "switch", str(w.profile))
        b.setup[f"first switch, {n:,} files"] = time.perf_counter() - t
        g = Stats()
        ga = Stats()

        def gen(r: int, w: W.Workload = w, root: Path = root, g: Stats = g) -> None:
            w.set_special(f"sw{r}")
            g.add(b.genman(root, "switch", str(w.profile)))

        before = load()
        peer = None
        if i == 0:
            peer = _ansible(b, n, gen)
        else:
            for r in range(c.runs):
                gen(r)
        after = load()
        label = "Ansible template+copy" + (" (scaled, see notes)" if peer is not None and
                                           c.ansible_files != n else "")
        row = b.row(key=f"switch-{n}", item=f"3 switch, warm rebuild, 1 of {n:,} files "
                    "changed", genman=g, peer_name=label if peer else "", peer=peer,
                    show_mem=True, load_before=before, load_after=after)
        b.replay[f"switch-{n}"] = lambda w=w, root=root: (
            w.set_special("replay"), b.genman_cmd(root, "switch", str(w.profile)))[1]
        if b.has("switch-generation"):
            # activation alone: flip between the two newest generations
            nums = [int(x) for x in os.listdir(root / "var/lib/genman/generations")
                    if x.isdigit()]
            top = sorted(nums)[-2:]
            before = load()
            for r in range(c.runs):
                ga.add(b.genman(root, "switch-generation", str(top[r % 2])))
            b.row(key=f"switch-gen-{n}", item=f"3 switch-generation (activation only, "
                  f"1 of {n:,} changed)", genman=ga, show_mem=True, load_before=before,
                  load_after=load())
        if i == 0 and row.ratio is not None:
            b.targets.append(Target(f"switch >= 100x faster than Ansible on {n:,} files",
                                    row.ratio >= 100, f"{row.ratio:.1f}x"))
        if i == 0:
            b.targets.append(Target(f"genman switch on {n:,} files < 64 MB peak",
                                    g.peak_mib < 64, f"{g.peak_mib:.0f} MiB"))
        w.set_special("a")


def _gens_setup(b: Bench) -> tuple[Path, Path, Nix | None, Path | None]:
    """G generations of a small profile for genman and for Nix, each snapshotted."""
    c = b.cfg
    gw = W.generate(W.Spec(files=20, templates=2, dirs=2, max_size=4 * 1024, package_bytes=0,
                           subdirs=False), b.work / "w-gens")
    root = b.work / "root-gens"
    remove(root)
    t = time.perf_counter()
    run([sys.executable, str(BENCH / "mkgens.py"), str(root), str(gw.profile), str(c.gens)],
        cwd=str(REPO))
    b.setup[f"genman: {c.gens} generations (in-process builds)"] = time.perf_counter() - t
    gsnap = b.work / "root-gens.snap"
    snapshot(root, gsnap)
    if not have("nix-env"):
        return root, gsnap, None, None
    nix = Nix(b.work / "nix-gens")
    nix.remove()
    nix.init()
    t = time.perf_counter()
    trees = b.work / "nix-gens-src"
    remove(trees)
    paths: list[str] = []
    batch: list[Path] = []
    for i in range(c.gens):
        gw.special = f"gen{i:05d}"
        tree = trees / f"g{i:05d}" / "gens"  # one store name "gens"; content differs
        W.nix_tree(gw, tree)
        batch.append(tree)
        if len(batch) == 200 or i == c.gens - 1:
            paths += nix.add(*batch)[1]
            batch = []
    for p in paths:
        nix.set(p)
    b.setup[f"nix: {c.gens} generations (nix-store --add, nix-env --set)"] = \
        time.perf_counter() - t
    gw.special = "a"
    nsnap = b.work / "nix-gens.snap"
    snapshot(nix.dir, nsnap)
    return root, gsnap, nix, nsnap


def item4_5_generations(b: Bench, do4: bool, do5: bool) -> None:
    c = b.cfg
    root, gsnap, nix, nsnap = _gens_setup(b)
    if do4:
        g, gj, p = Stats(), Stats(), Stats()
        before = load()
        for r in range(c.fast_runs):
            def gen() -> None:
                s = b.genman(root, "list-generations")
                g.add(s)
                gj.add(b.genman(root, "list-generations", "--json"))

            alternate(r, gen, (lambda: p.add(nix.list_generations())) if nix else lambda: None)
        after = load()
        lines = len(s.stdout.splitlines()) if (s := b.genman(root, "list-generations")) else 0
        row = b.row(key="list", item=f"4 list-generations, {c.gens:,} generations", genman=g,
                    peer_name="nix-env --list-generations", peer=p if nix else None,
                    load_before=before, load_after=after, note=f"{lines} lines")
        b.row(key="list-json", item=f"4 list-generations --json, {c.gens:,} generations",
              genman=gj, peer_name="nix-env --list-generations", peer=p if nix else None,
              load_before=before, load_after=after)
        floor = Stats()
        before = load()
        for _ in range(c.fast_runs):
            floor.add(run([sys.executable, "-c", "pass"]))
        b.row(key="python-floor", item="4 (reference) `python3 -c pass`: the interpreter's "
              "start-up floor under every genman command", genman=floor,
              load_before=before, load_after=load())
        b.replay["list"] = lambda: b.genman_cmd(root, "list-generations")
        ms = g.median * 1000
        detail = f"{ms:.0f} ms"
        met = ms < 60
        if row.ratio is not None:
            detail += f", nix-env {p.median * 1000:.0f} ms ({g.median / p.median:.1f}x nix's)"
            met = met and g.median <= 2 * p.median
        b.targets.append(Target(f"list-generations at {c.gens:,} generations < 60 ms and "
                                "within 2x of nix-env", met, detail))
    if do5:
        if not b.has("prune", "gc"):
            b.notes.append("item 5 skipped: `genman prune`/`gc` are not there yet")
            return
        g, gp, p = Stats(), Stats(), Stats()
        kept = ""

        def gen() -> None:
            nonlocal kept
            restore(gsnap, root)
            s1 = b.genman(root, "prune", "--keep", "5")
            s2 = b.genman(root, "gc")
            gp.add(s1)
            g.add(combine(s1, s2))
            kept = ",".join(sorted(os.listdir(root / "var/lib/genman/generations")))
            # Not measured: the detached emptiers finish (gc --wait waits on their lock)
            # before the next restore removes the tree under them, and before the peer runs.
            b.genman(root, "gc", "--wait")

        def peer() -> None:
            if nix is not None and nsnap is not None:
                restore(nsnap, nix.dir)
                p.add(combine(nix.delete_generations(5), nix.gc()))

        before = load()
        for r in range(c.runs):
            alternate(r, gen, peer)
        row = b.row(key="prune", item=f"5 prune --keep 5 + gc, {c.gens:,} generations",
                    genman=g, peer_name="nix-env --delete-generations +5 + nix-store --gc",
                    peer=p if nix else None, load_before=before, load_after=load(),
                    note=f"prune alone {fmt_stats(gp)}; kept {kept}")

        def replay() -> list[str]:
            restore(gsnap, root)
            return b.genman_cmd(root, "prune", "--keep", "5")

        b.replay["prune"] = replay
        if row.ratio is not None:
            b.targets.append(Target("prune --keep 5 + collection >= 10x faster than Nix's",
                                    row.ratio >= 10, f"{row.ratio:.1f}x"))


def item6_growth(b: Bench) -> None:
    c = b.cfg
    noop_cmd = "switch" if b.has("switch") else "build"
    for n in c.growth:
        t = time.perf_counter()
        w = W.generate(W.Spec(files=n, templates=min(300, max(1, n * 3 // 100)),
                              max_size=4 * 1024, package_bytes=0), b.work / f"w-growth-{n}")
        b.setup[f"generate {n:,} small files"] = time.perf_counter() - t
        root = b.work / f"root-growth-{n}"
        g = Stats()
        before = load()
        for _ in range(c.big_runs if n >= 100_000 else c.runs):
            remove(root)
            g.add(b.genman(root, "build", str(w.profile)))
        b.row(key=f"growth-build-{n}", item=f"6 build, cold, {n:,} files of 1-4 KiB",
              genman=g, show_mem=True, load_before=before, load_after=load(),
              per_file_us=g.median / n * 1e6)
        if noop_cmd == "switch":
            b.genman(root, "switch", str(w.profile))
        gn = Stats()
        before = load()
        for _ in range(min(3, c.runs) if n >= 100_000 else c.runs):
            gn.add(b.genman(root, noop_cmd, str(w.profile)))
        b.row(key=f"growth-noop-{n}", item=f"6 {noop_cmd}, no-op, {n:,} files of 1-4 KiB",
              genman=gn, show_mem=True, load_before=before, load_after=load(),
              per_file_us=gn.median / n * 1e6)
        b.replay[f"growth-noop-{n}"] = lambda root=root, w=w: b.genman_cmd(
            root, noop_cmd, str(w.profile))
        b.replay[f"growth-build-{n}"] = lambda w=w: (
            remove(b.work / "root-profile"),
            b.genman_cmd(b.work / "root-profile", "build", str(w.profile)))[1]
        remove(root)
        remove(w.dir)
    # the no-op must not grow with content: the big-content 10k workload, same command
    if c.files in c.growth and b.has("switch"):
        w = b.main_workload()
        root = b.switch_roots.get(c.files, b.work / f"root-switch-{c.files}")
        if not root.exists():
            b.genman(root, "switch", str(w.profile))
        gn = Stats()
        before = load()
        for _ in range(c.runs):
            gn.add(b.genman(root, "switch", str(w.profile)))
        b.row(key="growth-noop-big", item=f"6 switch, no-op, {c.files:,} files of 1-64 KiB + "
              f"{c.package_mib} MiB package", genman=gn, show_mem=True, load_before=before,
              load_after=load(), per_file_us=gn.median / c.files * 1e6)


def item7_small_files(b: Bench) -> None:
    """A real /etc's shape: N files of ~1 KiB in D directories, all through ONE directory
    `source`. genman's build (cold, no-op, one file edited) beside both Nix peers: the
    `nix-store --add` of the tree, and the fair one, NixOS's way (a derivation per file,
    joined into an etc tree by nix-build)."""
    c = b.cfg
    n, dirs = c.small
    t = time.perf_counter()
    w = W.generate(W.Spec(files=n, templates=0, nested=dirs, min_size=768, max_size=1280,
                          package_bytes=0), b.work / "w-small")
    b.setup[f"generate {n:,} files of ~1 KiB"] = time.perf_counter() - t
    root = b.work / "root-small"
    nix_ok = have("nix-build") and have("nix-env")
    add, fair = Nix(b.work / "nix-small-add"), Nix(b.work / "nix-small-fair")
    expr = nix_etc_expr(w.dir / "files", b.work / "nix-small-expr") if nix_ok else None
    what = f"{n:,} files of ~1 KiB in {dirs} dirs, one source"
    stats = {k: (Stats(), Stats(), Stats()) for k in ("cold", "noop", "edit")}

    def gen(key: str) -> Callable[[], None]:
        def one() -> None:
            if key == "cold":
                remove(root)
            stats[key][0].add(b.genman(root, "build", str(w.profile)))
        return one

    def peers(key: str, r: int) -> Callable[[], None]:
        def one() -> None:
            if not nix_ok or expr is None:
                return
            for i, nix in ((1, add), (2, fair)):
                if key == "cold" and i == 2 and n >= 10_000 and r >= c.fair_cold_runs:
                    continue
                if key == "cold":
                    nix.remove()
                    nix.init()
                if i == 1:
                    s, paths = nix.add(w.dir / "files")
                    stats[key][1].add(combine(s, nix.set(paths[0])))
                else:
                    s, out = nix.build(expr)
                    stats[key][2].add(combine(s, nix.set(out)))
        return one

    before = load()
    for r in range(c.big_runs if n >= 10_000 else c.runs):
        alternate(r, gen("cold"), peers("cold", r))
    mid = load()
    for r in range(c.runs):
        alternate(r, gen("noop"), peers("noop", r))
        w.edit_file(f"r{r}")
        alternate(r, gen("edit"), peers("edit", r))
    after = load()
    names = {"cold": "build, cold", "noop": "rebuild, warm, no change",
             "edit": "rebuild, warm, 1 file edited"}
    for key, (g, p_add, p_fair) in stats.items():
        lb, la = (before, mid) if key == "cold" else (mid, after)
        b.row(key=f"small-{key}", item=f"7 {names[key]}: {what}", genman=g,
              peer_name="nix-store --add + nix-env --set", peer=p_add if nix_ok else None,
              show_mem=True, load_before=lb, load_after=la, per_file_us=g.median / n * 1e6)
        row = b.row(key=f"small-{key}-fair", item=f"7 {names[key]}: {what} (fair Nix peer)",
                    genman=g, peer_name="nix-build, a derivation per file + etc tree, "
                    "+ nix-env --set", peer=p_fair if nix_ok else None, load_before=lb,
                    load_after=la)
        if key != "cold" and row.ratio is not None:
            b.targets.append(Target(f"small files, {names[key]}: >= 10x faster than NixOS's "
                                    "way", row.ratio >= 10, f"{row.ratio:.1f}x"))
    # The root is removed below: the replay builds it again, so the one profiled is a no-op.
    b.replay["small-noop"] = lambda: (b.genman(root, "build", str(w.profile)),
                                      b.genman_cmd(root, "build", str(w.profile)))[1]
    peak = stats["noop"][0].peak_mib
    b.notes.append(f"item 7: genman's peak RSS on the no-op rebuild is {peak:.0f} MiB for "
                   f"{n:,} files (interpreter and imports included, about 25 MiB of it): "
                   f"{(peak - 25) * 1024 / n:.1f} KiB per managed file above that floor.")
    remove(root)


# ------------------------------------------------------------------ report


def table(b: Bench) -> str:
    out = ["| item | genman median (min–max) | peer | peer median (min–max) | peer/genman | "
           "genman peak RSS | load (1/5/15 min) before → after |",
           "|---|---|---|---|---|---|---|"]
    for r in b.rows:
        ratio = f"{r.ratio:.1f}×" if r.ratio is not None else "–"
        mem = f"{r.genman.peak_mib:.0f} MiB" if r.genman and r.genman.n and r.show_mem else "–"
        item = r.item
        if r.per_file_us is not None:
            item += f" — {r.per_file_us:.0f} µs/file"
        if r.note:
            item += f" ({r.note})"
        out.append(f"| {item} | {fmt_stats(r.genman)} | {r.peer_name or '–'} | "
                   f"{fmt_stats(r.peer)} | {ratio} | {mem} | {r.load_before} → "
                   f"{r.load_after} |")
    return "\n".join(out)


def targets_text(b: Bench) -> str:
    lines = []
    for t in b.targets:
        mark = {True: "MET", False: "MISSED", None: "not measured"}[t.met]
        lines.append(f"- {mark}: {t.what} — {t.detail}")
    return "\n".join(lines)


def header(b: Bench, started: datetime, elapsed: float) -> str:
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return "\n".join([
        f"genman bench ({b.cfg.name}), {started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min",
        f"machine: {platform.node()}, {os.cpu_count()} cpus, {platform.release()}, "
        f"python {platform.python_version()}, load at end {load()}",
        f"genman: {commit}; {nix_version()}; {ansible_version()}",
        f"runs per measurement: {b.cfg.runs} ({b.cfg.fast_runs} for list-generations); "
        "genman and peer alternate within each repetition; page cache warm",
    ])


def cprofile(b: Bench, key: str) -> str:
    if key == "slowest":
        rows = [r for r in b.rows if r.genman and r.genman.n and r.key in b.replay]
        key = max(rows, key=lambda r: r.genman.median).key
    cmd = b.replay[key]()
    out = b.work / f"cprofile-{key}.pstats"
    i = cmd.index("-m")
    run([*cmd[:i], "-m", "cProfile", "-o", str(out), *cmd[i:]], cwd=str(REPO))
    import io

    buf = io.StringIO()
    st = pstats.Stats(str(out), stream=buf)
    st.sort_stats("tottime").print_stats(20)
    st.sort_stats("cumulative").print_stats(25)
    keep = BENCH / "out" / f"cprofile-{key}.pstats"
    keep.parent.mkdir(exist_ok=True)
    keep.write_bytes(out.read_bytes())
    return f"cProfile of `{key}` ({' '.join(cmd[2:])}), saved as {keep}:\n" + buf.getvalue()


ITEMS = ("1", "2", "3", "4", "5", "6", "7")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI smoke sizes (< 2 min)")
    ap.add_argument("--tiny", action="store_true",
                    help="with --quick: toy sizes, one run each (the test suite's smoke test)")
    ap.add_argument("--items", default=",".join(ITEMS), help="comma list of 1-7")
    ap.add_argument("--runs", type=int, help="repetitions per measurement")
    ap.add_argument("--ansible-files", type=int,
                    help="files Ansible really applies in item 3 (default: 20, scaled)")
    ap.add_argument("--workdir", type=Path, help="scratch dir (default: a new one in /var/tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir")
    ap.add_argument("--outdir", type=Path, default=BENCH / "out",
                    help="where the .md and .json results go (default: bench/out)")
    ap.add_argument("--cprofile", metavar="KEYS",
                    help="afterwards, run genman measurements under cProfile: a comma list "
                         "of row keys (build-cold, rebuild-1, switch-1000, prune, ...) or "
                         "'slowest'")
    args = ap.parse_args()
    cfg = (TINY if args.tiny else QUICK) if args.quick else FULL
    if args.runs:
        cfg = Config(**{**cfg.__dict__, "runs": args.runs, "big_runs": args.runs,
                        "fast_runs": max(args.runs, cfg.fast_runs)})
    if args.ansible_files:
        cfg = Config(**{**cfg.__dict__, "ansible_files": args.ansible_files})
    items = {i.strip() for i in args.items.split(",") if i.strip()}
    if not items <= set(ITEMS):
        ap.error(f"--items: choose from {','.join(ITEMS)}")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="genman-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    # Byte-compiled, as an installed genman is (the .deb's postinst runs py3compile): with
    # PYTHONDONTWRITEBYTECODE set, as on this machine, every command would compile genman.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "genman")],
                   check=True)
    b = Bench(cfg=cfg, work=work, commands=genman_commands())
    b.log(f"{cfg.name} suite in {work}; genman commands: {' '.join(sorted(b.commands))}")
    steps: list[tuple[str, Callable[[], None]]] = []
    if "1" in items:
        steps.append(("1", lambda: item1_build_cold(b)))
    if "2" in items:
        steps.append(("2", lambda: item2_rebuild_warm(b)))
    if "3" in items:
        steps.append(("3", lambda: item3_switch(b)))
    if "4" in items or "5" in items:
        steps.append(("4/5", lambda: item4_5_generations(b, "4" in items, "5" in items)))
    if "6" in items:
        steps.append(("6", lambda: item6_growth(b)))
    if "7" in items:
        steps.append(("7", lambda: item7_small_files(b)))
    for name, step in steps:
        b.log(f"item {name}")
        try:
            step()
        except CommandFailed as e:
            b.failures.append(f"item {name}: {e}")
            b.log(f"item {name} FAILED: {e}")
        except Exception:  # noqa: BLE001 - report, go on with the next item
            b.failures.append(f"item {name}: {traceback.format_exc()}")
            b.log(f"item {name} FAILED:\n{traceback.format_exc()}")
    profiles = []
    for key in filter(None, (k.strip() for k in (args.cprofile or "").split(","))):
        b.log(f"cProfile of {key}")
        try:
            profiles.append(cprofile(b, key))
        except Exception:  # noqa: BLE001
            b.failures.append(f"cprofile {key}: {traceback.format_exc()}")
    prof = "\n".join(profiles)
    elapsed = time.perf_counter() - t_start

    text = [header(b, started, elapsed), "", table(b), "", "Targets:",
            targets_text(b) or "- (none measured)"]
    if cfg.name in ("quick", "tiny"):
        text[-1:-1] = ["(quick sizes: the targets are stated for the full sizes; "
                       "these verdicts are only indicative)"]
    if b.notes:
        text += ["", "Notes:", *(f"- {n}" for n in b.notes)]
    text += ["", "Setup (not measured items):",
             *(f"- {k}: {fmt_time(v)}" for k, v in b.setup.items())]
    if b.failures:
        text += ["", "FAILED:", *(f"- {f}" for f in b.failures)]
    report = "\n".join(text) + "\n"
    print(report)
    if prof:
        print(prof)
    outdir = args.outdir
    outdir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (outdir / f"results-{cfg.name}-{stamp}.md").write_text(report + ("\n" + prof if prof else ""))
    (outdir / f"results-{cfg.name}-{stamp}.json").write_text(json.dumps({
        "config": cfg.__dict__, "started": started.isoformat(), "elapsed_s": elapsed,
        "rows": [r.to_dict() for r in b.rows],
        "targets": [t.__dict__ for t in b.targets], "notes": b.notes, "setup": b.setup,
        "failures": b.failures, "nix": nix_version(), "ansible": ansible_version(),
    }, indent=1))
    if not args.keep and args.workdir is None:
        remove(work)
    elif args.keep:
        print(f"scratch kept in {work}", file=sys.stderr)
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
