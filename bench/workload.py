"""Deterministic, seeded workloads for the benchmark: a genman profile with N /etc files
(a few hundred jinja2 templates, the rest plain files in directory `source`s), a package
tree, and the same content laid out for the peers (Nix: one rendered tree; Ansible: a
playbook with `template` and `copy` tasks).

Everything is a function of (Spec, seed): two runs generate byte-identical trees. Source
files get an old, fixed mtime, as config files on a real host have; a file written in the
last two seconds would (rightly) never enter genman's stat cache.
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

MIB = 1 << 20
KIB = 1 << 10
OLD_MTIME = 1_700_000_000  # 2023-11-14: "edited long ago"
HOSTNAME = "bench1"

# bytes -> printable text (config files are text; the store does not care, people do)
_PRINTABLE = bytes(
    (b"abcdefghijklmnopqrstuvwxyz0123456789 =_.\n" * 7)[i] for i in range(256)
)


@dataclass(frozen=True)
class Spec:
    files: int  # /etc files the profile manages (templates included)
    templates: int  # how many of them are jinja2 templates
    dirs: int = 20  # directory `source`s the plain files are spread over
    min_size: int = 1 * KIB
    max_size: int = 64 * KIB
    package_bytes: int = 200 * MIB
    subdirs: bool = True  # plain files also in conf.d/0..7 below each directory source
    nested: int = 0  # >0: every plain file in ONE directory source, spread over this many dirs
    seed: int = 6

    @property
    def plain(self) -> int:
        return self.files - self.templates


@dataclass
class Workload:
    spec: Spec
    dir: Path
    profile: Path  # the genman profile (rewritten by set_special)
    etc_bytes: int = 0
    package_files: int = 0
    template_names: list[str] = field(default_factory=list)
    source_dirs: list[str] = field(default_factory=list)
    special: str = "a"

    # --- the one variable only template 0 reads -------------------------------------

    def set_special(self, value: str) -> None:
        """Change the variable that exactly one template uses (touches one /etc file)."""
        self.special = value
        write_profile(self)

    def plain_files(self) -> list[Path]:
        return sorted((self.dir / "files").rglob("*.conf"))

    def edit_file(self, tag: str) -> Path:
        """Change one plain file (the first) as an editor would: new content, new mtime."""
        p = self.plain_files()[0]
        p.write_bytes(p.read_bytes()[:-40] + f"# edited {tag}\n".encode().rjust(40, b"#"))
        return p

    def context(self) -> dict[str, object]:
        vars_ = profile_vars(self)
        return {**vars_, "vars": vars_, "system": {"hostname": HOSTNAME, "description":
                "genman benchmark", "init": None}}


def _text(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n).translate(_PRINTABLE)


def _log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def profile_vars(w: Workload) -> dict[str, object]:
    return {"site": "fra", "release": 2024010101, "base": 1000, "special": w.special}


def write_profile(w: Workload) -> None:
    lines = [
        "[system]",
        f'hostname = "{HOSTNAME}"',
        'description = "genman benchmark"',
        "",
        "[vars]",
    ]
    for k, v in profile_vars(w).items():
        lines.append(f"{k} = {json.dumps(v)}")
    if w.spec.package_bytes:
        lines += ["", "[packages]", 'app = "pkg"']
    for name in w.template_names:
        lines += ["", f'[etc."tpl/{name}"]', f'template = "templates/{name}.j2"']
    for d in w.source_dirs:
        lines += ["", f'[etc."{d}"]', f'source = "files/{d}"']
    tmp = w.profile.with_suffix(".toml.new")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, w.profile)


def _template(rng: random.Random, idx: int) -> str:
    lines = rng.randint(10, 120)
    static = _text(rng, rng.randint(200, 4 * KIB)).decode()
    head = f"# {{{{ system.hostname }}}} t{idx:04d}, site {{{{ site }}}}\n"
    if idx == 0:
        head += 'special = "{{ special }}"\n'
    return (
        head
        + "release = {{ release }}\n"
        + f"{{% for i in range({lines}) %}}option_{idx}_{{{{ i }}}} = {{{{ base + i }}}}\n"
        + "{% endfor %}"
        + static
        + "\n"
    )


def generate(spec: Spec, dest: Path) -> Workload:
    """Write the workload under dest (which must not exist)."""
    rng = random.Random(spec.seed)
    dest.mkdir(parents=True)
    w = Workload(spec=spec, dir=dest, profile=dest / "profile.toml")

    # templates
    tdir = dest / "templates"
    tdir.mkdir()
    for i in range(spec.templates):
        name = f"t{i:04d}.conf"
        (tdir / f"{name}.j2").write_text(_template(rng, i))
        w.template_names.append(name)

    # plain files, spread over `dirs` directory sources, two levels deep; or (nested) all
    # in one source, over `nested` directories below it, as /etc is
    ndirs = max(1, min(spec.dirs, spec.plain))
    w.source_dirs = ["site"] if spec.nested else [f"app{d:02d}" for d in range(ndirs)]
    for i in range(spec.plain):
        if spec.nested:
            d, sub = "site", f"d{i % spec.nested:02d}"
        else:
            d = w.source_dirs[i % ndirs]
            sub = f"conf.d/{(i // ndirs) % 8}" if i % 3 and spec.subdirs else "."
        p = dest / "files" / d / sub / f"f{i:06d}.conf"
        p.parent.mkdir(parents=True, exist_ok=True)
        size = _log_uniform(rng, spec.min_size, spec.max_size)
        p.write_bytes(_text(rng, size))
        w.etc_bytes += size

    # the package: bin/ with executables, lib/ with a few big files, share/ with many small
    if spec.package_bytes:
        pkg = dest / "pkg"
        for sub in ("bin", "lib", "share/doc"):
            (pkg / sub).mkdir(parents=True)
        left = spec.package_bytes
        n = 0
        for i in range(40):
            size = min(left, rng.randint(16 * KIB, 512 * KIB))
            p = pkg / "bin" / f"app-tool{i:02d}"
            p.write_bytes(b"#!/bin/sh\nexit 0\n" + rng.randbytes(size))
            p.chmod(0o755)
            left -= size
            n += 1
        for i in range(1000):
            size = min(left, rng.randint(1 * KIB, 32 * KIB))
            (pkg / "share/doc" / f"page{i:04d}.txt").write_bytes(_text(rng, size))
            left -= size
            n += 1
        i = 0
        while left > 0:
            size = min(left, 8 * MIB)
            (pkg / "lib" / f"libapp{i:02d}.so").write_bytes(rng.randbytes(size))
            left -= size
            i += 1
            n += 1
        w.package_files = n

    write_profile(w)
    age(dest)
    return w


def age(top: Path) -> None:
    """Give every file and directory below top the same old mtime."""
    for dirpath, _, filenames in os.walk(top):
        for n in filenames:
            os.utime(os.path.join(dirpath, n), (OLD_MTIME, OLD_MTIME))
    for dirpath, dirnames, _ in os.walk(top, topdown=False):
        for n in dirnames:
            os.utime(os.path.join(dirpath, n), (OLD_MTIME, OLD_MTIME))


# ------------------------------------------------------------------ peer layouts


def render_template(w: Workload, name: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(w.dir / "templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(f"{name}.j2").render(w.context())


def nix_tree(w: Workload, dest: Path) -> None:
    """The generation as one plain tree for `nix-store --add`: etc/ (templates rendered
    by the bench, plain files hard-linked) and pkg/ (hard-linked)."""
    etc = dest / "etc"
    (etc / "tpl").mkdir(parents=True)
    for name in w.template_names:
        (etc / "tpl" / name).write_text(render_template(w, name))
    for d in w.source_dirs:
        _link_tree(w.dir / "files" / d, etc / d)
    if w.spec.package_bytes:
        _link_tree(w.dir / "pkg", dest / "pkg")


def nix_rerender(w: Workload, dest: Path) -> None:
    """After set_special: the one template that reads it, rendered again."""
    p = dest / "etc" / "tpl" / w.template_names[0]
    tmp = p.with_suffix(".new")
    tmp.write_text(render_template(w, w.template_names[0]))
    os.replace(tmp, p)


def _link_tree(src: Path, dest: Path) -> None:
    for dirpath, _, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out = dest / rel if rel != "." else dest
        out.mkdir(parents=True, exist_ok=True)
        for n in filenames:
            os.link(os.path.join(dirpath, n), out / n)


def ansible_playbook(w: Workload, sandbox: Path, dest: Path) -> Path:
    """A playbook that puts the same /etc files under sandbox/etc with `template` (the
    templates) and `copy` (one task item per directory source). Returns its path."""
    vars_file = dest / "vars.json"
    vars_file.write_text(json.dumps({**w.context(), "sandbox": str(sandbox)}))
    play = [{
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(vars_file)],
        "tasks": [
            {"name": "template dir", "file": {"path": "{{ sandbox }}/etc/tpl",
                                              "state": "directory"}},
            {"name": "templates", "template": {
                "src": f"{w.dir}/templates/{{{{ item }}}}.j2",
                "dest": "{{ sandbox }}/etc/tpl/{{ item }}", "mode": "0644"},
             "loop": w.template_names},
            {"name": "directory sources", "copy": {
                "src": f"{w.dir}/files/{{{{ item }}}}/",
                "dest": "{{ sandbox }}/etc/{{ item }}/"},
             "loop": w.source_dirs},
        ],
    }]
    path = dest / "playbook.yml"
    path.write_text(json.dumps(play, indent=1))  # JSON is YAML
    return path


def vars_file_update(w: Workload, playbook: Path) -> None:
    """After set_special: the playbook's vars file says the new value."""
    vars_file = playbook.parent / "vars.json"
    data = json.loads(vars_file.read_text())
    data.update(w.context())
    vars_file.write_text(json.dumps(data))
