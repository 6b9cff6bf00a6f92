"""The POSIX sh scripts a generation carries: `init` (run as init= at boot) and `activate`.

They are rendered from package templates and become part of the generation's content.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from genman.manifest import Manifest

if TYPE_CHECKING:
    import jinja2


def _env() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("genman.templates").joinpath(name).read_text()
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(manifest: Manifest) -> dict[str, str]:
    env = _env()
    copies = [
        (path, f"{e.mode or 0o644:04o}", e.uid or 0, e.gid or 0)
        for path, e in sorted(manifest.etc.items()) if e.is_copy
    ]
    ctx = {"manifest": manifest, "copies": copies, "paths": sorted(manifest.etc)}
    return {
        "init": env.get_template("init.sh.j2").render(ctx),
        "activate": env.get_template("activate.sh.j2").render(ctx),
    }
