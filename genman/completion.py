"""Shell completion of generation numbers, for the commands that take one.

click generates the completion scripts (`_GENMAN_COMPLETE=bash_source genman`, the Debian
package ships them); at each TAB the script asks genman again, and this lists the
generations of the root the command line names (`--root`), newest first. It only reads a
directory listing, so it is quick and never fails: no generations, no candidates.
"""

from __future__ import annotations

import os
import sys

import click
from click.shell_completion import CompletionItem

from genman.layout import Layout


def generation_numbers(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
    root = ctx.find_root().params.get("root") or "/"
    layout = Layout.for_root(root)
    try:
        names = os.listdir(layout.host(layout.generations_dir))
    except OSError:
        return []
    try:
        default = os.path.basename(os.readlink(layout.host(layout.default_link)))
    except OSError:
        default = ""
    numbers = sorted((int(n) for n in names if n.isdigit()), reverse=True)
    return [CompletionItem(str(n), help="default" if str(n) == default else None)
            for n in numbers if str(n).startswith(incomplete)]


COMPLETE_VAR = "_GENMAN_COMPLETE"


def complete_if_asked(group: click.Group) -> None:
    """Answer a completion request and exit, when the shell's script asks for one
    (`_GENMAN_COMPLETE=bash_complete`, or `bash_source` for the script itself). click's own
    `main()` does this; genman's main builds its context itself, so it asks here first."""
    instruction = os.environ.get(COMPLETE_VAR)
    if not instruction:
        return
    from click.shell_completion import shell_complete

    sys.exit(shell_complete(group, {}, "genman", COMPLETE_VAR, instruction))
