"""Setup helper (not a measured item): make many genman generations fast, through genman
itself, in one process: rewrite the profile's `special` var, load, build, repeat.

    python3 bench/mkgens.py ROOT PROFILE COUNT

Durability is switched off for the setup (the per-build syncfs and directory fsyncs
would make 1,000 builds take minutes on a shared disk); the generations are the same.
Falls back to one `python3 -m genman build` per generation if genman's Python API moved.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout

SPECIAL = re.compile(r'^special = ".*"$', re.M)


def set_special(profile: Path, value: str) -> None:
    text = profile.read_text()
    profile.write_text(SPECIAL.sub(f'special = "{value}"', text, count=1))


def main() -> int:
    root, profile, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    try:
        from genman import fsutil, generation
        from genman import profile as profile_mod
        from genman.layout import Layout

        fsutil.sync_filesystem = lambda path: None  # type: ignore[assignment]
        fsutil.fsync_dir = lambda path: None  # type: ignore[assignment]
        layout = Layout.for_root(root)

        def build_one() -> None:
            prof = profile_mod.load(profile, layout)
            generation.build(prof, layout)
    except (ImportError, AttributeError) as e:
        print(f"mkgens: genman API changed ({e}); using the CLI", file=sys.stderr)

        def build_one() -> None:
            subprocess.run([sys.executable, "-m", "genman", "--root", str(root), "build",
                            str(profile)], check=True, stdout=subprocess.DEVNULL)

    for i in range(count):
        set_special(profile, f"gen{i:05d}")
        build_one()
    set_special(profile, "a")
    print(f"{count} generations in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
