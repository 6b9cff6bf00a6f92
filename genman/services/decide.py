"""Pure: which service actions a switch needs, and where they go in the plan.

`service_actions` returns two lists for `plan_switch` (genman.plan) to place: the first runs
before /etc changes (units stopped with the definition they were started with, as NixOS's
switch-to-configuration does for `stopIfChanged`), the second after it (one daemon-reload,
then reload / restart / start, then a check that what was started still runs).

On systemd a unit's old and new definitions (its file and drop-ins, wherever genman manages
them) are compared key by key (genman.services.units); only running units are acted on;
each unit type gets the action that suits it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from genman.manifest import Manifest, ServiceEntry
from genman.services import Action, InitSystem, ServiceChange
from genman.services.names import full_name, template_of, unit_type
from genman.services.state import SETTLE_DEFAULT, UNIT_DIR, unit_files
from genman.services.units import Need, UnitDef, Verdict, compare, parse
from genman.state import SystemState


def _not_run(live: bool) -> str:
    return "" if live else " [planned only: not run under --root]"


@dataclass(frozen=True)
class DaemonReload:
    live: bool

    def describe(self) -> str:
        return "services: daemon-reload (a unit file changed)" + _not_run(self.live)


@dataclass(frozen=True)
class Service:
    change: ServiceChange
    live: bool

    def describe(self) -> str:
        runs = self.change.action not in (Action.SKIP, Action.UNCHANGED)
        return f"services: {self.change.describe()}" + (_not_run(self.live) if runs else "")


@dataclass(frozen=True)
class CheckRunning:
    """After the starts: wait `settle` seconds, then each unit must still run."""

    changes: tuple[ServiceChange, ...]
    settle: float
    live: bool

    def describe(self) -> str:
        units = ", ".join(c.unit for c in self.changes)
        return (f"services: after {self.settle:g} s, check that {units} still run"
                + _not_run(self.live))


ServiceAction = DaemonReload | Service | CheckRunning


# ---------------------------------------------------------------- unit definitions


_UNMANAGED = "unmanaged:"  # prefix of a file name in _Defs that is not a store name


class _Defs:
    """A generation's managed unit files, read as definitions per unit. For the generation
    switched from, `unmanaged` adds the system's own files that the next one takes over:
    they, not nothing, are what the running units were loaded from."""

    def __init__(self, state: SystemState, m: Manifest | None,
                 unmanaged: Mapping[str, str] | None = None) -> None:
        self.files = unit_files(m)
        self.texts: Mapping[str, str] = state.services.texts
        if unmanaged:
            extra = {p: t for p, t in unmanaged.items() if p not in self.files}
            self.files = {**self.files, **{p: _UNMANAGED + p for p in extra}}
            self.texts = {**self.texts, **{_UNMANAGED + p: t for p, t in extra.items()}}

    def paths(self, unit: str) -> list[str]:
        """The unit's file (or its template's), then its drop-ins in file-name order."""
        template = template_of(unit)
        base = [p for p in (unit, template) if p and p in self.files][:1]
        dirs = [f"{t}.d/" for t in (template, unit) if t]
        drop = sorted((p for p in self.files if p.endswith(".conf")
                       and any(p.startswith(d) and "/" not in p[len(d):] for d in dirs)),
                      key=lambda p: p.rsplit("/", 1)[-1])
        return base + drop

    def stores(self, unit: str) -> list[str]:
        return [self.files[p] for p in self.paths(unit)]

    def has_file(self, unit: str) -> bool:
        template = template_of(unit)
        return unit in self.files or (template is not None and template in self.files)

    def get(self, unit: str) -> UnitDef | None:
        """None: a file is not readable (not built yet, in a dry run)."""
        stores = self.stores(unit)
        if any(s not in self.texts for s in stores):
            return None
        return parse(*(self.texts[s] for s in stores))

    def units(self) -> set[str]:
        """Every unit a managed file defines or drops in for."""
        out = set()
        for p in self.files:
            head = p.split("/", 1)[0]
            name = head.removesuffix(".d") if "/" in p else head
            if unit_type(name) and ("/" not in p or head.endswith(".d")):
                out.add(name)
        return out


def _verdict(unit: str, old: _Defs, new: _Defs) -> Verdict:
    if old.stores(unit) == new.stores(unit):
        return Verdict(Need.NOTHING, "unit file unchanged")
    a, b = old.get(unit), new.get(unit)
    if a is None or b is None:
        return Verdict(Need.RESTART, "unit file changed (content not built yet)")
    return compare(unit, a, b)


def _triggers_changed(old: Manifest | None, new: Manifest | None, entry: ServiceEntry,
                      skip_units: bool) -> list[str]:
    """The trigger paths whose /etc entries differ (unit files left to the comparison)."""
    before = old.etc if old else {}
    after = new.etc if new else {}
    out = []
    for t in entry.restart_triggers:
        t = t.rstrip("/")
        if skip_units and (t + "/").startswith(UNIT_DIR + "/"):
            continue
        paths = {p for p in before.keys() | after.keys() if p == t or p.startswith(t + "/")}
        if any(before.get(p) != after.get(p) for p in paths):
            out.append(t)
    return out


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True)
class _Decision:
    before: tuple[ServiceChange, ...] = ()
    after: tuple[ServiceChange, ...] = ()


class _Planner:
    def __init__(self, state: SystemState, old: Manifest | None, new: Manifest | None):
        self.state = state
        self.systemd = state.init_system is InitSystem.SYSTEMD
        self.old, self.new = old, new
        self.old_defs = _Defs(state, old, state.services.unmanaged)
        self.new_defs = _Defs(state, new)
        self.decided: dict[str, _Decision] = {}  # full unit name -> decision
        self.restarted: list[str] = []  # units stopped before and started after

    def running(self, unit: str) -> bool:
        return self.state.services.running(full_name(unit))

    def put(self, unit: str, before: tuple[ServiceChange, ...] = (),
            after: tuple[ServiceChange, ...] = ()) -> None:
        self.decided[full_name(unit)] = _Decision(before, after)

    def need(self, n: ServiceEntry | None, unit: str) -> Verdict:
        """The largest need of the unit definition and (for a [services] entry `n`) its
        restart triggers."""
        verdict = (_verdict(full_name(unit), self.old_defs, self.new_defs) if self.systemd
                   else Verdict(Need.NOTHING, ""))
        if n is None:
            return verdict
        changed = _triggers_changed(self.old, self.new, n, skip_units=self.systemd)
        if not changed:
            return verdict
        by_policy = Need.RELOAD if n.on_change == "reload" else Need.RESTART
        trig = Verdict(by_policy, "changed: " + ", ".join(changed))
        if trig.need > verdict.need:
            return trig if verdict.need < Need.RELOAD else Verdict(
                trig.need, f"{trig.reason}; {verdict.reason}")
        if verdict.need > trig.need:
            return verdict
        return Verdict(verdict.need, f"{trig.reason}; {verdict.reason}")

    def changed(self, name: str, unit: str, n: ServiceEntry | None, v: Verdict) -> None:
        """A unit in both generations whose definition or triggers changed by `v`."""
        full = full_name(unit)
        if v.need is Need.NOTHING:
            self.put(unit, after=(ServiceChange(name, unit, Action.UNCHANGED,
                                                "nothing it uses changed"),))
            return
        if v.need is Need.IGNORED:
            self.put(unit, after=(ServiceChange(name, unit, Action.UNCHANGED, v.reason),))
            return
        if n is not None and n.on_change == "none":
            self.skip(name, unit, f"{v.reason} (on_change = none)")
            return
        if not self.running(unit):
            self.skip(name, unit, f"{v.reason}; not running ({self.state.services.status(full)}"
                      "): stays stopped")
            return
        self.by_type(name, unit, n, v)

    def skip(self, name: str, unit: str, reason: str) -> None:
        self.put(unit, after=(ServiceChange(name, unit, Action.SKIP, reason),))

    def by_type(self, name: str, unit: str, n: ServiceEntry | None, v: Verdict) -> None:
        kind = unit_type(full_name(unit)) if self.systemd else "service"
        if v.need is Need.RELOAD and self.state.services.reloads(full_name(unit)) is False:
            v = Verdict(Need.RESTART, f"{v.reason}; its OpenRC script has no reload "
                        "(extra_started_commands): restarted instead")
        d = self.new_defs.get(full_name(unit)) if self.systemd else None
        if d is not None and d.flag("Unit", "RefuseManualStart") and v.need is Need.RESTART:
            self.skip(name, unit, f"{v.reason}; RefuseManualStart=yes: systemd starts it "
                      "only for a unit that needs it")
            return
        match kind:
            case "target" | "slice":
                self.skip(name, unit, f"{v.reason}; a {kind} is not restarted")
            case "device" | "scope":
                self.skip(name, unit, f"{v.reason}; a {kind} cannot be restarted")
            case "service" | "mount" if v.need is Need.RELOAD:
                self.put(unit, after=(ServiceChange(name, unit, Action.RELOAD, v.reason),))
            case "service":
                self.stop_start(name, unit, n, v.reason)
            case "socket":
                self.socket(name, unit, n, d, v.reason)
            case _:  # mount, swap, automount, path, timer: restarted in place
                self.put(unit, after=(ServiceChange(name, unit, Action.RESTART, v.reason),))

    def stop_start(self, name: str, unit: str, n: ServiceEntry | None, reason: str) -> None:
        if n is not None and not n.stop_if_changed:
            self.put(unit, after=(ServiceChange(name, unit, Action.RESTART,
                                                f"{reason} (stop_if_changed = false)"),))
            return
        self.put(unit, before=(ServiceChange(name, unit, Action.STOP,
                                             f"{reason}: stopped with its old definition"),),
                 after=(ServiceChange(name, unit, Action.START, reason),))
        self.restarted.append(full_name(unit))

    def socket(self, name: str, unit: str, n: ServiceEntry | None, d: UnitDef | None,
               reason: str) -> None:
        self.stop_start(name, unit, n, reason)
        stem = full_name(unit).removesuffix(".socket")
        service = (d.last("Socket", "Service") if d else None) or f"{stem}.service"
        had = self.decided.get(service)
        idle = had is None or (not had.before and all(
            c.action in (Action.UNCHANGED, Action.SKIP) for c in had.after))
        if idle and self.state.services.running(service):
            why = f"activated by {full_name(unit)}, which changed: started again on demand"
            self.decided.pop(service, None)  # after its socket: stopped once nothing can start it
            self.decided[service] = _Decision(before=(
                ServiceChange(service, service, Action.STOP, why),))

    def new_unit(self, name: str, unit: str) -> None:
        d = self.new_defs.get(full_name(unit)) if self.systemd else None
        if d is not None and d.flag("Unit", "RefuseManualStart"):
            self.skip(name, unit, "new in the profile; RefuseManualStart=yes: systemd starts "
                      "it only for a unit that needs it")
            return
        if self.state.services.probed and self.running(unit):
            # Adopting a host (genman import): started again, a oneshot init script such
            # as rc.local would run twice, and a non-LSB script fails "already running".
            self.put(unit, after=(ServiceChange(name, unit, Action.ENABLE, "new in the "
                                                "profile; already running: not started again",
                                                at_boot=True),))
            return
        self.put(unit, after=(ServiceChange(name, unit, Action.START, "new in the profile",
                                            at_boot=True),))

    def declared(self) -> None:
        before = self.old.services if self.old else {}
        after = self.new.services if self.new else {}
        for name in sorted(before.keys() - after.keys()):
            unit = before[name].unit
            self.put(unit, before=(ServiceChange(name, unit, Action.STOP,
                                                 "no longer in the profile", at_boot=True),))
        for name in sorted(after, key=lambda n: (unit_type(full_name(after[n].unit)) == "socket",
                                                 n)):
            n, o = after[name], before.get(name)
            if o is None:
                self.new_unit(name, n.unit)
            elif full_name(o.unit) != full_name(n.unit):
                # Another unit takes over: stop the old one, start the new one.
                self.put(o.unit, before=(ServiceChange(name, o.unit, Action.STOP,
                                                       f"replaced by {n.unit}", at_boot=True),))
                self.put(n.unit, after=(ServiceChange(name, n.unit, Action.START,
                                                      f"replaces {o.unit}", at_boot=True),))
            else:
                self.changed(name, n.unit, n, self.need(n, n.unit))

    def undeclared(self) -> None:
        """Units genman only holds files for (an [etc] unit or drop-in): acted on when they
        run and changed; never started (nothing asked for that)."""
        units = self.old_defs.units() | self.new_defs.units()
        expanded: set[str] = set()
        for u in units:
            if template_of(u) is None and "@." in u:  # a template: its loaded instances
                expanded.update(self.state.services.instances(u))
            else:
                expanded.add(u)
        for unit in sorted(expanded, key=lambda u: (unit_type(u) == "socket", u)):
            if unit in self.decided:
                continue
            v = self.need(None, unit)
            if v.need < Need.RELOAD:
                continue
            if not self.new_defs.has_file(unit) and self.old_defs.has_file(unit):
                if self.running(unit):
                    self.put(unit, before=(ServiceChange(unit, unit, Action.STOP,
                                                         "its unit file left the profile"),))
                continue
            if not self.old_defs.has_file(unit) and self.new_defs.has_file(unit) \
                    and not self.running(unit):
                self.skip(unit, unit, "new unit file, not under [services]: not started")
                continue
            self.changed(unit, unit, None, v)

    def unit_files_changed(self) -> bool:
        """Whether systemd must read its unit files again: a file's text changed, or one
        came or went (a file taken over unchanged from the system does not count)."""
        old, new = self.old_defs, self.new_defs
        for path in old.files.keys() | new.files.keys():
            a, b = old.files.get(path), new.files.get(path)
            if a == b:
                continue
            if a is None or b is None or not a.startswith(_UNMANAGED):
                return True
            if b not in new.texts or old.texts[a] != new.texts[b]:
                return True
        return False

    def dependents(self) -> None:
        """Units that need one stopped and started again (Requires=, BindsTo=, PartOf=) were
        stopped with it by systemd; start them again."""
        for dep in sorted(self.new_defs.units()):
            d = self.new_defs.get(dep)
            if dep in self.decided or d is None or not self.running(dep):
                continue
            needs = (d.names("Unit", "Requires") | d.names("Unit", "BindsTo")
                     | d.names("Unit", "PartOf"))
            hit = sorted(needs & set(self.restarted))
            if hit:
                self.put(dep, after=(ServiceChange(dep, dep, Action.START, f"it needs {hit[0]}"
                                                   ", which is stopped and started again"),))


def service_actions(state: SystemState, old: Manifest | None, new: Manifest | None
                    ) -> tuple[list[ServiceAction], list[ServiceAction]]:
    """(before /etc changes, after it) for going from `old` to `new`."""
    p = _Planner(state, old, new)
    p.declared()
    if p.systemd:
        p.undeclared()
        p.dependents()
    live = state.live
    before: list[ServiceAction] = [Service(c, live) for d in p.decided.values()
                                   for c in d.before]
    after: list[ServiceAction] = []
    if p.systemd and p.unit_files_changed():
        after.append(DaemonReload(live))
    changes = [c for d in p.decided.values() for c in d.after]
    after += [Service(c, live) for c in changes]
    started = tuple(c for c in changes if c.action in (Action.START, Action.RESTART))
    if started:
        after.append(CheckRunning(started, _settle(state, new, started), live))
    return before, after


def _settle(state: SystemState, new: Manifest | None, started: tuple[ServiceChange, ...]
            ) -> float:
    """The longest `settle` of the started services (the default for units without one),
    or the environment's override."""
    if state.services.settle is not None:
        return state.services.settle
    entries = new.services if new else {}

    def settle(c: ServiceChange) -> float:
        e = entries.get(c.name)
        return e.settle if e is not None and e.settle is not None else SETTLE_DEFAULT

    return max(settle(c) for c in started)
