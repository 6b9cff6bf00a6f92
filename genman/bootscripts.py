"""The POSIX sh scripts a generation carries: `init` (run as init= at boot) and `activate`.

They are rendered from package templates and become part of the generation's content.
`activate` carries the generation's /etc entries baked in, computed by the same
`etcwants.desired_etc` the Python activation uses, so both make the same /etc.
"""

from __future__ import annotations

from genman.bootline import sh_quote
from genman.etcwants import PATH_PROFILE, CopyWant, LinkWant, desired_etc
from genman.layout import Layout, copy_source
from genman.manifest import Manifest

# Tried in order after the profile's [system] init.
FALLBACK_INITS = ("/lib/systemd/systemd", "/sbin/init")


def render(manifest: Manifest) -> dict[str, str]:
    from genman import templating

    # One line per /etc path, joined here rather than looped in jinja: a 10,000-file
    # generation renders this on every build.
    links: list[str] = []
    copies: list[str] = []
    store = str(Layout.store_dir)
    for path, want in sorted(desired_etc(manifest).items()):
        match want:
            case LinkWant(target):
                links.append(f"\t\"$1\" link {sh_quote(path)} {sh_quote(target)}\n")
            case CopyWant(name, mode, uid, gid):
                copies.append(f"\t\"$1\" copy {sh_quote(path)} {sh_quote(str(copy_source(name)))} "
                              f"{mode:04o} {uid} {gid}\n")
    inits = ([manifest.init] if manifest.init else []) + [
        i for i in FALLBACK_INITS if i != manifest.init
    ]
    ctx = {"manifest": manifest, "wants": "".join(links + copies),
           "path_profile": PATH_PROFILE, "inits": inits, "store_dir": store}
    return {
        "init": templating.render_package("genman/init.sh.j2", **ctx),
        "activate": templating.render_package("genman/activate.sh.j2", **ctx),
    }
