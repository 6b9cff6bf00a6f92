"""Service decisions as pure data (hand-built states and manifests); each backend's exact
commands through the one subprocess seam."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import call

import pytest
from pytest_mock import MockerFixture

from genman.layout import Layout
from genman.manifest import EtcEntry, Manifest, ServiceEntry
from genman.process import Result
from genman.services import Action, InitSystem, ServiceChange, UnitStatus
from genman.services.backends import backend
from genman.services.decide import CheckRunning, DaemonReload, Service, service_actions
from genman.services.probe import probe_services
from genman.services.state import ServiceQuery, ServiceState, service_query
from genman.state import Markers, SystemState

UP = UnitStatus("active", "running")
DOWN = UnitStatus("inactive", "dead")
SVC = ("[Unit]\nDescription=app\n[Service]\nExecStart=/bin/app\n[Install]\n"
       "WantedBy=multi-user.target\n")


def st(units: dict[str, UnitStatus] | None = None, texts: dict[str, str] | None = None,
       init: InitSystem = InitSystem.SYSTEMD, probed: bool = True,
       unmanaged: dict[str, str] | None = None) -> SystemState:
    return SystemState(
        live=True, init_system=init, can_chown=True, boot_id="b", now="T",
        markers=Markers(None, None, None, frozenset()), ledger=None, static_target=None,
        path_profile=None,
        services=ServiceState(probed, units or {}, texts or {}, 0.5, unmanaged=unmanaged or {}))


def svc(unit: str = "app", on_change: str = "restart", unit_file: str | None = None,
        triggers: tuple[str, ...] = ("app.conf",), stop: bool = True) -> ServiceEntry:
    return ServiceEntry(unit, unit_file, triggers, on_change, "d", stop)


def m(etc: dict[str, str] | None = None, **services: ServiceEntry) -> Manifest:
    return Manifest("h", "", None, None, etc={p: EtcEntry(s) for p, s in (etc or {}).items()},
                    services=dict(services))


def C(name: str, action: Action, reason: str, unit: str | None = None,
      at_boot: bool = False) -> ServiceChange:
    return ServiceChange(name, unit or name, action, reason, at_boot)


def plan(state: SystemState, old: Manifest | None, new: Manifest | None
         ) -> tuple[list[Any], list[Any]]:
    before, after = service_actions(state, old, new)
    return ([a.change if isinstance(a, Service) else a for a in before],
            [a.change if isinstance(a, Service) else a for a in after])


def check(*changes: ServiceChange) -> CheckRunning:
    return CheckRunning(tuple(changes), 0.5, True)


def test_new_and_removed_services_are_enabled_and_disabled() -> None:
    start = C("app", Action.START, "new in the profile", at_boot=True)
    assert plan(st(), m(), m(app=svc())) == ([], [start, check(start)])
    assert plan(st({"app.service": UP}), m(app=svc()), m()) == (
        [C("app", Action.STOP, "no longer in the profile", at_boot=True)], [])


@pytest.mark.parametrize("init", list(InitSystem))
def test_a_new_service_that_already_runs_is_only_enabled(init: InitSystem) -> None:
    """Switching to what `genman import` wrote: every running service is new in the
    profile; starting one again would run a oneshot init script (rc.local) twice."""
    enable = C("app", Action.ENABLE, "new in the profile; already running: not started again",
               at_boot=True)
    assert plan(st({"app.service": UP}, init=init), m(), m(app=svc())) == ([], [enable])
    assert enable.describe() == ("enable app (app): new in the profile; already running: "
                                 "not started again")
    # Under --root nothing is probed: started, as the plan can only print it.
    start = C("app", Action.START, "new in the profile", at_boot=True)
    assert plan(st(init=init, probed=False), m(), m(app=svc())) == ([], [start, check(start)])


def test_changed_trigger_stops_before_and_starts_after() -> None:
    old, new = m({"app.conf": "c1"}, app=svc()), m({"app.conf": "c2"}, app=svc())
    start = C("app", Action.START, "changed: app.conf")
    assert plan(st({"app.service": UP}), old, new) == (
        [C("app", Action.STOP, "changed: app.conf: stopped with its old definition")],
        [start, check(start)])


def test_stop_if_changed_false_restarts_in_place() -> None:
    old = m({"app.conf": "c1"}, app=svc(stop=False))
    new = m({"app.conf": "c2"}, app=svc(stop=False))
    restart = C("app", Action.RESTART, "changed: app.conf (stop_if_changed = false)")
    assert plan(st({"app.service": UP}), old, new) == ([], [restart, check(restart)])


@pytest.mark.parametrize("init", list(InitSystem))
def test_a_stopped_service_stays_stopped(init: InitSystem) -> None:
    old, new = m({"app.conf": "c1"}, app=svc()), m({"app.conf": "c2"}, app=svc())
    for status in ({}, {"app.service": DOWN}, {"app.service": UnitStatus("failed", "failed")}):
        shown = status["app.service"].describe() if status else "inactive (not loaded)"
        if init is not InitSystem.SYSTEMD and status:
            status = {"app.service": UnitStatus(status["app.service"].active)}
            shown = status["app.service"].active
        assert plan(st(status, init=init), old, new) == ([], [C(
            "app", Action.SKIP, f"changed: app.conf; not running ({shown}): stays stopped")])
    # with on_change = reload too: no reload of a stopped service (it would fail)
    new = m({"app.conf": "c2"}, app=svc(on_change="reload"))
    assert plan(st({}, init=init), old, new)[1][0].action is Action.SKIP


@pytest.mark.parametrize("init", list(InitSystem))
def test_reload_where_asked(init: InitSystem) -> None:
    old = m({"app.conf": "c1"}, app=svc(on_change="reload"))
    new = m({"app.conf": "c2"}, app=svc(on_change="reload"))
    assert plan(st({"app.service": UnitStatus("active")}, init=init), old, new) == (
        [], [C("app", Action.RELOAD, "changed: app.conf")])


def test_settle_is_the_longest_of_the_started_services_unless_overridden() -> None:
    def entry(settle: float | None) -> ServiceEntry:
        return ServiceEntry("x", None, ("x.conf",), "restart", "d", True, settle)

    old = m({"a.conf": "1", "b.conf": "1", "c.conf": "1"})
    new = m({"a.conf": "2", "b.conf": "2", "c.conf": "2"},
            a=ServiceEntry("a", None, ("a.conf",), "restart", "d", True, 7.0),
            b=ServiceEntry("b", None, ("b.conf",), "restart", "d", True, 0.0),
            c=ServiceEntry("c", None, ("c.conf",), "restart", "d", True, None))
    state = st()
    unset = replace(state, services=ServiceState(True, {}, {}, None))
    checks = [a for a in service_actions(unset, old, new)[1] if isinstance(a, CheckRunning)]
    assert [c.settle for c in checks] == [7.0]  # a's 7 s, b's 0 s, c's default 2 s
    assert checks[0].describe().startswith("services: after 7 s, check that a, b, c still run")
    new_b = m({"b.conf": "2"}, b=entry(0.0))
    assert [a.settle for a in service_actions(unset, None, new_b)[1]
            if isinstance(a, CheckRunning)] == [0.0]
    new_c = m({"c.conf": "2"}, c=entry(None))
    assert [a.settle for a in service_actions(unset, None, new_c)[1]
            if isinstance(a, CheckRunning)] == [2.0]
    # GENMAN_SERVICE_SETTLE (probed into ServiceState.settle) wins over the profile
    assert [a.settle for a in service_actions(state, old, new)[1]
            if isinstance(a, CheckRunning)] == [0.5]


OPENRC_RUN = "#!/sbin/openrc-run\ncommand=/usr/bin/app\n"


@pytest.mark.parametrize(("text", "reloads"), [
    (OPENRC_RUN + 'extra_started_commands="reload"\nreload() { :; }\n', True),
    (OPENRC_RUN + "extra_commands='checkconfig reload'\n", True),
    (OPENRC_RUN + 'extra_started_commands="${extra_started_commands} reload"\n', True),
    (OPENRC_RUN + "  opts=reload\n", True),
    (OPENRC_RUN, False),
    (OPENRC_RUN + 'extra_started_commands="reloadx"\n# extra_commands="reload"\n', False),
    ("#!/usr/sbin/openrc-run\n" + 'extra_started_commands="reload"\n', True),
    ("#!/sbin/runscript\n", False),
    ("#!/bin/sh\n### BEGIN INIT INFO\ncase $1 in reload) ;; esac\n", None),
])
def test_openrc_script_reload(text: str, reloads: bool | None) -> None:
    from genman.services.state import openrc_reloads

    assert openrc_reloads(text) is reloads


def test_openrc_reload_only_where_the_script_declares_it() -> None:
    old = m({"app.conf": "c1"}, app=svc(on_change="reload"))
    new = m({"app.conf": "c2"}, app=svc(on_change="reload"))
    up = {"app.service": UnitStatus("active")}

    def openrc(script: str | None) -> SystemState:
        s = st(up, init=InitSystem.OPENRC)
        scripts = {"app.service": script} if script is not None else {}
        return replace(s, services=replace(s.services, scripts=scripts))

    reload = C("app", Action.RELOAD, "changed: app.conf")
    assert plan(openrc(OPENRC_RUN + 'extra_started_commands="reload"\n'), old, new) == (
        [], [reload])
    assert plan(openrc(None), old, new) == ([], [reload])  # no script read: rc-service decides
    why = ("changed: app.conf; its OpenRC script has no reload (extra_started_commands): "
           "restarted instead")
    start = C("app", Action.START, why)
    assert plan(openrc(OPENRC_RUN), old, new) == (
        [C("app", Action.STOP, why + ": stopped with its old definition")], [start, check(start)])
    # systemd and sysvinit: no script is read, the reload stands
    assert plan(st(up, init=InitSystem.SYSVINIT), old, new) == ([], [reload])


def test_unknown_activity_under_root_counts_as_running() -> None:
    old, new = m({"app.conf": "c1"}, app=svc()), m({"app.conf": "c2"}, app=svc())
    assert plan(st(probed=False), old, new)[0] == [
        C("app", Action.STOP, "changed: app.conf: stopped with its old definition")]


# ---------------------------------------------------------------- unit file comparison

UNIT = "systemd/system/app.service"


def unit_case(old_text: str, new_text: str, on_change: str = "restart",
              units: dict[str, UnitStatus] | None = None, unit: str = "app.service",
              name: str = "app") -> tuple[list[Any], list[Any]]:
    path = f"systemd/system/{unit}"
    old = m({path: "u1"}, **{name: svc(unit, on_change, triggers=())})
    new = m({path: "u2"}, **{name: svc(unit, on_change, triggers=())})
    return plan(st(units if units is not None else {unit: UP}, {"u1": old_text, "u2": new_text}),
                old, new)


def test_description_install_and_comments_need_no_restart() -> None:
    new = SVC.replace("Description=app", "Description=the app\n# a comment\nDocumentation=man:x")
    new = new.replace("WantedBy=multi-user.target", "WantedBy=graphical.target")
    assert unit_case(SVC, new) == ([], [DaemonReload(True), C(
        "app", Action.UNCHANGED, "only [Install] WantedBy=, [Unit] Description=, [Unit] "
        "Documentation= changed, which the running unit does not use", "app.service")])


def test_exec_start_change_stops_then_starts_after_daemon_reload() -> None:
    new = SVC.replace("/bin/app", "/bin/app --new")
    start = C("app", Action.START, "unit changed: [Service] ExecStart=", "app.service")
    assert unit_case(SVC, new) == (
        [C("app", Action.STOP, "unit changed: [Service] ExecStart=: stopped with its old "
           "definition", "app.service")], [DaemonReload(True), start, check(start)])


def test_reload_triggers_reload_and_unit_change_beats_on_change_reload() -> None:
    base = SVC.replace("[Unit]\n", "[Unit]\nX-Reload-Triggers=a\n")
    assert unit_case(base, base.replace("=a", "=b")) == (
        [], [DaemonReload(True), C("app", Action.RELOAD,
                                 "unit changed: [Unit] X-Reload-Triggers=", "app.service")])
    before, _ = unit_case(SVC, SVC.replace("/bin/app", "/bin/b"), on_change="reload")
    assert [c.action for c in before] == [Action.STOP]


def test_drop_ins_and_templates_are_part_of_the_unit() -> None:
    old = m({"systemd/system/getty@.service": "t", "systemd/system/getty@.service.d/a.conf": "a1"})
    new = m({"systemd/system/getty@.service": "t", "systemd/system/getty@.service.d/a.conf": "a2"})
    texts = {"t": SVC, "a1": "[Service]\nNice=1\n", "a2": "[Service]\nNice=2\n"}
    units = {"getty@tty1.service": UP, "getty@tty2.service": DOWN}
    before, after = plan(st(units, texts), old, new)
    reason = "unit changed: [Service] Nice="
    assert before == [C("getty@tty1.service", Action.STOP,
                        f"{reason}: stopped with its old definition")]
    assert after == [DaemonReload(True), C("getty@tty1.service", Action.START, reason),
                     C("getty@tty2.service", Action.SKIP,
                       f"{reason}; not running (inactive (dead)): stays stopped"),
                     check(C("getty@tty1.service", Action.START, reason))]


def test_unit_types() -> None:
    tgt = "[Unit]\nDescription=t\nWants=a.service\n"
    assert unit_case(tgt, tgt.replace("a.service", "b.service"), unit="x.target",
                     name="x")[1][1:] == [C("x", Action.SKIP, "unit changed: [Unit] Wants=; a "
                                            "target is not restarted", "x.target")]
    mnt = "[Mount]\nWhat=/dev/vdb\nWhere=/srv/foo-bar\nOptions=ro\n"
    assert unit_case(mnt, mnt.replace("=ro", "=rw"), unit="srv-foo\\x2dbar.mount",
                     name="data")[1][1:] == [C("data", Action.RELOAD, "unit changed: [Mount] "
                                               "Options=", "srv-foo\\x2dbar.mount")]
    before, after = unit_case(mnt, mnt.replace("vdb", "vdc"), unit="srv-foo\\x2dbar.mount",
                              name="data")
    assert before == [] and after[1] == C("data", Action.RESTART, "unit changed: [Mount] What=",
                                          "srv-foo\\x2dbar.mount")
    tmr = "[Timer]\nOnCalendar=daily\n"
    assert unit_case(tmr, tmr.replace("daily", "weekly"), unit="x.timer", name="x")[1][1] == C(
        "x", Action.RESTART, "unit changed: [Timer] OnCalendar=", "x.timer")


def test_socket_restarts_and_stops_its_service() -> None:
    sock = "[Socket]\nListenStream=80\n"
    before, after = unit_case(sock, sock.replace("80", "81"), unit="web.socket", name="web",
                              units={"web.socket": UP, "web.service": UP})
    reason = "unit changed: [Socket] ListenStream="
    assert before == [C("web", Action.STOP, f"{reason}: stopped with its old definition",
                        "web.socket"),
                      C("web.service", Action.STOP, "activated by web.socket, which changed: "
                        "started again on demand")]
    assert after[1] == C("web", Action.START, reason, "web.socket")
    # the same when the service itself is declared and unchanged
    old = m({"systemd/system/web.socket": "s1"}, sock=svc("web.socket", triggers=()),
            web=svc("web", triggers=()))
    new = m({"systemd/system/web.socket": "s2"}, sock=svc("web.socket", triggers=()),
            web=svc("web", triggers=()))
    before, _ = plan(st({"web.socket": UP, "web.service": UP}, {"s1": sock, "s2": sock + "A=b\n"}),
                     old, new)
    assert [(c.unit, c.action) for c in before] == [("web.socket", Action.STOP),
                                                    ("web.service", Action.STOP)]


def test_refuse_manual_start_and_dependents() -> None:
    refuse = "[Unit]\nRefuseManualStart=yes\n[Service]\nExecStart=/a\n"
    after = unit_case(refuse, refuse.replace("/a", "/b"))[1]
    assert after[1].action is Action.SKIP and "RefuseManualStart" in after[1].reason
    old = m({UNIT: "u1", "systemd/system/side.service": "s"}, app=svc(triggers=()))
    new = m({UNIT: "u2", "systemd/system/side.service": "s"}, app=svc(triggers=()))
    texts = {"u1": SVC, "u2": SVC.replace("/bin/app", "/bin/b"),
             "s": "[Unit]\nPartOf=app.service\n[Service]\nExecStart=/bin/side\n"}
    _, after = plan(st({"app.service": UP, "side.service": UP}, texts), old, new)
    assert C("side.service", Action.START, "it needs app.service, which is stopped and "
             "started again") in after


def test_etc_only_unit_files() -> None:
    texts = {"u1": SVC, "u2": SVC.replace("/bin/app", "/bin/b")}
    old, new = m({UNIT: "u1"}), m({UNIT: "u2"})
    assert plan(st({"app.service": UP}, texts), old, new)[0][0] == C(
        "app.service", Action.STOP, "unit changed: [Service] ExecStart=: stopped with its "
        "old definition")
    assert plan(st({}, texts), m(), new) == ([], [DaemonReload(True), C(
        "app.service", Action.SKIP, "new unit file, not under [services]: not started")])
    assert plan(st({"app.service": UP}, texts), old, m()) == (
        [C("app.service", Action.STOP, "its unit file left the profile")], [DaemonReload(True)])


def test_unit_file_taken_over_from_the_system_is_compared_with_the_file_systemd_loaded(
    tmp_path: Path,
) -> None:
    """`genman import` then a switch: genman takes over the host's own drop-in, same text;
    the running getty keeps running and systemd needs no daemon-reload."""
    drop = "getty@.service.d/autologin.conf"
    text = "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root %I\n"
    units = {"getty@ttyS0.service": UP}
    old, new = m(), m({f"systemd/system/{drop}": "d"})
    assert service_query(old, new).adopted == {drop}
    assert service_query(new, new).adopted == set()
    assert plan(st(units, {"d": text}, unmanaged={drop: text}), old, new) == ([], [])
    # Another text than the system's: restarted, as for any changed unit.
    reason = "unit changed: [Service] ExecStart="
    start = C("getty@ttyS0.service", Action.START, reason)
    assert plan(st(units, {"d": text}, unmanaged={drop: text.replace("root", "admin")}),
                old, new) == ([C("getty@ttyS0.service", Action.STOP,
                                 f"{reason}: stopped with its old definition")],
                              [DaemonReload(True), start, check(start)])
    # No such file on the system before: a new drop-in, which changes the unit.
    assert plan(st(units, {"d": text}), old, new)[1][0] == DaemonReload(True)

    # The probe reads the system's file, through the root, only for what is taken over.
    root = tmp_path / "root"
    unit_dir = root / "etc/systemd/system"
    (unit_dir / "getty@.service.d").mkdir(parents=True)
    (unit_dir / drop).write_text(text)
    (unit_dir / "other.service").write_text(SVC)
    query = ServiceQuery(adopted=frozenset({drop, "gone.service"}))
    state = probe_services(Layout.for_root(root), InitSystem.SYSTEMD, query)
    assert state.unmanaged == {drop: text}


def test_a_unit_named_with_or_without_its_suffix_is_the_same_unit() -> None:
    """`genman import` writes `unit = "app.service"` where the profile had `app`."""
    old = m({"app.conf": "c1"}, app=svc("app"))
    new = m({"app.conf": "c1"}, app=svc("app.service"))
    assert plan(st({"app.service": UP}), old, new) == (
        [], [C("app", Action.UNCHANGED, "nothing it uses changed", "app.service")])
    changed = m({"app.conf": "c2"}, app=svc("app.service"))
    before, _ = plan(st({"app.service": UP}), old, changed)
    assert before == [C("app", Action.STOP, "changed: app.conf: stopped with its old definition",
                        "app.service")]


def test_on_change_none_skips() -> None:
    old = m({"app.conf": "c1"}, app=svc(on_change="none"))
    new = m({"app.conf": "c2"}, app=svc(on_change="none"))
    assert plan(st({"app.service": UP}), old, new) == (
        [], [C("app", Action.SKIP, "changed: app.conf (on_change = none)")])


# ---------------------------------------------------------------- backends

OK = Result(("x",), 0, "", "")

BACKEND_COMMANDS = [
    (InitSystem.SYSTEMD, "systemd", {
        (Action.START, True): [["systemctl", "enable", "--now", "--", "nginx"]],
        (Action.STOP, True): [["systemctl", "disable", "--now", "--", "nginx"]],
        (Action.START, False): [["systemctl", "start", "--", "nginx"]],
        (Action.STOP, False): [["systemctl", "stop", "--", "nginx"]],
        (Action.RESTART, False): [["systemctl", "restart", "--", "nginx"]],
        (Action.RELOAD, False): [["systemctl", "reload", "--", "nginx"]],
        (Action.ENABLE, True): [["systemctl", "enable", "--", "nginx"]],
    }, ["systemctl", "daemon-reload"]),
    (InitSystem.SYSVINIT, "sysvinit", {
        (Action.START, True): [["update-rc.d", "nginx", "defaults"],
                               ["service", "nginx", "start"]],
        (Action.STOP, True): [["service", "nginx", "stop"], ["update-rc.d", "nginx", "disable"]],
        (Action.START, False): [["service", "nginx", "start"]],
        (Action.STOP, False): [["service", "nginx", "stop"]],
        (Action.RESTART, False): [["service", "nginx", "restart"]],
        (Action.RELOAD, False): [["service", "nginx", "reload"]],
        (Action.ENABLE, True): [["update-rc.d", "nginx", "defaults"]],
    }, None),
    (InitSystem.OPENRC, "openrc", {
        (Action.START, True): [["rc-update", "--", "add", "nginx", "default"],
                               ["rc-service", "--", "nginx", "start"]],
        (Action.STOP, True): [["rc-service", "--", "nginx", "stop"],
                              ["rc-update", "--", "del", "nginx", "default"]],
        (Action.START, False): [["rc-service", "--", "nginx", "start"]],
        (Action.STOP, False): [["rc-service", "--", "nginx", "stop"]],
        (Action.RESTART, False): [["rc-service", "--", "nginx", "restart"]],
        (Action.RELOAD, False): [["rc-service", "--", "nginx", "reload"]],
        (Action.ENABLE, True): [["rc-update", "--", "add", "nginx", "default"]],
    }, None),
]


def test_sysvinit_enable_of_a_script_that_starts_at_boot_runs_nothing(
        mocker: MockerFixture, tmp_path: Path) -> None:
    """Adopting a host enables its running scripts; one a runlevel already starts is left
    alone: update-rc.d would rerun insserv and rewrite /etc/init.d/.depend.*."""
    run = mocker.patch("genman.services.sysvinit.run", autospec=True, return_value=OK)
    mocker.patch("genman.services.sysvinit.ETC", str(tmp_path))
    (tmp_path / "rc2.d").mkdir()
    (tmp_path / "rc2.d/S01nginx").symlink_to("../init.d/nginx")
    b = backend(InitSystem.SYSVINIT)
    assert b.apply(Action.ENABLE, "nginx", True).ok
    assert run.call_args_list == []
    assert b.apply(Action.ENABLE, "ssh", True).ok  # not started at boot yet
    assert run.call_args_list == [call(["update-rc.d", "ssh", "defaults"], check=False)]


@pytest.mark.parametrize(("init", "module", "commands", "reload_argv"), BACKEND_COMMANDS)
def test_backend_commands(mocker: MockerFixture, init: InitSystem, module: str,
                          commands: dict[tuple[Action, bool], list[list[str]]],
                          reload_argv: list[str] | None) -> None:
    run = mocker.patch(f"genman.services.{module}.run", autospec=True, return_value=OK)
    b = backend(init)
    for (action, at_boot), want in commands.items():
        run.reset_mock()
        assert b.apply(action, "nginx", at_boot).ok
        assert run.call_args_list == [call(argv, check=False) for argv in want]
    run.reset_mock()
    assert b.daemon_reload().ok
    assert run.call_args_list == ([call(reload_argv, check=False)] if reload_argv else [])


def test_systemd_probe_and_check_parse_one_call(mocker: MockerFixture) -> None:
    listing = ("app.service loaded active running The app\n"
               "● bad.service loaded failed failed Bad\n"
               "srv-foo\\x2dbar.mount loaded active mounted /srv/foo-bar\n")
    run = mocker.patch("genman.services.systemd.run", autospec=True,
                       return_value=Result(("x",), 0, listing, ""))
    b = backend(InitSystem.SYSTEMD)
    assert b.probe(["app.service"]) == {"app.service": UP,
                                        "bad.service": UnitStatus("failed", "failed"),
                                        "srv-foo\\x2dbar.mount": UnitStatus("active", "mounted")}
    assert run.call_args_list == [call(["systemctl", "list-units", "--all", "--full", "--plain",
                                        "--no-legend", "--no-pager"], check=True)]
    run.return_value = Result(("x",), 0, "ActiveState=active\nSubState=running\n\n"
                              "ActiveState=activating\nSubState=auto-restart\n", "")
    got = b.check(["app", "-.mount"])
    assert run.call_args_list[-1] == call(["systemctl", "show", "--property=ActiveState,SubState",
                                           "--", "app.service", "-.mount"], check=False)
    assert got["app"].running and not got["-.mount"].running


def test_systemd_status_tail(mocker: MockerFixture) -> None:
    out = "\n".join(f"line {i}" for i in range(30))
    run = mocker.patch("genman.services.systemd.run", autospec=True,
                       return_value=Result(("x",), 3, out, ""))
    text = backend(InitSystem.SYSTEMD).status_tail("nginx", lines=5)
    assert run.call_args_list == [
        call(["systemctl", "status", "--no-pager", "--lines=5", "--", "nginx"], check=False)]
    assert text.splitlines() == [f"line {i}" for i in range(25, 30)]


def test_sysvinit_accepts_init_d_paths_and_refuses_option_names(mocker: MockerFixture) -> None:
    run = mocker.patch("genman.services.sysvinit.run", autospec=True, return_value=OK)
    b = backend(InitSystem.SYSVINIT)
    b.apply(Action.RESTART, "/etc/init.d/bird")
    assert run.call_args_list == [call(["service", "bird", "restart"], check=False)]
    run.reset_mock()
    assert not b.apply(Action.RESTART, "--help").ok
    assert run.call_args_list == []


def test_openrc_check_sees_a_daemon_that_died_after_start(
        mocker: MockerFixture, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's OpenRC says "started" (status exit 0) for a daemon that died: the pid file
    the service recorded (/run/openrc/options/NAME/pidfile) tells."""
    import subprocess

    from genman.services import openrc

    monkeypatch.setattr(openrc, "RC_SVCDIR", tmp_path / "openrc")
    run = mocker.patch("genman.services.openrc.run", autospec=True, return_value=OK)
    child = subprocess.Popen(["true"])
    child.wait()

    def record(name: str, pid: int | None) -> None:
        d = tmp_path / "openrc/options" / name
        d.mkdir(parents=True)
        (d / "pidfile").write_text(str(tmp_path / f"{name}.pid") + "\n")
        if pid is not None:
            (tmp_path / f"{name}.pid").write_text(f"{pid}\n")

    record("alive", os.getpid())
    record("died", child.pid)
    record("nopid", None)
    b = backend(InitSystem.OPENRC)
    got = b.check(["alive", "died", "nopid", "plain"])
    assert {u: s.running for u, s in got.items()} == {
        "alive": True, "died": False, "nopid": False, "plain": True}
    assert got["died"].describe() == "crashed (started, but its daemon is gone)"
    assert run.call_args_list == [call(["rc-service", "--", u, "status"], check=False)
                                  for u in ("alive", "died", "nopid", "plain")]
    # status exit 3 (stopped): not running, whatever the pid file says
    run.return_value = Result(("x",), 3, "", "")
    assert not b.check(["alive"])["alive"].running
