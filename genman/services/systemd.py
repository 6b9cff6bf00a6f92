"""systemd: systemctl, every unit name after `--` (`-.mount` is a valid unit)."""

from __future__ import annotations

from collections.abc import Sequence

from genman.process import Result, run
from genman.services import Action, InitSystem, UnitStatus, tail
from genman.services.names import full_name

_VERBS = {Action.START: "start", Action.STOP: "stop", Action.RESTART: "restart",
          Action.RELOAD: "reload"}


def parse_list_units(text: str) -> dict[str, UnitStatus]:
    """`systemctl list-units --all --plain --no-legend`: UNIT LOAD ACTIVE SUB DESCRIPTION."""
    out = {}
    for line in text.splitlines():
        fields = line.replace("●", " ").split()
        if len(fields) >= 4:
            out[fields[0]] = UnitStatus(fields[2], fields[3])
    return out


def parse_show(text: str, units: Sequence[str]) -> dict[str, UnitStatus]:
    """`systemctl show -p ActiveState,SubState -- UNITS`: one blank-line-separated block
    per unit, in the order asked."""
    out = {}
    blocks = [b for b in text.strip("\n").split("\n\n")]
    for unit, block in zip(units, blocks, strict=False):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        out[unit] = UnitStatus(props.get("ActiveState", "unknown"), props.get("SubState", ""))
    return out


class Systemd:
    name = InitSystem.SYSTEMD

    def daemon_reload(self) -> Result:
        return run(["systemctl", "daemon-reload"], check=False)

    def apply(self, action: Action, unit: str, at_boot: bool = False) -> Result:
        # A service the profile adds must also come up at boot; one it drops must not.
        if at_boot and action is Action.START:
            return run(["systemctl", "enable", "--now", "--", unit], check=False)
        if at_boot and action is Action.STOP:
            return run(["systemctl", "disable", "--now", "--", unit], check=False)
        if action is Action.ENABLE:
            return run(["systemctl", "enable", "--", unit], check=False)
        return run(["systemctl", _VERBS[action], "--", unit], check=False)

    def probe(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        # One call for every loaded unit: instances of templates and dependents included.
        r = run(["systemctl", "list-units", "--all", "--full", "--plain", "--no-legend",
                 "--no-pager"], check=True)
        return parse_list_units(r.stdout)

    def check(self, units: Sequence[str]) -> dict[str, UnitStatus]:
        names = [full_name(u) for u in units]
        r = run(["systemctl", "show", "--property=ActiveState,SubState", "--", *names],
                check=False)
        return {u: s for u, s in zip(units, parse_show(r.stdout, names).values(),
                                     strict=False)}

    def status_tail(self, unit: str, lines: int = 10) -> str:
        r = run(["systemctl", "status", "--no-pager", f"--lines={lines}", "--", unit],
                check=False)
        return tail(r, lines)
