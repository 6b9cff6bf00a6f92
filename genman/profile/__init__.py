"""TOML profile -> validated Profile. All validation lives in this package, one module per
section beside what it validates: merge (files and imports, the SECTIONS table), system,
kernel, packages, etc, services; vars are checked here.

Nothing is written while a profile loads: every check (keys, types, files, templates,
/etc paths, users) runs first, and each error names the file, the key and the fix.
A new section: one line in merge.SECTIONS with its parser; its value lands in
Profile.sections.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any

from genman import templating
from genman.layout import Layout, resolve_in_root
from genman.profile import etc as etc_section
from genman.profile import kernel as kernel_section
from genman.profile import packages as packages_section
from genman.profile import secrets as secrets_section
from genman.profile import services as services_section
from genman.profile import system as system_section
from genman.profile.common import err
from genman.profile.merge import SECTIONS, Raw, Section, Shape, load_files
from genman.profile.model import (
    EtcFile,
    EtcKind,
    KernelSpec,
    OnChange,
    PackageSpec,
    Profile,
    SecretSpec,
    ServiceSpec,
    TargetFacts,
)
from genman.profile.owners import Owners

__all__ = [
    "SECTIONS", "EtcFile", "EtcKind", "KernelSpec", "OnChange", "PackageSpec", "Profile",
    "SecretSpec", "Section", "ServiceSpec", "Shape", "TargetFacts", "load", "resolve_in_root",
    "source_mode",
]

# Names genman gives templates; [vars] may not take them.
_CONTEXT_NAMES = ("system", "host", "vars")


def _vars(raw: Raw, target: TargetFacts | None) -> dict[str, Any]:
    entries = dict(raw.flat("vars"))
    if target is not None:  # the inventory's vars win; errors name the main profile
        entries.update({k: (v, raw.files[-1]) for k, v in target.vars.items()})
    for k, (_, file) in entries.items():
        if k in _CONTEXT_NAMES:
            raise err(file, f"[vars] {k}", f"'{k}' is a name genman gives templates",
                      "rename the variable")
    return {k: v for k, (v, _) in entries.items()}


def load(path: Path, layout: Layout, target: TargetFacts | None = None) -> Profile:
    """Read, merge and validate a profile; render its templates. Writes nothing.
    With `target`, build for that machine (see TargetFacts)."""
    raw = load_files(path)
    system = system_section.parse(raw, layout)
    if target is not None and "hostname" not in raw.flat("system"):
        system = dataclasses.replace(system, hostname=target.host["hostname"])
    variables = _vars(raw, target)
    context: dict[str, Any] = {
        **variables, "vars": variables,
        "host": target.host if target else templating.host_facts(),
        "system": {"hostname": system.hostname, "description": system.description,
                   "init": system.init},
    }
    kernel = kernel_section.parse(raw, layout)
    packages = packages_section.parse(raw)
    compiled = templating.CompiledTemplates(layout.build_cache / "jinja")
    owners = Owners(target.users, target.groups) if target else Owners.read(layout)
    secrets = secrets_section.parse(raw, layout, owners)
    with templating.unreadable({s.source for s in secrets if s.source is not None}):
        etc = etc_section.parse(raw, layout, context, compiled, owners)
    secrets_section.check(secrets, etc)
    services = services_section.parse(raw, etc, tuple(s.path for s in secrets))
    extra = {name: s.parse(raw.sections.get(name, {}), layout)
             for name, s in SECTIONS.items() if s.parse is not None}
    return Profile(
        path=raw.files[-1],
        files=tuple(raw.files),
        hostname=system.hostname,
        description=system.description,
        init=system.init,
        vars=variables,
        kernel=kernel,
        packages=packages,
        etc=etc,
        services=services,
        compiled=compiled,
        sections=extra,
        secrets=secrets,
    )


def source_mode(ef: EtcFile) -> int:
    """The permission bits an /etc file's content carries: the profile's mode when it gives
    one ("0000" included), else those of the file the content came from (a source or a
    template), so a 0600 input never becomes world-readable; 0644 for inline text."""
    if ef.mode is not None:
        return ef.mode
    if ef.source is not None:
        return stat.S_IMODE(os.stat(ef.source).st_mode)
    if ef.source_mode is not None:
        return ef.source_mode
    return 0o644
