"""Debian guest trees: debootstrap once per package list, cached outside the checkout.

Run as a script to prebuild the caches (and genman's .deb) in the background:
    python3 vm-tests/vmlib/trees.py systemd sysvinit openrc
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from vmlib.cache import build_once, hash_files, key_of, log
else:
    from .cache import build_once, hash_files, key_of, log

VM_TESTS = Path(__file__).resolve().parent.parent
REPO = VM_TESTS.parent
GUEST_FILES = VM_TESTS / "guest"
# The OpenRC guest's own service scripts: kept apart so that editing them does not
# rebuild the systemd and sysvinit base trees.
OPENRC_FILES = VM_TESTS / "guest-openrc"
INITRD_DIR = REPO / "initrd"
# A second, older kernel in the systemd guest: scenario 6 boots a generation whose
# kernel package was purged afterwards. Must be a different ABI than linux-image-amd64's.
OLD_KERNEL_PACKAGE = "linux-image-6.1.0-47-amd64"
OLD_KERNEL_VERSION = "6.1.0-47-amd64"
# Where the systemd guest holds that package's .deb, not yet installed.
OLD_KERNEL_DEB = Path(f"/var/cache/genman-vm/{OLD_KERNEL_PACKAGE}.deb")
# Bump when base_tree() changes in a way the hashed inputs do not show.
BASE_RECIPE = 5

SUITE = "bookworm"
COMMON = [
    "linux-image-amd64",
    "initramfs-tools",
    "udev",
    "kmod",
    "python3",
    "python3-click",
    "python3-jinja2",
    "python3-psutil",
    "python3-pyudev",
    # genman's other Depends (debian/control): with all of them in the tree, the image's
    # `apt-get install ./genman_*.deb` needs no network.
    "python3-yaml",
]


@dataclass(frozen=True)
class Variant:
    name: str
    init_package: str
    # Installed with apt in the debootstrapped tree: debootstrap takes the first of
    # alternatives (`sysv-rc | file-rc | openrc`), apt then swaps in the one named here.
    then_install: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()  # what this variant's scenarios need beyond COMMON

    @property
    def packages(self) -> list[str]:
        return sorted([self.init_package, *COMMON, *self.extra])


VARIANTS = {
    # grub-common: grub-probe and grub-editenv, as on any host GRUB boots (genman asks
    # grub-probe whether GRUB can write its environment block before it counts boots).
    "systemd": Variant("systemd", "systemd-sysv", extra=("grub-common",)),
    # sshd: `genman deploy` from the host reaches this guest over QEMU's user network.
    "sysvinit": Variant("sysvinit", "sysvinit-core",
                        extra=("grub-common", "iproute2", "openssh-server")),
    # Debian's OpenRC: sysvinit's /sbin/init is PID 1 and its inittab calls
    # /etc/init.d/rcS and rc, which the openrc package replaces (Conflicts: sysv-rc) with
    # wrappers around `openrc sysinit` / `openrc default`. initscripts stays (it depends on
    # `sysv-rc | file-rc | openrc`).
    "openrc": Variant("openrc", "sysvinit-core", then_install=("openrc",)),
}


def host_mirror() -> str:
    """The Debian mirror the host's apt uses (the only network we have)."""
    if env := os.environ.get("GENMAN_VM_MIRROR"):
        return env
    texts = []
    for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if p.is_file():
            texts.append(p.read_text(errors="replace"))
    for text in texts:
        # deb822 stanzas
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split() and "/debian" in uris.group(1):
                return uris.group(1)
        # one-line format
        for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if m.group(2) == SUITE:
                return m.group(1)
    return "http://deb.debian.org/debian"


def debootstrap_tree(variant: Variant) -> Path:
    """A pristine debootstrapped tree; returns the tree directory."""
    mirror = host_mirror()
    parts: list[object] = [SUITE, mirror, variant.packages, "minbase"]
    if variant.then_install:  # the older variants keep their cache keys
        parts.append(list(variant.then_install))
    name = f"debootstrap-{variant.name}-{key_of(*parts)}"

    def build(tmp: Path) -> None:
        tree = tmp / "tree"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(variant.packages),
            SUITE,
            str(tree),
            mirror,
        ]
        log(" ".join(cmd))
        with open(tmp / "debootstrap.log", "w") as out:
            res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
        if res.returncode != 0:
            tail = (tmp / "debootstrap.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"debootstrap failed ({res.returncode}):\n{tail}")
        if variant.then_install:
            # debootstrap left the mirror's package lists and sources.list in the tree.
            chroot(tree, "apt-get", "install", "-y", "--no-install-recommends",
                   *variant.then_install)
        # apt lists and .debs are 100+ MB of nothing the guest needs.
        subprocess.run(["chroot", str(tree), "apt-get", "clean"], check=True)

    return build_once(name, build) / "tree"


def chroot(tree: Path, *cmd: str) -> str:
    """Run `cmd` in the tree with a clean environment; its output (stdout, then stderr)."""
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C",
    }
    res = subprocess.run(
        ["chroot", str(tree), *cmd], env=env, capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"chroot {tree} {' '.join(cmd)} failed:\n{res.stdout}{res.stderr}")
    return res.stdout + res.stderr


def install_file(
    src: Path, dest: Path, mode: int = 0o644, replace: dict[str, str] | None = None
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    for k, v in (replace or {}).items():
        data = data.replace(k.encode(), v.encode())
    dest.write_bytes(data)
    dest.chmod(mode)


# genman's initramfs-tools hook, where the .deb puts it (debian/genman.install); the image's
# install of the .deb takes these files over and checks that they are byte for byte its own
# (package.install_genman), so the initrds made here are the ones the package would make.
INITRD_HOOK_FILES = {
    "lib/genman-initrd.sh": ("usr/share/genman/initrd/genman-initrd.sh", 0o644),
    "initramfs-tools/hooks/genman": ("usr/share/initramfs-tools/hooks/genman", 0o755),
    "initramfs-tools/scripts/local-bottom/genman": (
        "usr/share/initramfs-tools/scripts/local-bottom/genman",
        0o755,
    ),
}


def install_initrd_hook(tree: Path) -> None:
    """genman's initramfs-tools integration at the packaged paths, before the initrds are
    made: installing the .deb per image and regenerating them there would cost 20-40 s
    per kernel for every image."""
    for src, (dest, mode) in INITRD_HOOK_FILES.items():
        install_file(INITRD_DIR / src, tree / dest, mode)


def serial_autologin(tree: Path) -> None:
    inittab = tree / "etc/inittab"
    inittab.write_text(
        inittab.read_text() + "T0:23:respawn:/sbin/getty -L -a root ttyS0 115200 vt100\n"
    )


def openrc_services(tree: Path) -> None:
    """The agent and demo services as openrc-run scripts in the default runlevel: demo-a
    and demo-b as in the other guests, demo-c with a `reload` (SIGHUP: the daemon reads
    its config again, same pid)."""
    initd = tree / "etc/init.d"
    install_file(OPENRC_FILES / "genman-vm-agent", initd / "genman-vm-agent", 0o755)
    install_file(
        OPENRC_FILES / "demo-reloadable", tree / "usr/local/sbin/demo-reloadable", 0o755
    )
    for n in ("a", "b", "c"):
        text = (OPENRC_FILES / "demo").read_text().replace("NAME", n)
        if n == "c":
            text = text.replace("#RELOAD ", "")
        (initd / f"demo-{n}").write_text(text)
        (initd / f"demo-{n}").chmod(0o755)
    for svc in ("genman-vm-agent", "demo-a", "demo-b", "demo-c"):
        chroot(tree, "rc-update", "add", svc, "default")
    serial_autologin(tree)


def base_tree(variant: Variant) -> Path:
    """The debootstrapped tree made into a test guest: agent, demo services, serial
    autologin, genman's initrd hook (initrds regenerated), a second kernel's .deb."""
    pristine = debootstrap_tree(variant)
    # Only what goes into the tree: a dracut edit does not rebuild initramfs-tools guests.
    inputs = hash_files([GUEST_FILES, INITRD_DIR / "lib", INITRD_DIR / "initramfs-tools"])
    if variant.name == "openrc":
        inputs = key_of(inputs, hash_files([OPENRC_FILES]))
    name = f"base-{variant.name}-{key_of(pristine.parent.name, inputs, BASE_RECIPE)}"

    def build(tmp: Path) -> None:
        tree = tmp / "tree"
        subprocess.run(["cp", "-a", "--reflink=auto", str(pristine), str(tree)], check=True)
        (tree / "etc/hostname").write_text("genman-guest\n")
        (tree / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 genman-guest\n")
        chroot(tree, "passwd", "-d", "root")
        (tree / "boot/efi").mkdir(parents=True, exist_ok=True)
        install_file(
            GUEST_FILES / "genman-vm-agent", tree / "usr/local/sbin/genman-vm-agent", 0o755
        )
        install_file(GUEST_FILES / "demo-daemon", tree / "usr/local/sbin/demo-daemon", 0o755)
        if variant.name == "systemd":
            units = tree / "etc/systemd/system"
            install_file(GUEST_FILES / "genman-vm-agent.service", units / "genman-vm-agent.service")
            for n in ("a", "b"):
                install_file(
                    GUEST_FILES / "demo.service", units / f"demo-{n}.service", replace={"NAME": n}
                )
            chroot(
                tree,
                "systemctl",
                "enable",
                "genman-vm-agent.service",
                "demo-a.service",
                "demo-b.service",
            )
            dropin = units / "serial-getty@ttyS0.service.d/autologin.conf"
            dropin.parent.mkdir(parents=True, exist_ok=True)
            dropin.write_text(
                "[Service]\nExecStart=\n"
                "ExecStart=-/sbin/agetty --autologin root "
                "--keep-baud 115200,57600,38400,9600 %I $TERM\n"
            )
        elif variant.name == "openrc":
            openrc_services(tree)
        else:
            initd = tree / "etc/init.d"
            install_file(GUEST_FILES / "genman-vm-agent.init", initd / "genman-vm-agent", 0o755)
            for n in ("a", "b"):
                install_file(
                    GUEST_FILES / "demo.init", initd / f"demo-{n}", 0o755, replace={"NAME": n}
                )
            for svc in ("genman-vm-agent", "demo-a", "demo-b"):
                chroot(tree, "update-rc.d", svc, "defaults")
            serial_autologin(tree)
        install_initrd_hook(tree)
        if variant.name == "systemd":
            # Not installed here: scenario 6 installs it with apt-get in the guest, so that
            # genman's postinst.d hook speaks and the initrd is made with the packaged hook.
            debs = tmp / "debs"
            debs.mkdir()
            subprocess.run(
                ["apt-get", "download", OLD_KERNEL_PACKAGE],
                cwd=debs,
                check=True,
                capture_output=True,
            )
            deb = next(debs.glob("*.deb"))
            install_file(deb, tree / OLD_KERNEL_DEB.relative_to("/"), 0o644)
        chroot(tree, "update-initramfs", "-u", "-k", "all")
        chroot(tree, "apt-get", "clean")

    return build_once(name, build) / "tree"


if __name__ == "__main__":
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from vmlib.package import genman_deb

    names = sys.argv[1:] or list(VARIANTS)
    with ThreadPoolExecutor(len(names) + 1) as pool:
        # genman's .deb too, which every image installs (package.py): seconds, alongside.
        deb = pool.submit(genman_deb)
        for path in pool.map(lambda n: base_tree(VARIANTS[n]), names):
            print(path)
        print(deb.result())
