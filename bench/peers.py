"""The peers: Nix (single-user, private store in the bench's work dir) and Ansible
(connection: local, applying to a sandbox dir). Nothing they do lands outside work dirs:
Nix gets NIX_STORE_DIR/NIX_STATE_DIR/NIX_LOG_DIR, Ansible gets ANSIBLE_HOME and its temp
dirs there too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from measure import Sample, run


def version(cmd: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="genman-bench-version-") as home:
        env = {**os.environ, "ANSIBLE_HOME": home, "ANSIBLE_LOCAL_TEMP": home, "HOME": home}
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                 timeout=60, env=env)
        except OSError:
            return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else \
        "not installed"


def nix_version() -> str:
    return version(["nix-store", "--version"])


def ansible_version() -> str:
    return version(["ansible-playbook", "--version"])


def have(cmd: str) -> bool:
    return shutil.which(cmd) is not None


@dataclass(frozen=True)
class Nix:
    """One private Nix store + state dir, and one profile in it."""

    dir: Path

    @property
    def profile(self) -> Path:
        return self.dir / "profiles" / "bench"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            # offline: no binary cache; no sandbox (the per-file builders are /bin/sh);
            # builds in parallel on every core, as NixOS sets it (nix.settings.max-jobs
            # defaults to "auto" there; Nix's own default is 1)
            "NIX_CONFIG": "build-users-group =\nauto-optimise-store = false\n"
                          "substituters =\nsandbox = false\nmax-jobs = auto",
            "NIX_STORE_DIR": str(self.dir / "store"),
            "NIX_STATE_DIR": str(self.dir / "var"),
            "NIX_LOG_DIR": str(self.dir / "log"),
            "NIX_CONF_DIR": str(self.dir / "etc"),  # no /etc/nix/nix.conf of the host
            "HOME": str(self.dir / "home"),
        })
        env.pop("NIX_REMOTE", None)
        return env

    def init(self) -> None:
        for d in ("store", "var", "log", "etc", "home", "profiles"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)

    def add(self, *trees: Path) -> tuple[Sample, list[str]]:
        s = run(["nix-store", "--add", *map(str, trees)], env=self.env())
        return s, s.stdout.split()

    def set(self, store_path: str) -> Sample:
        return run(["nix-env", "-p", str(self.profile), "--set", store_path], env=self.env())

    def list_generations(self) -> Sample:
        return run(["nix-env", "-p", str(self.profile), "--list-generations"], env=self.env())

    def delete_generations(self, keep: int) -> Sample:
        return run(["nix-env", "-p", str(self.profile), "--delete-generations", f"+{keep}"],
                   env=self.env())

    def build(self, expr: Path) -> tuple[Sample, str]:
        """nix-build of an expression (the fair peer's etc.nix); its output path."""
        s = run(["nix-build", "--no-out-link", str(expr)], env=self.env())
        return s, s.stdout.strip().splitlines()[-1] if s.stdout.strip() else ""

    def gc(self) -> Sample:
        return run(["nix-store", "--gc"], env=self.env())

    def remove(self) -> None:
        remove(self.dir)


@dataclass(frozen=True)
class Ansible:
    dir: Path  # ANSIBLE_HOME and temp dirs

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "ANSIBLE_HOME": str(self.dir),
            "ANSIBLE_LOCAL_TEMP": str(self.dir / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(self.dir / "remote-tmp"),
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_PIPELINING": "True",  # its fastest local setting
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_GATHERING": "explicit",
            "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        })
        return env

    def play(self, playbook: Path) -> Sample:
        return run(["ansible-playbook", "-i", "localhost,", str(playbook)], env=self.env())


def remove(path: Path) -> None:
    """rm -rf, including read-only store directories."""
    if not os.path.lexists(path):
        return
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)
    shutil.rmtree(path)


def snapshot(src: Path, dst: Path) -> None:
    """A full copy (cp -a) of a state tree, to restore later at the same path."""
    remove(dst)
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def restore(snap: Path, dst: Path) -> None:
    remove(dst)
    subprocess.run(["cp", "-a", str(snap), str(dst)], check=True)


# The fair peer: /etc as NixOS builds it, one derivation per file (what `pkgs.writeText`
# makes: passAsFile + a builder that copies it to $out) joined by one derivation that
# links each into an etc tree (what nixos/modules/system/etc/make-etc.sh does: mkdir -p
# and ln -s per entry). No nixpkgs (nothing is downloaded): the builders are /bin/sh.
ETC_NIX = r"""
let
  system = builtins.currentSystem;
  writeText = name: text: derivation {
    inherit name system text;
    builder = "/bin/sh";
    passAsFile = [ "text" ];
    args = [ "-c" "/bin/cat \"$textPath\" > \"$out\"" ];
  };
  entries = map (f: {
    inherit (f) path;
    drv = writeText (baseNameOf f.path) (builtins.readFile f.src);
  }) (import ./files.nix);
  script = builtins.concatStringsSep "\n" ([ "set -e" ] ++ map (e:
    "/bin/mkdir -p \"$out/${dirOf e.path}\"; /bin/ln -s ${e.drv} \"$out/${e.path}\"") entries);
in derivation {
  name = "etc";
  inherit system script;
  builder = "/bin/sh";
  passAsFile = [ "script" ];
  args = [ "-c" ". \"$scriptPath\"" ];
}
"""


def nix_etc_expr(etc: Path, dest: Path) -> Path:
    """Write etc.nix and files.nix (one entry per file below `etc`) into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    lines = ["["]
    for dirpath, _, filenames in sorted(os.walk(etc)):
        for n in sorted(filenames):
            src = os.path.join(dirpath, n)
            rel = os.path.relpath(src, etc)
            if any(c in src for c in '$"\\'):
                raise ValueError(f"{src}: a name the generated expression cannot quote")
            lines.append(f'  {{ path = "{rel}"; src = /. + "{src}"; }}')
    lines.append("]")
    (dest / "files.nix").write_text("\n".join(lines) + "\n")
    (dest / "etc.nix").write_text(ETC_NIX)
    return dest / "etc.nix"
