"""Guest disk images, made without loop devices or mounts (see /work/shared/VM-NOTES.md).

UEFI: one GPT disk, ESP (FAT32, label ESP) + root (ext4, label genroot), both written at
their partition offsets straight into the image file (mkfs.vfat --offset, mtools @@offset,
mkfs.ext4 -E offset). That is what a real host looks like, so genman's ESP probing sees a
real partition type. BIOS: one MBR disk, root at sector 2048, GRUB's boot.img + core.img
written into the gap by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .cache import log
from .package import GUEST_GENMAN, install_genman
from .trees import REPO, VARIANTS, base_tree

SECTOR = 512
ESP_START = 2048  # sectors
ESP_MIB = 256
ROOT_MIB = 4096
ROOT_LABEL = "genroot"
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
VAR_LABEL = "genvar"
VAR_MIB = 2048
ESP_LABEL = "ESP"
KERNEL_PARAMS = f"root=LABEL={ROOT_LABEL} rw console=ttyS0 panic=-1"
GRUB_MODULES = (
    "part_gpt part_msdos fat ext2 search search_label search_fs_file configfile linux "
    "normal serial terminal echo test sleep loadenv"
)


@dataclass(frozen=True)
class Combo:
    firmware: str  # uefi | bios
    bootloader: str  # systemd-boot | grub
    variant: str = "systemd"  # guest init: systemd | sysvinit
    separate_var: bool = False  # /var on its own partition (label genvar)

    @property
    def id(self) -> str:
        loader = "sdboot" if self.bootloader == "systemd-boot" else self.bootloader
        suffix = "" if self.variant == "systemd" else f"-{self.variant}"
        return f"{self.firmware}-{loader}{suffix}{'-var' if self.separate_var else ''}"

    @property
    def has_esp(self) -> bool:
        return self.firmware == "uefi"

    def genman_cmd(self) -> str:
        """How the tests call genman in this guest: the packaged command (package.py),
        bootloader and ESP named explicitly, since a bare FAT on virtio is all the
        probing has to go on."""
        if self.bootloader == "systemd-boot":
            return f"{GUEST_GENMAN} --bootloader systemd-boot --esp /boot/efi"
        return f"{GUEST_GENMAN} --bootloader grub --boot-dir /boot"


COMBOS = [
    Combo("uefi", "systemd-boot"),
    Combo("uefi", "grub"),
    Combo("bios", "grub"),
]


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}{res.stderr}"
        )
    return res


# ---------------------------------------------------------------- trees


def kernel_versions(tree: Path) -> list[str]:
    """Installed kernels, newest first (by the ABI number Debian puts in the name)."""
    vers = [p.name.removeprefix("vmlinuz-") for p in (tree / "boot").glob("vmlinuz-*")]

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.replace("-", ".").split(".") if x.isdigit())

    return sorted(vers, key=key, reverse=True)


def prepare_tree(combo: Combo, dest: Path) -> Path:
    """A private copy of the cached base tree with genman's .deb installed (apt-get, in a
    chroot) and the image's fstab, ready for mkfs (or for a host-side `genman --root`
    first, which runs this checkout's genman on the host)."""
    base = base_tree(VARIANTS[combo.variant])
    tree = dest / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    run(["cp", "-a", "--reflink=auto", str(base), str(tree)])
    install_genman(tree)
    install_profiles(tree)
    fstab = [f"LABEL={ROOT_LABEL} / ext4 errors=remount-ro 0 1"]
    if combo.separate_var:
        fstab.append(f"LABEL={VAR_LABEL} /var ext4 defaults 0 2")
    if combo.has_esp:
        # pass 0: the guest has no fsck.vfat (dosfstools is not in the package list).
        fstab.append(f"LABEL={ESP_LABEL} /boot/efi vfat umask=0077 0 0")
    (tree / "etc/fstab").write_text("\n".join(fstab) + "\n")
    return tree


def install_profiles(tree: Path) -> None:
    src = REPO / "vm-tests/profiles"
    dest = tree / "etc/genman/vm"
    if dest.exists():
        shutil.rmtree(dest)
    if src.is_dir():
        shutil.copytree(src, dest)


# ---------------------------------------------------------------- boot loaders


def distro_grub_entry(tree: Path) -> str:
    ver = kernel_versions(tree)[0]
    return (
        "menuentry 'Debian GNU/Linux (distro kernel)' --id distro {\n"
        f"\tsearch --no-floppy --label {ROOT_LABEL} --set=root\n"
        f"\tlinux /boot/vmlinuz-{ver} {KERNEL_PARAMS}\n"
        f"\tinitrd /boot/initrd.img-{ver}\n"
        "}\n"
    )


def write_grub_cfg(tree: Path, platform: str) -> None:
    """The host's own grub.cfg, as update-grub would make it with genman's hook installed:
    serial console, genman's menu first, the distro kernel below as a safety net."""
    grub = tree / "boot/grub"
    grub.mkdir(parents=True, exist_ok=True)
    mods = grub / platform
    if mods.exists():
        shutil.rmtree(mods)
    shutil.copytree(Path("/usr/lib/grub") / platform, mods)
    # Output on serial only: under OVMF "console" is mirrored to the same UART, and two
    # renderers drawing one menu garble it. Input under OVMF through "console": OVMF's
    # terminal driver polls the UART anyway, so GRUB's own serial reader would race it
    # for every key (seen: keys lost, an Enter swallowed); under SeaBIOS only serial.
    term_in = "console" if platform.endswith("efi") else "serial"
    (grub / "grub.cfg").write_text(
        "serial --unit=0 --speed=115200\n"
        f"terminal_input {term_in}\n"
        "terminal_output serial\n"
        "set timeout=4\n"
        "set timeout_style=menu\n"
        "set default=0\n"
        f"search --no-floppy --label {ROOT_LABEL} --set=root\n"
        "# genman's hook (/etc/grub.d/NN_genman) puts this in a real host's grub.cfg\n"
        "if [ -f /boot/genman/grub.cfg ]; then\n"
        "\tsource /boot/genman/grub.cfg\n"
        "fi\n" + distro_grub_entry(tree)
    )


def stage_systemd_boot(tree: Path, esp: Path) -> None:
    """systemd-boot as removable-media loader plus a distro entry as the safety net.
    genman adds its entries next to it and names its default in loader.conf."""
    (esp / "EFI/BOOT").mkdir(parents=True, exist_ok=True)
    shutil.copy(Path("/usr/lib/systemd/boot/efi/systemd-bootx64.efi"), esp / "EFI/BOOT/BOOTX64.EFI")
    (esp / "EFI/systemd").mkdir(parents=True, exist_ok=True)
    shutil.copy(
        Path("/usr/lib/systemd/boot/efi/systemd-bootx64.efi"),
        esp / "EFI/systemd/systemd-bootx64.efi",
    )
    entries = esp / "loader/entries"
    entries.mkdir(parents=True, exist_ok=True)
    loader_conf = esp / "loader/loader.conf"
    if not loader_conf.exists():
        loader_conf.write_text("timeout 4\nconsole-mode keep\neditor no\n")
    ver = kernel_versions(tree)[0]
    (esp / "distro").mkdir(exist_ok=True)
    shutil.copy(tree / f"boot/vmlinuz-{ver}", esp / "distro/vmlinuz")
    shutil.copy(tree / f"boot/initrd.img-{ver}", esp / "distro/initrd.img")
    (entries / "distro.conf").write_text(
        "title Debian GNU/Linux (distro kernel)\n"
        "sort-key zz-distro\n"
        "linux /distro/vmlinuz\n"
        "initrd /distro/initrd.img\n"
        f"options {KERNEL_PARAMS}\n"
    )


def stage_grub_efi(esp: Path, workdir: Path) -> None:
    stub = workdir / "grub-stub.cfg"
    stub.write_text(
        f"search --no-floppy --label {ROOT_LABEL} --set=root\n"
        "set prefix=($root)/boot/grub\n"
        "configfile ($root)/boot/grub/grub.cfg\n"
    )
    (esp / "EFI/BOOT").mkdir(parents=True, exist_ok=True)
    run(
        [
            "grub-mkstandalone",
            "-O",
            "x86_64-efi",
            "-o",
            str(esp / "EFI/BOOT/BOOTX64.EFI"),
            f"--modules={GRUB_MODULES}",
            f"boot/grub/grub.cfg={stub}",
        ]
    )


def esp_dir_for(tree: Path) -> Path:
    """Where the ESP's contents are staged before they go into the FAT: the tree's own
    /boot/efi, so a host-side `genman --root TREE --esp TREE/boot/efi` writes there."""
    return tree / "boot/efi"


def stage_bootloader(combo: Combo, tree: Path, workdir: Path) -> None:
    """Everything a bootloader needs in the tree (and the ESP staging dir)."""
    esp = esp_dir_for(tree)
    if combo.bootloader == "systemd-boot":
        stage_systemd_boot(tree, esp)
    elif combo.firmware == "uefi":
        write_grub_cfg(tree, "x86_64-efi")
        stage_grub_efi(esp, workdir)
    else:
        write_grub_cfg(tree, "i386-pc")


# ---------------------------------------------------------------- disks


def make_disk(combo: Combo, tree: Path, out: Path) -> Path:
    """Write the disk image `out` (raw, sparse) from a prepared, staged tree."""
    if out.exists():
        out.unlink()
    root_start = ESP_START + ESP_MIB * 2048 if combo.has_esp else ESP_START
    var_start = root_start + ROOT_MIB * 2048
    total = (var_start + (VAR_MIB * 2048 if combo.separate_var else 0) + 2048) * SECTOR
    run(["truncate", "-s", str(total), str(out)])
    linux = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
    if combo.has_esp:
        table = (
            "label: gpt\n"
            f"start={ESP_START}, size={ESP_MIB}MiB, type={ESP_TYPE}, name=esp\n"
            f"start={root_start}, size={ROOT_MIB}MiB, type={linux}, name=root\n"
        )
        if combo.separate_var:
            table += f"start={var_start}, size={VAR_MIB}MiB, type={linux}, name=var\n"
    else:
        table = f"label: dos\nstart={root_start}, size={ROOT_MIB}MiB, type=83, bootable\n"
        if combo.separate_var:
            table += f"start={var_start}, size={VAR_MIB}MiB, type=83\n"
    run(["sfdisk", "-q", str(out)], input=table)
    if combo.separate_var:
        # /var's contents go to their own file system; the root keeps an empty mount point.
        var = tree / "var"
        var_moved = tree.parent / "var-staged"
        if var_moved.exists():
            shutil.rmtree(var_moved)
        var.rename(var_moved)
        var.mkdir()
        try:
            run(
                [
                    "mkfs.ext4",
                    "-q",
                    "-F",
                    "-L",
                    VAR_LABEL,
                    "-E",
                    f"offset={var_start * SECTOR}",
                    "-d",
                    str(var_moved),
                    str(out),
                    f"{VAR_MIB}M",
                ]
            )
            return _make_rest(combo, tree, out, root_start)
        finally:
            var.rmdir()
            var_moved.rename(var)
    return _make_rest(combo, tree, out, root_start)


def _make_rest(combo: Combo, tree: Path, out: Path, root_start: int) -> Path:
    """The ESP and the root file system (and GRUB's BIOS stages) into the partitioned image."""
    esp_stage = esp_dir_for(tree)
    moved: Path | None = None
    if combo.has_esp:
        run(
            [
                "mkfs.vfat",
                "-F",
                "32",
                "-s",
                "1",
                "-n",
                ESP_LABEL,
                "--offset",
                str(ESP_START),
                str(out),
                str(ESP_MIB * 1024),
            ]
        )
        img = f"{out}@@{ESP_START * SECTOR}"
        items = sorted(esp_stage.iterdir())
        if items:
            run(["mcopy", "-s", "-p", "-Q", "-i", img, *map(str, items), "::/"])
        # The ESP's files live on the FAT, not under the root's mount point.
        moved = tree.parent / "esp-staged"
        if moved.exists():
            shutil.rmtree(moved)
        esp_stage.rename(moved)
        esp_stage.mkdir()
    try:
        run(
            [
                "mkfs.ext4",
                "-q",
                "-F",
                "-L",
                ROOT_LABEL,
                "-E",
                f"offset={root_start * SECTOR}",
                "-d",
                str(tree),
                str(out),
                f"{ROOT_MIB}M",
            ]
        )
    finally:
        if moved is not None:
            esp_stage.rmdir()
            moved.rename(esp_stage)
    if combo.firmware == "bios":
        install_grub_bios(out, tree.parent)
    return out


def install_grub_bios(disk: Path, workdir: Path) -> None:
    """boot.img in the MBR, core.img right after it; both fit below sector 2048."""
    core = workdir / "core.img"
    run(
        [
            "grub-mkimage",
            "-O",
            "i386-pc",
            "-o",
            str(core),
            "-p",
            "(hd0,msdos1)/boot/grub",
            "biosdisk",
            *GRUB_MODULES.replace("part_gpt ", "").replace("fat ", "").split(),
        ]
    )
    if core.stat().st_size > (ESP_START - 1) * SECTOR:
        raise RuntimeError(
            f"core.img is {core.stat().st_size} bytes: does not fit before sector 2048"
        )
    run(
        [
            "dd",
            "if=/usr/lib/grub/i386-pc/boot.img",
            f"of={disk}",
            "bs=440",
            "count=1",
            "conv=notrunc",
        ]
    )
    run(["dd", f"if={core}", f"of={disk}", "bs=512", "seek=1", "conv=notrunc"])


def overlay(base: Path, out: Path) -> Path:
    """A copy-on-write qcow2 over a base image: each test boots its own disk cheaply."""
    if out.exists():
        out.unlink()
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(base), str(out)])
    return out


def build_image(combo: Combo, workdir: Path, host_prepare: list[list[str]] | None = None) -> Path:
    """Tree -> staged bootloader -> optional host-side genman runs -> disk image.
    host_prepare: genman argument lists run on the host against the tree; "{tree}" and
    "{esp}" in them stand for the tree and its ESP staging directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    tree = prepare_tree(combo, workdir)
    stage_bootloader(combo, tree, workdir)
    for raw_args in host_prepare or []:
        args = [
            a.replace("{tree}", str(tree)).replace("{esp}", str(esp_dir_for(tree)))
            for a in raw_args
        ]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        log("host: genman " + " ".join(args))
        res = subprocess.run(
            ["python3", "-m", "genman", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        (workdir / "host-genman.log").open("a").write(
            f"$ genman {' '.join(args)}\n{res.stdout}{res.stderr}\n"
        )
        if res.returncode != 0:
            raise AssertionError(
                f"host-side genman {' '.join(args)} failed ({res.returncode}):\n"
                f"{res.stdout}{res.stderr}"
            )
    disk = make_disk(combo, tree, workdir / f"{combo.id}.raw")
    shutil.rmtree(tree)  # 1 GB each; the image has it all
    return disk
