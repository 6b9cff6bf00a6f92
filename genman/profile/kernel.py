"""[kernel]: the image, initrd, params and modules a generation boots."""

from __future__ import annotations

import re
from pathlib import Path

from genman import bootline
from genman import kernel as kernel_mod
from genman.layout import Layout
from genman.profile.common import as_given, err, expect, expect_str_list, resolve
from genman.profile.merge import Raw
from genman.profile.model import KernelSpec

# The version lands in entry titles and file names.
_VERSION = re.compile(r"[A-Za-z0-9._+~:-]{1,128}")


def parse(raw: Raw, layout: Layout) -> KernelSpec | None:
    entries = raw.flat("kernel")
    if not entries:
        return None
    if "image" not in entries:
        file = next(iter(entries.values()))[1]
        raise err(
            file, "[kernel] image", "missing",
            'set image = "current", "latest" or the path of a vmlinuz file',
        )
    value, file = entries["image"]
    expect(file, "[kernel] image", value, str, "a string")
    initrd_given = entries.get("initrd")
    if initrd_given is not None:
        expect(initrd_given[1], "[kernel] initrd", initrd_given[0], str, "a string")
    params: tuple[str, ...] = ()
    if "params" in entries:
        params = _params(*entries["params"])
    keep_modules = True
    if "keep_modules" in entries:
        kv, kf = entries["keep_modules"]
        expect(kf, "[kernel] keep_modules", kv, bool, "true or false")
        keep_modules = kv

    image, version, target_side = kernel_mod.resolve_image(layout, value, file)
    if not _VERSION.fullmatch(version):
        raise err(file, "[kernel] image", f"kernel version {version!r} is not one word of "
                  "letters, digits and ._+~:-", "rename the image as vmlinuz-<version>")
    initrd: Path | None
    if initrd_given is not None:
        given = resolve(initrd_given[1], initrd_given[0])
        if not given.is_file():
            raise err(
                initrd_given[1], "[kernel] initrd", f"{as_given(initrd_given[0], given)} does "
                "not exist", "fix the path or leave initrd out to use the one matching the image",
            )
        initrd = given
    elif target_side:
        initrd = kernel_mod.target_initrd(layout, version)
    else:
        initrd = kernel_mod.matching_initrd(image, version)
    modules = None
    if keep_modules:
        rel = f"/lib/modules/{version}"
        modules_dir = layout.resolve(rel) if target_side else Path(rel)
        modules = modules_dir if modules_dir.is_dir() else None
    return KernelSpec(image=image, initrd=initrd, version=version, params=params, modules=modules)


def _params(value: object, file: Path) -> tuple[str, ...]:
    params = tuple(expect_str_list(file, "[kernel] params", value))
    for p in params:
        problem = bootline.param_problem(p)
        if problem is not None:
            raise err(file, "[kernel] params", f"{p!r} {problem}",
                      "one list item per kernel parameter; genman sets init= and "
                      "genman.generation= itself")
    return params
