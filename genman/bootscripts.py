"""The POSIX sh scripts a generation carries: `init` (run as init= at boot) and `activate`.

They are rendered from package templates and become part of the generation's content.
`activate` carries the generation's /etc entries baked in, computed by the same
`etcwants.desired_etc` the Python activation uses, so both make the same /etc.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from genman.etcwants import PATH_PROFILE, CopyWant, LinkWant, desired_etc
from genman.layout import Layout
from genman.manifest import Manifest

if TYPE_CHECKING:
    import jinja2

# Tried in order after the profile's [system] init.
FALLBACK_INITS = ("/lib/systemd/systemd", "/sbin/init")


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
    # One line per /etc path, joined here rather than looped in jinja: a 10,000-file
    # generation renders this on every build.
    links: list[str] = []
    copies: list[str] = []
    store = str(Layout.store_dir)
    for path, want in sorted(desired_etc(manifest).items()):
        match want:
            case LinkWant(target):
                links.append(f"\t\"$1\" link '{path}' '{target}'\n")
            case CopyWant(name, mode, uid, gid):
                copies.append(f"\t\"$1\" copy '{path}' '{store}/{name}' {mode:04o} {uid} {gid}\n")
    inits = ([manifest.init] if manifest.init else []) + [
        i for i in FALLBACK_INITS if i != manifest.init
    ]
    env = _env()
    ctx = {"manifest": manifest, "wants": "".join(links + copies),
           "path_profile": PATH_PROFILE, "inits": " ".join(inits)}
    return {
        "init": env.get_template("init.sh.j2").render(ctx),
        "activate": env.get_template("activate.sh.j2").render(ctx),
    }
