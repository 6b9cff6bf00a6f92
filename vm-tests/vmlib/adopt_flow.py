"""Adopting a host as it is (`genman import`), a step any guest can run last: switching
to the imported profile must change no byte under /etc and restart nothing."""

from __future__ import annotations

from .images import Combo
from .machine import Machine
from .scenario import genman

# Content of every file under /etc, read through links (after the switch most are links
# into the store), genman's own paths left out, and mtab (a link to /proc/self/mounts: the
# kernel's mount table, not a file); one line per path, so a difference names it.
ETC_SUMS = (
    "cd /etc && find . -xdev \\( -type f -o -type l \\) ! -path './static' ! -path './mtab' "
    "! -path './static/*' ! -path './genman/*' ! -path './.genman*' -print0 | sort -z | "
    "xargs -0 -r sha256sum 2>/dev/null"
)


def import_changes_nothing(m: Machine, combo: Combo, pid_cmds: list[str]) -> None:
    """pid_cmds: shell commands that print the pid of each running service to watch."""
    m.succeed(f"{ETC_SUMS} > /root/etc-before.sums; true")
    mtab = m.succeed("readlink /etc/mtab")
    pids = {c: m.succeed(c).strip() for c in pid_cmds}
    assert all(pid not in ("", "0") for pid in pids.values()), f"not all running: {pids}"
    genman(m, combo, "import /root/adopted")
    dry = genman(m, combo, "switch --dry-run --diff /root/adopted/profile.toml")
    print(f"[vm] {combo.id}: import, then switch --dry-run --diff:\n{dry.out[-3000:]}")
    genman(m, combo, "switch /root/adopted/profile.toml")
    m.succeed(f"{ETC_SUMS} > /root/etc-after.sums; true")
    m.succeed("diff /root/etc-before.sums /root/etc-after.sums")  # not a byte changed
    assert m.succeed("readlink /etc/mtab") == mtab
    assert {c: m.succeed(c).strip() for c in pid_cmds} == pids, "a service restarted"
    m.succeed(" && ".join(f"kill -0 $({c})" for c in pid_cmds))
