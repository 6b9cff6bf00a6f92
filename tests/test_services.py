"""Service plans as pure data; each backend's exact commands through the one subprocess
seam; the failure path (exit 4, naming the service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, call

import pytest
from pytest_mock import MockerFixture

from genman.layout import Layout
from genman.manifest import Manifest, ServiceEntry
from genman.process import Result
from genman.services import (
    Action,
    InitSystem,
    ServiceChange,
    plan_services,
    unit_files_changed,
)
from genman.services.backends import backend


def svc(unit: str = "app", digest: str = "d1", on_change: str = "restart",
        unit_file: str | None = None) -> ServiceEntry:
    return ServiceEntry(unit, unit_file, ("app.conf",), on_change, digest)


def manifest(**services: ServiceEntry) -> Manifest:
    return Manifest("h", "", None, None, services=dict(services))


CASES = [
    pytest.param(manifest(), manifest(app=svc()),
                 [ServiceChange("app", "app", Action.START, "new in the profile")], id="added"),
    pytest.param(manifest(app=svc()), manifest(),
                 [ServiceChange("app", "app", Action.STOP, "no longer in the profile")],
                 id="removed"),
    pytest.param(manifest(app=svc(unit_file="aaa-app.service", digest="1")),
                 manifest(app=svc(unit_file="bbb-app.service", digest="2", on_change="reload")),
                 [ServiceChange("app", "app", Action.RESTART, "unit file changed")],
                 id="unit-file-changed-restarts-even-with-reload"),
    pytest.param(manifest(app=svc(digest="1")), manifest(app=svc(digest="2")),
                 [ServiceChange("app", "app", Action.RESTART, "changed: app.conf")],
                 id="trigger-changed"),
    pytest.param(manifest(app=svc(digest="1")), manifest(app=svc(digest="2", on_change="reload")),
                 [ServiceChange("app", "app", Action.RELOAD, "changed: app.conf")],
                 id="reload-policy"),
    pytest.param(manifest(app=svc(digest="1")), manifest(app=svc(digest="2", on_change="none")),
                 [ServiceChange("app", "app", Action.SKIP,
                                "changed: app.conf (on_change = none)")], id="none-policy"),
    pytest.param(manifest(app=svc()), manifest(app=svc()),
                 [ServiceChange("app", "app", Action.UNCHANGED, "nothing it uses changed")],
                 id="unchanged"),
    pytest.param(None, manifest(app=svc()),
                 [ServiceChange("app", "app", Action.START, "new in the profile")],
                 id="first-activation"),
    pytest.param(manifest(app=svc(unit="old")), manifest(app=svc(unit="new")),
                 [ServiceChange("app", "old", Action.STOP, "replaced by new"),
                  ServiceChange("app", "new", Action.START, "replaces old")], id="unit-renamed"),
]


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_plan_services(old: Manifest | None, new: Manifest, expected: list[ServiceChange]) -> None:
    assert list(plan_services(old, new)) == expected


def test_skip_is_shown_as_not_restarted() -> None:
    change = ServiceChange("app", "app", Action.SKIP, "changed: x (on_change = none)")
    assert change.describe() == "app (app): not restarted: changed: x (on_change = none)"


def test_daemon_reload_only_when_unit_files_change() -> None:
    a = manifest(app=svc(unit_file="aaa-app.service"))
    b = manifest(app=svc(unit_file="bbb-app.service"))
    assert unit_files_changed(a, b)
    assert unit_files_changed(None, a)
    assert unit_files_changed(a, manifest())
    assert not unit_files_changed(a, a)
    assert not unit_files_changed(manifest(app=svc(digest="1")), manifest(app=svc(digest="2")))


OK = Result(("x",), 0, "", "")


# Per backend: the commands for start, stop, restart and reload. A started (new) service is
# also enabled at boot, a stopped (removed) one disabled.
BACKEND_COMMANDS = [
    (InitSystem.SYSTEMD, "systemd", {
        Action.START: [["systemctl", "enable", "--now", "nginx"]],
        Action.STOP: [["systemctl", "disable", "--now", "nginx"]],
        Action.RESTART: [["systemctl", "restart", "nginx"]],
        Action.RELOAD: [["systemctl", "reload", "nginx"]],
    }, ["systemctl", "daemon-reload"]),
    (InitSystem.SYSVINIT, "sysvinit", {
        Action.START: [["update-rc.d", "nginx", "defaults"], ["service", "nginx", "start"]],
        Action.STOP: [["service", "nginx", "stop"], ["update-rc.d", "nginx", "disable"]],
        Action.RESTART: [["service", "nginx", "restart"]],
        Action.RELOAD: [["service", "nginx", "reload"]],
    }, None),
    (InitSystem.OPENRC, "openrc", {
        Action.START: [["rc-update", "add", "nginx", "default"], ["rc-service", "nginx", "start"]],
        Action.STOP: [["rc-service", "nginx", "stop"], ["rc-update", "del", "nginx", "default"]],
        Action.RESTART: [["rc-service", "nginx", "restart"]],
        Action.RELOAD: [["rc-service", "nginx", "reload"]],
    }, None),
]


@pytest.mark.parametrize(("init", "module", "commands", "reload_argv"), BACKEND_COMMANDS)
def test_backend_commands(mocker: MockerFixture, init: InitSystem, module: str,
                          commands: dict[Action, list[list[str]]],
                          reload_argv: list[str] | None) -> None:
    run = mocker.patch(f"genman.services.{module}.run", autospec=True, return_value=OK)
    b = backend(init)
    for action, want in commands.items():
        run.reset_mock()
        assert b.apply(action, "nginx").ok
        assert run.call_args_list == [call(argv, check=False) for argv in want]
    run.reset_mock()
    assert b.daemon_reload().ok
    assert run.call_args_list == ([call(reload_argv, check=False)] if reload_argv else [])


def test_systemd_status_tail(mocker: MockerFixture) -> None:
    out = "\n".join(f"line {i}" for i in range(30))
    run = mocker.patch("genman.services.systemd.run", autospec=True,
                       return_value=Result(("x",), 3, out, ""))
    text = backend(InitSystem.SYSTEMD).status_tail("nginx", lines=5)
    assert run.call_args_list == [
        call(["systemctl", "status", "--no-pager", "--lines=5", "nginx"], check=False)]
    assert text.splitlines() == [f"line {i}" for i in range(25, 30)]


def test_sysvinit_accepts_init_d_paths(mocker: MockerFixture) -> None:
    run = mocker.patch("genman.services.sysvinit.run", autospec=True, return_value=OK)
    backend(InitSystem.SYSVINIT).apply(Action.RESTART, "/etc/init.d/bird")
    assert run.call_args_list == [call(["service", "bird", "restart"], check=False)]


@pytest.fixture
def live_sandbox(tmp_path: Path, mocker: MockerFixture) -> Path:
    """A sandbox genman treats as the running system, so services really run (mocked)."""
    from tests.helpers import make_root

    mocker.patch.object(Layout, "is_live", new_callable=PropertyMock, return_value=True)
    return make_root(tmp_path)


def test_failing_service_does_not_stop_the_rest_and_exits_4(
    live_sandbox: Path, tmp_path: Path, genman: Any, mocker: MockerFixture
) -> None:
    from tests.helpers import write_profiles

    profiles = write_profiles(tmp_path)

    def fake_run(argv: list[str], *, check: bool, **_: object) -> Result:
        if argv[:3] == ["systemctl", "enable", "--now"] and argv[3] == "app":
            return Result(tuple(argv), 1, "", "Job for app.service failed.")
        if argv[:2] == ["systemctl", "status"]:
            return Result(tuple(argv), 3, "● app.service\n   Active: failed\nboom: bad config", "")
        return Result(tuple(argv), 0, "", "")

    run = mocker.patch("genman.services.systemd.run", autospec=True, side_effect=fake_run)
    r = genman("--root", live_sandbox, "switch", "--init-system", "systemd", profiles[1])
    assert r.code == 4, r.err
    assert "service app (app) failed to start" in r.err
    assert "boom: bad config" in r.err
    assert "these services failed: app" in r.err
    started = [c.args[0] for c in run.call_args_list if c.args[0][1] == "enable"]
    assert started == [["systemctl", "enable", "--now", "app"],
                       ["systemctl", "enable", "--now", "web"]]
    # switched all the same: /etc is live and the default flipped
    assert (live_sandbox / "var/lib/genman/default").is_symlink()

    run.reset_mock()
    run.side_effect = None
    run.return_value = OK
    r = genman("--root", live_sandbox, "switch", "--init-system", "systemd", profiles[3])
    assert r.code == 0, r.err
    assert [c.args[0] for c in run.call_args_list] == [
        ["systemctl", "disable", "--now", "app"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "api.service"],
        ["systemctl", "reload", "web"],  # web.conf changed since generation 1
    ]
