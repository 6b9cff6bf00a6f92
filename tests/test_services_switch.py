"""Service decisions end to end: a pair of old/new profiles in a sandbox root that genman
treats as the running system, the init system's tools replaced by a recording fake at the
one subprocess seam, and the exact commands a switch runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock

import pytest
from pytest_mock import MockerFixture

from genman.layout import Layout
from genman.process import Result

APP = ("[Unit]\nDescription=app\n[Service]\nExecStart=/usr/bin/app\n[Install]\n"
       "WantedBy=multi-user.target\n")
INIT_D = "#!/bin/sh\necho app\n"


@dataclass
class FakeInit:
    """Answers systemctl / service / rc-service like an init with `running` units; records
    every call with the /etc/static it saw."""

    root: Path
    running: set[str] = field(default_factory=set)
    dies: set[str] = field(default_factory=set)  # start returns 0, then the unit is dead
    calls: list[tuple[list[str], str | None]] = field(default_factory=list)

    def static(self) -> str | None:
        p = self.root / "etc/static"
        return os.readlink(p) if p.is_symlink() else None

    def __call__(self, argv: list[str], *, check: bool, **_: object) -> Result:
        self.calls.append((list(argv), self.static()))
        args = [a for a in argv if a != "--"]
        out = ""
        if args[:2] == ["systemctl", "list-units"]:
            out = "".join(f"{u} loaded active running x\n" for u in sorted(self.running))
        elif args[:2] == ["systemctl", "show"]:
            out = "\n".join(f"ActiveState={'active' if u in self.running else 'failed'}\n"
                            f"SubState={'running' if u in self.running else 'failed'}\n"
                            for u in args[3:])
        elif args[0] in ("systemctl", "service", "rc-service") and len(args) >= 3:
            verb, unit = (args[1], args[2]) if args[0] == "systemctl" else (args[2], args[1])
            unit = unit if "." in unit else f"{unit}.service"
            if verb == "status":
                ok = unit in self.running
                return Result(tuple(argv), 0 if ok else 3, f"{unit}: boom: bad config\n", "")
            if verb in ("start", "restart", "enable"):
                unit = args[-1] if verb == "enable" else unit
                unit = unit if "." in unit else f"{unit}.service"
                if unit not in self.dies:
                    self.running.add(unit)
            elif verb in ("stop", "disable"):
                self.running.discard(unit)
        return Result(tuple(argv), 0, out, "")

    def commands(self) -> list[str]:
        return [" ".join(a) for a, _ in self.calls]


@pytest.fixture
def live(tmp_path: Path, mocker: MockerFixture, genman: Any, monkeypatch: pytest.MonkeyPatch
         ) -> Callable[[str, str, dict[str, str], set[str], str], tuple[FakeInit, Any]]:
    """(old profile, new profile, files beside them, running units, init) -> (fake, result
    of switching from old to new)."""
    from tests.helpers import make_root

    mocker.patch.object(Layout, "is_live", new_callable=PropertyMock, return_value=True)
    monkeypatch.setenv("GENMAN_SERVICE_SETTLE", "0")
    root = make_root(tmp_path)
    current: list[FakeInit] = []
    for module in ("systemd", "sysvinit", "openrc"):
        mocker.patch(f"genman.services.{module}.run", autospec=True,
                     side_effect=lambda *a, **kw: current[-1](*a, **kw))

    def run(old: str, new: str, files: dict[str, str], running: set[str],
            init: str = "systemd", *extra: str, dies: frozenset[str] = frozenset()
            ) -> tuple[FakeInit, Any]:
        d = tmp_path / "profiles"
        d.mkdir(exist_ok=True)
        for name, text in files.items():
            (d / name).write_text(text)
        head = '[system]\nhostname = "sandbox"\n'
        (d / "old.toml").write_text(head + old)
        (d / "new.toml").write_text(head + new)
        fake = FakeInit(root, set(running))
        current.append(fake)
        r = genman("--root", root, "switch", "--init-system", init, d / "old.toml")
        assert r.code == 0, r.err
        fake.running = set(running)
        fake.dies = set(dies)
        fake.calls.clear()
        return fake, genman("--root", root, "switch", "--init-system", init, *extra,
                            d / "new.toml")

    return run


ETC_UNIT = '[etc."systemd/system/app.service"]\nsource = "{}"\n[services.app]\nunit = "app"\n'
PROBE = "systemctl list-units --all --full --plain --no-legend --no-pager"
CHECK = "systemctl show --property=ActiveState,SubState -- app.service"


def test_etc_unit_change_stops_with_old_definition_reloads_then_starts(live: Any) -> None:
    fake, r = live(ETC_UNIT.format("a.service"), ETC_UNIT.format("b.service"),
                   {"a.service": APP, "b.service": APP.replace("app\n[I", "app -v\n[I")},
                   {"app.service"})
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE, "systemctl stop -- app", "systemctl daemon-reload",
                               "systemctl start -- app", CHECK]
    stop_saw, start_saw = fake.calls[1][1], fake.calls[3][1]
    assert stop_saw != start_saw  # stopped before /etc/static moved, started after


def test_description_only_change_is_a_daemon_reload(live: Any) -> None:
    fake, r = live(ETC_UNIT.format("a.service"), ETC_UNIT.format("b.service"),
                   {"a.service": APP, "b.service": APP.replace("=app", "=the app")},
                   {"app.service"})
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE, "systemctl daemon-reload"]


TRIGGER = ('[etc."app.conf"]\ntext = "{}"\n[services.app]\nunit = "app"\n'
           'restart_triggers = ["app.conf"]\n{}')


@pytest.mark.parametrize(("init", "probe", "stop", "start", "check"), [
    ("systemd", [PROBE], "systemctl stop -- app", "systemctl start -- app", [CHECK]),
    ("sysvinit", ["service app status"], "service app stop", "service app start",
     ["service app status"]),
    ("openrc", ["rc-service -- app status"], "rc-service -- app stop",
     "rc-service -- app start", ["rc-service -- app status"]),
])
def test_changed_stopped_reloaded_and_dying_services(
        live: Any, init: str, probe: list[str], stop: str, start: str, check: list[str]
) -> None:
    # running: stopped before the switch, started after it, checked
    fake, r = live(TRIGGER.format("1", ""), TRIGGER.format("2", ""), {}, {"app.service"}, init)
    assert r.code == 0, r.err
    assert fake.commands() == [*probe, stop, start, *check]
    # stopped: stays stopped, and the plan says why
    fake, r = live(TRIGGER.format("3", ""), TRIGGER.format("4", ""), {}, set(), init)
    assert r.code == 0, r.err
    assert fake.commands() == probe
    # reload where asked
    fake, r = live(TRIGGER.format("5", 'on_change = "reload"\n'),
                   TRIGGER.format("6", 'on_change = "reload"\n'), {}, {"app.service"}, init)
    assert r.code == 0, r.err
    assert fake.commands() == [*probe, stop.replace("stop", "reload")]


OPENRC_APP = "#!/sbin/openrc-run\ncommand=/usr/bin/app\ncommand_background=yes\n"
RELOADING = OPENRC_APP + 'extra_started_commands="reload"\nreload() {\n\t:\n}\n'
RELOAD = 'on_change = "reload"\n'


def test_openrc_reloads_only_a_script_that_declares_reload(live: Any, tmp_path: Path) -> None:
    """rc-service NAME reload fails for an openrc-run script without it ("unknown function
    `reload'"): such a service is stopped and started instead. The script read is the one
    the new generation brings under [etc], else the system's."""
    script = tmp_path / "root/etc/init.d/app"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(OPENRC_APP)
    status = "rc-service -- app status"
    fake, r = live(TRIGGER.format("1", RELOAD), TRIGGER.format("2", RELOAD), {},
                   {"app.service"}, "openrc")
    assert r.code == 0, r.err
    assert fake.commands() == [status, "rc-service -- app stop", "rc-service -- app start",
                               status]
    script.write_text(RELOADING)
    fake, r = live(TRIGGER.format("3", RELOAD), TRIGGER.format("4", RELOAD), {},
                   {"app.service"}, "openrc")
    assert r.code == 0, r.err
    assert fake.commands() == [status, "rc-service -- app reload"]
    # the new generation's own script (managed as /etc/init.d/app) is the one that counts
    script.unlink()
    managed = '[etc."init.d/app"]\nsource = "{}"\nmode = "0755"\n'
    fake, r = live(TRIGGER.format("5", RELOAD) + managed.format("plain"),
                   TRIGGER.format("6", RELOAD) + managed.format("reloading"),
                   {"plain": OPENRC_APP, "reloading": RELOADING}, {"app.service"}, "openrc")
    assert r.code == 0, r.err
    assert fake.commands() == [status, "rc-service -- app reload"]


@pytest.mark.parametrize("init", ["systemd", "sysvinit", "openrc"])
def test_a_service_that_dies_after_start_is_exit_4_with_its_log(live: Any, init: str) -> None:
    fake, r = live(TRIGGER.format("1", ""), TRIGGER.format("2", ""), {}, {"app.service"},
                   init, dies=frozenset({"app.service"}))
    assert r.code == 4, r.err
    assert "error: service app (app) failed to start" in r.err
    assert "not running 0 s after its start" in r.err
    assert "boom: bad config" in r.err
    starts = [c for c in fake.commands() if c.split()[-1] == "start" or " start " in c]
    assert len(starts) == 1  # the start itself succeeded; the check found it dead


def test_dry_run_json(live: Any) -> None:
    fake, r = live(TRIGGER.format("1", ""), TRIGGER.format("2", ""), {}, {"app.service"},
                   "systemd", "--dry-run", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    services = [(a["action"], a["unit"], a["reason"]) for a in plan if a["kind"] == "service"]
    assert services == [
        ("stop", "app", "changed: app.conf: stopped with its old definition"),
        ("start", "app", "changed: app.conf")]
    kinds = [a["kind"] for a in plan]
    assert kinds.index("service") < kinds.index("flip_static") < kinds.index("check_running")
    assert fake.commands() == [PROBE]  # planned, nothing run


TEMPLATE_UNIT = ('[vars]\ndescription = "{}"\n'
                 '[etc."systemd/system/app.service"]\ntemplate = "app.service.j2"\n'
                 '[services.app]\nunit = "app"\n')


@pytest.mark.parametrize("description, reloads, why", [
    ("the app", 1, "only [Unit] Description= changed"),  # what the switch does
    ("app", 0, "nothing it uses changed"),  # rendered as before
])
def test_dry_run_reads_a_rendered_unit_as_the_switch_will(
        live: Any, description: str, reloads: int, why: str) -> None:
    """A unit rendered from a template exists nowhere before the build: the dry run takes
    it as rendered, so its plan is the switch's (not "changed": a stop and a start)."""
    files = {"app.service.j2": APP.replace("=app\n", "={{ vars.description }}\n")}
    old, new = TEMPLATE_UNIT.format("app"), TEMPLATE_UNIT.format(description)
    new += '[etc."motd"]\ntext = "a new generation either way"\n'
    fake, r = live(old, new, files, {"app.service"}, "systemd", "--dry-run", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    services = [(a["action"], a["text"]) for a in plan if a["kind"] == "service"]
    assert services == [("unchanged", f"services: unchanged app (app): {why}" + (
        ", which the running unit does not use" if reloads else ""))]
    assert [a["kind"] for a in plan].count("daemon_reload") == reloads
    assert fake.commands() == [PROBE]
    fake, r = live(old, new, files, {"app.service"}, "systemd")
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE] + ["systemctl daemon-reload"] * reloads


def test_settle_from_the_profile_and_the_environment(live: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`settle` in [services.X] sets the wait before the check; GENMAN_SERVICE_SETTLE
    overrides it."""
    def settle(r: Any) -> list[float]:
        assert r.code == 0, r.err
        return [a["settle"] for a in json.loads(r.out) if a["kind"] == "check_running"]

    extra = 'settle = "5s"\n'
    _, r = live(TRIGGER.format("1", extra), TRIGGER.format("2", extra), {}, {"app.service"},
                "systemd", "--dry-run", "--json")
    assert settle(r) == [0]  # the fixture's GENMAN_SERVICE_SETTLE=0
    monkeypatch.delenv("GENMAN_SERVICE_SETTLE")
    _, r = live(TRIGGER.format("3", ""), TRIGGER.format("4", extra), {}, {"app.service"},
                "systemd", "--dry-run", "--json")
    assert settle(r) == [5.0]


def test_stop_if_changed_false_restarts_in_place(live: Any) -> None:
    extra = "stop_if_changed = false\n"
    fake, r = live(TRIGGER.format("1", extra), TRIGGER.format("2", extra), {}, {"app.service"})
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE, "systemctl restart -- app", CHECK]


MOUNT = "[Mount]\nWhat=/dev/vdb\nWhere=/srv/foo-bar\nOptions={}\n"
MOUNT_PROFILE = '[services.data]\nunit = "srv-data.mount"\nunit_file = "{}.mount"\n'


def test_mount_reloads_when_only_options_changed(live: Any) -> None:
    fake, r = live(MOUNT_PROFILE.format("m1"), MOUNT_PROFILE.format("m2"),
                   {"m1.mount": MOUNT.format("ro"), "m2.mount": MOUNT.format("rw")},
                   {"srv-data.mount"})
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE, "systemctl daemon-reload",
                               "systemctl reload -- srv-data.mount"]


ESCAPED = ('[etc."data.conf"]\ntext = "{}"\n[services.data]\n'
           'unit = "srv-foo\\\\x2dbar.mount"\nrestart_triggers = ["data.conf"]\n')


def test_escaped_unit_names_are_accepted_and_passed_after_dashes(live: Any) -> None:
    fake, r = live(ESCAPED.format("1"), ESCAPED.format("2"), {}, {"srv-foo\\x2dbar.mount"})
    assert r.code == 0, r.err
    assert fake.commands() == [
        PROBE, "systemctl restart -- srv-foo\\x2dbar.mount",
        "systemctl show --property=ActiveState,SubState -- srv-foo\\x2dbar.mount"]


def test_escaped_unit_file_without_unit(live: Any, tmp_path: Path) -> None:
    """A unit_file named as systemd escapes its unit names the unit: installed under that
    name, compared, daemon-reloaded and restarted with it."""
    for version, what in (("old", "vdb"), ("new", "vdc")):
        unit = tmp_path / "profiles" / version / "srv-foo\\x2dbar.mount"
        unit.parent.mkdir(parents=True)
        unit.write_text(MOUNT.format("ro").replace("vdb", what))
    profile = '[services.data]\nunit_file = "{}/srv-foo\\\\x2dbar.mount"\n'
    fake, r = live(profile.format("old"), profile.format("new"),
                   {}, {"srv-foo\\x2dbar.mount"})
    assert r.code == 0, r.err
    assert fake.commands() == [
        PROBE, "systemctl daemon-reload", "systemctl restart -- srv-foo\\x2dbar.mount",
        "systemctl show --property=ActiveState,SubState -- srv-foo\\x2dbar.mount"]


def test_bad_unit_name_hints_the_escaped_one(live: Any, tmp_path: Path, genman: Any) -> None:
    from tests.helpers import make_root

    p = tmp_path / "bad.toml"
    p.write_text('[system]\nhostname = "h"\n[services.data]\nunit = "/srv/foo bar.mount"\n')
    r = genman("build", p)
    assert r.code == 1
    assert "unit = 'srv-foo\\x20bar.mount'" in r.err
    # the hint is TOML as it stands: pasted into the profile, it builds
    hint = next(ln for ln in r.err.splitlines() if ln.startswith("hint:"))
    fixed = hint.split("e.g. ", 1)[1].split(" (", 1)[0]
    p.write_text(f'[system]\nhostname = "h"\n[services.data]\n{fixed}\n')
    r = genman("--root", make_root(tmp_path / "other"), "build", p)
    assert r.code == 0, r.err


def etc_unit(path: str, body: str) -> str:
    return f"[etc.\"systemd/system/{path}\"]\ntext = '''\n{body}'''\n"


SHOW = "systemctl show --property=ActiveState,SubState -- "
SIMPLE = "[Service]\nExecStart=/usr/bin/{}\n"

PAIRS = [
    pytest.param(  # a drop-in of a declared unit
        etc_unit("app.service", APP) + etc_unit("app.service.d/10-x.conf", "[Service]\nNice=1\n")
        + '[services.app]\nunit = "app"\n',
        etc_unit("app.service", APP) + etc_unit("app.service.d/10-x.conf", "[Service]\nNice=2\n")
        + '[services.app]\nunit = "app"\n',
        {"app.service"},
        [PROBE, "systemctl stop -- app", "systemctl daemon-reload", "systemctl start -- app",
         CHECK], id="drop-in"),
    pytest.param(  # a template under [etc]: its running instance, not the stopped one
        etc_unit("getty@.service", SIMPLE.format("getty")),
        etc_unit("getty@.service", SIMPLE.format("agetty")),
        {"getty@tty1.service", "other.service"},
        [PROBE, "systemctl stop -- getty@tty1.service", "systemctl daemon-reload",
         "systemctl start -- getty@tty1.service", SHOW + "getty@tty1.service"], id="template"),
    pytest.param(  # a target is not restarted; a new one is started
        etc_unit("x.target", "[Unit]\nWants=a.service\n") + '[services.x]\nunit = "x.target"\n',
        etc_unit("x.target", "[Unit]\nWants=b.service\n") + '[services.x]\nunit = "x.target"\n'
        + etc_unit("y.target", "[Unit]\nWants=b.service\n") + '[services.y]\nunit = "y.target"\n',
        {"x.target"},
        [PROBE, "systemctl daemon-reload", "systemctl enable --now -- y.target",
         SHOW + "y.target"], id="targets"),
    pytest.param(  # a socket: socket and service stopped before, the socket started after
        etc_unit("web.socket", "[Socket]\nListenStream=80\n") + '[services.web]\nunit = '
        '"web.socket"\n',
        etc_unit("web.socket", "[Socket]\nListenStream=81\n") + '[services.web]\nunit = '
        '"web.socket"\n',
        {"web.socket", "web.service"},
        [PROBE, "systemctl stop -- web.socket", "systemctl stop -- web.service",
         "systemctl daemon-reload", "systemctl start -- web.socket", SHOW + "web.socket"],
        id="socket"),
    pytest.param(  # a timer restarts in place
        etc_unit("x.timer", "[Timer]\nOnCalendar=daily\n"),
        etc_unit("x.timer", "[Timer]\nOnCalendar=weekly\n"),
        {"x.timer"},
        [PROBE, "systemctl daemon-reload", "systemctl restart -- x.timer", SHOW + "x.timer"],
        id="timer"),
    pytest.param(  # PartOf= the restarted unit: started again after it
        etc_unit("app.service", APP) + '[services.app]\nunit = "app"\n'
        + etc_unit("side.service", "[Unit]\nPartOf=app.service\n" + SIMPLE.format("side")),
        etc_unit("app.service", APP.replace("/app\n", "/app2\n")) + '[services.app]\nunit = '
        '"app"\n' + etc_unit("side.service", "[Unit]\nPartOf=app.service\n"
                             + SIMPLE.format("side")),
        {"app.service", "side.service"},
        [PROBE, "systemctl stop -- app", "systemctl daemon-reload", "systemctl start -- app",
         "systemctl start -- side.service", SHOW + "app.service side.service"], id="part-of"),
    pytest.param(  # RefuseManualStart=: left alone (systemd would refuse the start)
        etc_unit("r.service", "[Unit]\nRefuseManualStart=yes\n" + SIMPLE.format("r1")),
        etc_unit("r.service", "[Unit]\nRefuseManualStart=yes\n" + SIMPLE.format("r2")),
        {"r.service"}, [PROBE, "systemctl daemon-reload"], id="refuse-manual-start"),
    # Escaped unit names kept under [etc] (TOML's "\\x2d" is the file name's \x2d): the
    # same decisions, the names passed to systemctl after "--" as systemd spells them.
    pytest.param(  # a mount whose What= changed: restarted in place
        etc_unit("srv-foo\\\\x2dbar.mount", MOUNT.format("ro")),
        etc_unit("srv-foo\\\\x2dbar.mount", MOUNT.format("ro").replace("vdb", "vdc")),
        {"srv-foo\\x2dbar.mount"},
        [PROBE, "systemctl daemon-reload", "systemctl restart -- srv-foo\\x2dbar.mount",
         SHOW + "srv-foo\\x2dbar.mount"], id="escaped-mount"),
    pytest.param(  # only its drop-in's Options= changed: remounted by a reload
        etc_unit("srv-foo\\\\x2dbar.mount", MOUNT.format("ro"))
        + etc_unit("srv-foo\\\\x2dbar.mount.d/o.conf", "[Mount]\nOptions=ro\n"),
        etc_unit("srv-foo\\\\x2dbar.mount", MOUNT.format("ro"))
        + etc_unit("srv-foo\\\\x2dbar.mount.d/o.conf", "[Mount]\nOptions=rw\n"),
        {"srv-foo\\x2dbar.mount"},
        [PROBE, "systemctl daemon-reload", "systemctl reload -- srv-foo\\x2dbar.mount"],
        id="escaped-mount-drop-in"),
    pytest.param(  # a swap on a disk label
        etc_unit("dev-disk-by\\\\x2dlabel-x.swap", "[Swap]\nPriority=1\n"),
        etc_unit("dev-disk-by\\\\x2dlabel-x.swap", "[Swap]\nPriority=2\n"),
        {"dev-disk-by\\x2dlabel-x.swap"},
        [PROBE, "systemctl daemon-reload", "systemctl restart -- dev-disk-by\\x2dlabel-x.swap",
         SHOW + "dev-disk-by\\x2dlabel-x.swap"], id="escaped-swap"),
    pytest.param(  # a declared service with an escaped name: stopped, reloaded, started
        etc_unit("foo\\\\x2dbar.service", SIMPLE.format("a"))
        + '[services.foo]\nunit = "foo\\\\x2dbar"\n',
        etc_unit("foo\\\\x2dbar.service", SIMPLE.format("b"))
        + '[services.foo]\nunit = "foo\\\\x2dbar"\n',
        {"foo\\x2dbar.service"},
        [PROBE, "systemctl stop -- foo\\x2dbar", "systemctl daemon-reload",
         "systemctl start -- foo\\x2dbar", SHOW + "foo\\x2dbar.service"],
        id="escaped-service"),
    pytest.param(  # stopped by the admin: stays stopped, only the daemon-reload
        etc_unit("foo\\\\x2dbar.service", SIMPLE.format("a"))
        + '[services.foo]\nunit = "foo\\\\x2dbar"\n',
        etc_unit("foo\\\\x2dbar.service", SIMPLE.format("b"))
        + '[services.foo]\nunit = "foo\\\\x2dbar"\n',
        set(), [PROBE, "systemctl daemon-reload"], id="escaped-service-stopped"),
]


@pytest.mark.parametrize(("old", "new", "running", "expected"), PAIRS)
def test_unit_kinds(live: Any, old: str, new: str, running: set[str],
                    expected: list[str]) -> None:
    fake, r = live(old, new, {}, running)
    assert r.code == 0, r.err
    assert fake.commands() == expected


# As `genman import` writes a file of the system's: a copy with its mode, which is left
# in place when it holds the same text.
SIDE = '[etc."systemd/system/side.service"]\nsource = "side"\nmode = "0644"\n'
SIDE_UNIT = "[Service]\nExecStart=/usr/bin/side\n"


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_unit_file_taken_over_unchanged_restarts_nothing(live: Any, tmp_path: Path,
                                                           dry_run: bool) -> None:
    """The host's own unit file, now in the profile with the same text (what `genman
    import` writes): the running unit was loaded from that text, so nothing restarts and
    systemd reads nothing again; the dry run says the same (the file is read from the
    profile's source, as the switch reads it from the store)."""
    unit = tmp_path / "root/etc/systemd/system/side.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(SIDE_UNIT)
    unit.chmod(0o644)
    extra = ("--dry-run",) if dry_run else ()
    fake, r = live("", SIDE, {"side": SIDE_UNIT}, {"side.service"}, "systemd", *extra)
    assert r.code == 0, r.err
    assert fake.commands() == [PROBE]
    assert "side" not in r.out.replace("/etc/systemd/system/side.service", "")
    assert "daemon-reload" not in r.out


def test_a_unit_file_taken_over_with_another_text_restarts_its_unit(live: Any,
                                                                     tmp_path: Path) -> None:
    unit = tmp_path / "root/etc/systemd/system/side.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(SIDE_UNIT)
    fake, r = live("", SIDE, {"side": SIDE_UNIT + "Nice=5\n"}, {"side.service"}, "systemd",
                   "--backup")
    assert r.code == 0, r.err
    assert fake.commands()[1:] == ["systemctl stop -- side.service", "systemctl daemon-reload",
                                   "systemctl start -- side.service",
                                   "systemctl show --property=ActiveState,SubState -- "
                                   "side.service"]
