"""Fixtures for the QEMU suite. Run from the repo root: `pytest vm-tests -m vm`.

Guest trees are cached under $GENMAN_VM_CACHE (default /var/cache/genman-vmtests); disk
images are built once per session per combination and each test boots a qcow2 overlay.
Console logs of every boot land in the test's directory; failures print their paths.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vmlib.images import COMBOS, Combo, build_image, overlay
from vmlib.machine import OVMF_CODE, OVMF_VARS, Machine

REQUIRED_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "sfdisk": "fdisk",
    "grub-mkstandalone": "grub-common",
    "grub-mkimage": "grub-common",
    "busybox": "busybox-static",
    "dash": "dash",
    # genman's .deb, built from the checkout for the guests (vmlib/package.py)
    "git": "git",
    "dpkg-buildpackage": "dpkg-dev",
    "dh": "debhelper",
    "dh_python3": "dh-python",
}
REQUIRED_FILES = {
    OVMF_CODE: "ovmf",
    OVMF_VARS: "ovmf",
    Path("/usr/lib/systemd/boot/efi/systemd-bootx64.efi"): "systemd-boot-efi",
    Path("/usr/lib/grub/x86_64-efi/linux.mod"): "grub-efi-amd64-bin",
    Path("/usr/lib/grub/i386-pc/boot.img"): "grub-pc-bin",
}


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (a CI timeout, `kill`) becomes an interrupt, so fixtures still tear down
    # and no QEMU is left running in its own session.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    config.addinivalue_line("markers", "vm: boots real guests under QEMU (vm-tests/)")
    config.addinivalue_line(
        "markers", "steps: ordered steps on one guest; a failed step fails the rest"
    )


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def vm_prereqs() -> None:
    """The vm tests were asked for: a missing tool is a failure that says what to install."""
    missing = sorted(
        {pkg for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None}
        | {pkg for path, pkg in REQUIRED_FILES.items() if not path.exists()}
    )
    if missing:
        pytest.fail(
            "vm tests need: apt-get install --no-install-recommends "
            + " ".join(missing)
            + "  (all of tools/apt-packages.txt)",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail(
            "vm tests build guest trees with debootstrap/chroot: run them as root", pytrace=False
        )


@pytest.fixture(scope="session")
def vm_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vm-images")


ImageFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def image_factory(vm_prereqs: None, vm_session_dir: Path) -> ImageFactory:
    """image_factory(combo, host_prepare=None) -> a raw base image, built once per
    session per (combo, host_prepare). Tests boot overlays of it, never the image itself."""
    built: dict[tuple[Combo, tuple[tuple[str, ...], ...]], Path] = {}

    def get(combo: Combo, host_prepare: list[list[str]] | None = None, tag: str = "") -> Path:
        key = (combo, tuple(tuple(a) for a in host_prepare or []))
        if key not in built:
            started = time.monotonic()
            workdir = vm_session_dir / f"{combo.id}{'-' + tag if tag else ''}-{len(built)}"
            built[key] = build_image(combo, workdir, host_prepare)
            print(
                f"\n[vm] image {built[key]} built in {time.monotonic() - started:.0f}s",
                file=sys.stderr,
            )
        return built[key]

    return get


class MachineFactory:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.machines: list[Machine] = []

    def __call__(
        self, combo: Combo, base: Path, name: str | None = None, ssh_port: int | None = None
    ) -> Machine:
        name = name or f"{combo.id}-{len(self.machines)}"
        disk = overlay(base, self.workdir / f"{name}.qcow2")
        m = Machine(name, disk, self.workdir, firmware=combo.firmware,
                    bootloader=combo.bootloader, ssh_port=ssh_port)
        self.machines.append(m)
        return m

    def cleanup(self) -> None:
        for m in self.machines:
            m.kill()

    def logs(self) -> list[Path]:
        return sorted(self.workdir.glob("*-boot*.log"))


def _machine_factory(request: pytest.FixtureRequest, workdir: Path) -> Iterator[MachineFactory]:
    factory = MachineFactory(workdir)
    try:
        yield factory
    finally:
        factory.cleanup()
        node = request.node
        failed = any(
            getattr(getattr(node, f"rep_{w}", None), "failed", False) for w in ("setup", "call")
        )
        if failed or request.scope == "class":
            for log in factory.logs():
                print(f"[vm] console log: {log}", file=sys.stderr)


@pytest.fixture
def machines(
    request: pytest.FixtureRequest, tmp_path: Path, vm_prereqs: None
) -> Iterator[MachineFactory]:
    """machines(combo, base_image) -> a Machine on its own overlay; killed at the end."""
    yield from _machine_factory(request, tmp_path)


@pytest.fixture(scope="class")
def class_machines(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, vm_prereqs: None
) -> Iterator[MachineFactory]:
    """One guest carried through a class of ordered steps (each step a test)."""
    yield from _machine_factory(request, tmp_path_factory.mktemp(request.node.name))


def combo_params() -> list[pytest.param]:  # type: ignore[valid-type]
    return [pytest.param(c, id=c.id) for c in COMBOS]


# Ordered steps on one guest (classes marked `steps`): once a step fails, the later ones
# fail at once naming it, instead of running against a guest in an unknown state.
def _steps_key(item: pytest.Item) -> str:
    """Steps share a guest per class *and* class-scoped parameter (the combination)."""
    callspec = getattr(item, "callspec", None)
    guest = callspec.params.get("guest") if callspec is not None else None
    return f"{item.parent.nodeid if item.parent else ''}|{guest!r}"


_failed_steps: dict[str, str] = {}




def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("steps") is None:
        return
    failed = _failed_steps.get(_steps_key(item))
    if failed is not None:
        pytest.fail(f"earlier step {failed} failed; this step needs its result", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    if item.get_closest_marker("steps") is not None and outcome.excinfo is not None:  # type: ignore[attr-defined]
        _failed_steps.setdefault(_steps_key(item), item.name)
