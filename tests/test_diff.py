"""diff: what changed between two hand-built manifests."""

from __future__ import annotations

from genman.diff import Diff, diff
from genman.manifest import EtcEntry, KernelEntry, Manifest, ServiceEntry


def _svc(unit: str, digest: str) -> ServiceEntry:
    return ServiceEntry(unit, None, (), "restart", digest)


def _kernel(version: str, params: tuple[str, ...] = ("quiet",)) -> KernelEntry:
    return KernelEntry(version, f"img-{version}", f"initrd-{version}", None, params)


OLD = Manifest(
    hostname="h", description="first", init=None, kernel=_kernel("6.1"),
    etc={"motd": EtcEntry("aaa-motd"), "same": EtcEntry("s"), "gone": EtcEntry("g"),
         "mode": EtcEntry("m", mode=0o644)},
    packages={"curl": "c1-curl", "vim": "v1-vim", "old": "o-old"},
    services={"app": _svc("app", "d1"), "web": _svc("web", "w"), "dead": _svc("dead", "x")},
)
NEW = Manifest(
    hostname="h2", description="first", init="/sbin/init", kernel=_kernel("6.2", ("ro",)),
    etc={"motd": EtcEntry("bbb-motd"), "same": EtcEntry("s"), "new": EtcEntry("n"),
         "mode": EtcEntry("m", mode=0o600)},
    packages={"curl": "c2-curl", "vim": "v1-vim", "jq": "j-jq"},
    services={"app": _svc("app", "d2"), "web": _svc("web", "w"), "born": _svc("born", "y")},
)


def test_everything_that_changed() -> None:
    d = diff(OLD, NEW)
    assert d.etc_added == ("new",)
    assert d.etc_removed == ("gone",)
    assert d.etc_changed == ("mode", "motd")
    assert d.packages_added == ("jq",)
    assert d.packages_removed == ("old",)
    assert d.packages_changed == ("curl",)
    assert d.services_added == ("born",)
    assert d.services_removed == ("dead",)
    assert d.services_changed == ("app",)
    assert d.kernel == ("6.1", "6.2")
    assert d.kernel_params == (("quiet",), ("ro",))
    assert d.other == ("hostname: 'h' -> 'h2'", "init: None -> '/sbin/init'")
    assert not d.empty


def test_reverse_swaps_added_and_removed() -> None:
    d = diff(NEW, OLD)
    assert d.etc_added == ("gone",)
    assert d.etc_removed == ("new",)
    assert d.packages_added == ("old",)
    assert d.services_removed == ("born",)
    assert d.kernel == ("6.2", "6.1")


def test_same_manifest_is_empty() -> None:
    d = diff(OLD, OLD)
    assert d == Diff()
    assert d.empty
    assert d.to_dict()["kernel"] is None


def test_kernel_added_and_removed() -> None:
    bare = Manifest(hostname="h", description="first", init=None, kernel=None)
    with_kernel = Manifest(hostname="h", description="first", init=None, kernel=_kernel("6.1"))
    assert diff(bare, with_kernel).kernel == (None, "6.1")
    assert diff(bare, with_kernel).kernel_params == ((), ("quiet",))
    assert diff(with_kernel, bare).kernel == ("6.1", None)


def test_initrd_change_alone_is_a_kernel_change() -> None:
    k = _kernel("6.1")
    other = KernelEntry("6.1", k.image, "initrd-rebuilt", None, k.params)
    a = Manifest(hostname="h", description="d", init=None, kernel=k)
    b = Manifest(hostname="h", description="d", init=None, kernel=other)
    d = diff(a, b)
    assert d.kernel == ("6.1", "6.1")
    assert d.kernel_params is None


def test_to_dict() -> None:
    d = diff(OLD, NEW).to_dict()
    assert d["etc"] == {"added": ["new"], "removed": ["gone"], "changed": ["mode", "motd"]}
    assert d["packages"]["changed"] == ["curl"]
    assert d["services"]["added"] == ["born"]
    assert d["kernel"] == {"old": "6.1", "new": "6.2"}
    assert d["kernel_params"] == {"old": ["quiet"], "new": ["ro"]}
    assert len(d["other"]) == 2
