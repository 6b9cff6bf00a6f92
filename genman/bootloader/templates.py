"""The bootloader templates: package data of `genman.bootloaders` (the top-level
`bootloaders/` directory, see pyproject.toml), loaded from the installed package."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import genman

if TYPE_CHECKING:  # jinja2 loads only when an entry is rendered, not for list-generations
    import jinja2

_GRUB_SAFE = re.compile(r"^[A-Za-z0-9_./,:=+@%^-]+$")


def grub_quote(value: object) -> str:
    """A GRUB script word: left bare when safe, else single-quoted."""
    s = str(value)
    if s and _GRUB_SAFE.match(s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def package_dir() -> Traversable:
    if importlib.util.find_spec("genman.bootloaders") is not None:
        return resources.files("genman.bootloaders")
    # A source checkout that was not installed: pyproject.toml maps genman.bootloaders to
    # the bootloaders/ directory next to the genman package (found from the package's own
    # location, never from the working directory).
    return Path(genman.__file__).resolve().parent.parent / "bootloaders"


@cache
def env() -> jinja2.Environment:
    import jinja2

    base = package_dir()
    e = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: base.joinpath(name).read_text()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    e.filters["grub_quote"] = grub_quote
    return e


def render(name: str, **ctx: Any) -> str:
    return env().get_template(name).render(ctx)
