"""What genman's init adds to a boot: from the generation's `init` starting to its exec of
the real init, in a QEMU guest (TCG here: no KVM), with a profile of N managed files.

The init marks both moments in the kernel log ("genman: init of GEN started", "... done;
starting /sbin/init"); the kernel timestamps them, so the figure is the guest's own clock
and includes everything the init does on the way: mounting /proc, remounting / read-write
for the /etc links, `activate --boot` (the /etc farm, the ledger, /run/genman), the store
made read-only. The image is the vm-tests' bios-grub guest, prepared from the host with
`genman --root TREE switch` of a generated profile (the vm-tests' common.toml plus N files
of ~1 KiB in 10 directories through one `source`); each boot after the first is a reboot
into the same generation. Run as root, with the vm-tests' tools installed:

    .venv/bin/python bench/boot.py [--files 1000] [--boots 3]

Prints one line per boot and the median; writes bench/out/boot-<time>.md and each
boot's kernel log beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "vm-tests"))

from vmlib.images import Combo, build_image, overlay  # noqa: E402
from vmlib.machine import Machine  # noqa: E402
from vmlib.scenario import boot_menu, booted_generation  # noqa: E402

COMBO = Combo("bios", "grub")
MARK = re.compile(r"^\s*\[\s*(\d+\.\d+)\]\s+genman: init of (\S+) (started|done; starting (\S+))$")
RUN_INIT = re.compile(r"^\s*\[\s*(\d+\.\d+)\]\s+Run (\S+) as init process")


def write_profile(d: Path, files: int) -> Path:
    """The vm-tests' common profile (its two services' files included) plus `files`
    files of 768-1,280 bytes in 10 dirs."""
    rng = random.Random(files)
    src = d / "files"
    for i in range(files):
        sub = src / f"d{i % 10:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        line = f"# bench file {i}\nkey_{i} = "
        (sub / f"f{i:05d}.conf").write_text(line + "x" * (rng.randint(768, 1280) - len(line))
                                            + "\n")
    profile = d / "profile.toml"
    profile.write_text(
        f'imports = ["{REPO}/vm-tests/profiles/common.toml"]\n\n'
        f'[system]\ndescription = "boot bench, {files} files"\n\n'
        '[etc."genman-vm/marker"]\ntext = "boot bench\\n"\n\n'
        '[etc."demo/a.conf"]\ntext = "a\\n"\n\n[etc."demo/b.conf"]\ntext = "b\\n"\n\n'
        '[etc."bench"]\nsource = "files"\n')
    return profile


def marks(dmesg: str) -> dict[str, float]:
    """Kernel timestamps (seconds since boot) of the init's two marks and of the kernel
    starting the first userspace (the initramfs)."""
    out: dict[str, float] = {}
    for line in dmesg.splitlines():
        if m := MARK.match(line):
            out["started" if m.group(3) == "started" else "done"] = float(m.group(1))
        elif (m := RUN_INIT.match(line)) and "kernel-init" not in out:
            out["kernel-init"] = float(m.group(1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000, help="managed files (default 1000)")
    ap.add_argument("--boots", type=int, default=3, help="boots measured (default 3)")
    ap.add_argument("--outdir", type=Path, default=BENCH / "out")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/boot.py builds a guest image (debootstrap, chroot): run it as root")
    # the host-side `python3 -m genman` of build_image is this interpreter's
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    with tempfile.TemporaryDirectory(prefix="genman-bench-boot-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        profile = write_profile(work / "profile", args.files)
        started = time.monotonic()
        loader = ["--bootloader", "grub", "--boot-dir", "{tree}/boot"]
        base = build_image(COMBO, work / "image",
                           [["--root", "{tree}", *loader, "switch", str(profile)]])
        print(f"image with {args.files:,} managed files built in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        m = Machine("boot-bench", overlay(base, work / "boot.qcow2"), work / "vm",
                    firmware=COMBO.firmware, bootloader=COMBO.bootloader)
        rows: list[dict[str, float]] = []
        dmesgs: list[str] = []
        try:
            m.start()
            for n in range(1, args.boots + 1):
                if n > 1:
                    m.reboot()
                boot_menu(m)
                if booted_generation(m) != 1:
                    sys.exit(f"boot {n}: the guest did not boot generation 1 "
                             f"({m.succeed('cat /proc/cmdline').strip()})")
                count = int(m.succeed("find -L /etc/bench -type f | wc -l"))
                if count != args.files:
                    sys.exit(f"boot {n}: /etc/bench has {count} files, not {args.files}")
                dmesg = m.succeed("dmesg")
                dmesgs.append(dmesg)
                found = marks(dmesg)
                if "started" not in found or "done" not in found:
                    sys.exit(f"boot {n}: genman's init marks are not in the kernel log")
                rows.append(found)
                print(f"boot {n}: init {1000 * (found['done'] - found['started']):.0f} ms "
                      f"(kernel started userspace at {found.get('kernel-init', 0):.2f} s, "
                      f"genman's init at {found['started']:.2f} s)", flush=True)
            m.shutdown()
        finally:
            m.kill()
    ms = [1000 * (r["done"] - r["started"]) for r in rows]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    summary = (f"genman init, {args.files:,} managed files, {COMBO.id} guest under TCG: "
               f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, "
               f"n={len(ms)}); load at end {load}")
    print(summary)
    args.outdir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for i, text in enumerate(dmesgs, 1):
        (args.outdir / f"boot-{stamp}-dmesg-{i}.txt").write_text(text)
    (args.outdir / f"boot-{stamp}.md").write_text(
        summary + "\n\n" + "\n".join(f"- boot {i}: {v:.0f} ms" for i, v in enumerate(ms, 1))
        + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
