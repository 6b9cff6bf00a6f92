#!/usr/bin/env python3
"""Write a man page per genman command, from the same click help that `--help` prints.

    python3 tools/make-manpages.py OUTDIR

genman.1 for the group (global options, the command list), genman-<command>.1 for each
command, genman-<group>-<command>.1 below a sub-group. The help lives once, in the click
decorators and docstrings; this only re-typesets it as roff, so pages cannot drift from
`--help`. Run against the genman on PYTHONPATH (the package build runs it on the installed
tree).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from genman import __version__
from genman.cli import cli

SECTION = "1"
MANUAL = "genman manual"


def esc(text: str) -> str:
    """Roff-escape running text: backslashes, and minus signs that are meant literally."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def line(text: str) -> str:
    """A text line that roff must not read as a request (leading . or ')."""
    text = esc(text)
    return "\\&" + text if text.startswith((".", "'")) else text


def paragraphs(help_text: str) -> list[str]:
    """click's help as roff: blank lines split paragraphs; a paragraph whose first line is
    \\b is kept as typed (examples), as click does when it wraps `--help`."""
    out: list[str] = []
    for block in help_text.strip().split("\n\n"):
        lines = block.split("\n")
        if lines[0].strip() == "\b":
            out += [".PP", ".nf", *(line(ln) for ln in lines[1:]), ".fi"]
        else:
            out += [".PP", line(" ".join(ln.strip() for ln in lines))]
    return out


def options(ctx: click.Context, command: click.Command) -> list[str]:
    out: list[str] = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):  # named in the synopsis and the description
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out += [".TP", f"\\fB{esc(names)}\\fR", line(help_text or "")]
    return out


def page(name: str, ctx: click.Context, command: click.Command, see_also: list[str]) -> str:
    title = name.upper()
    short = command.get_short_help_str(limit=200).rstrip(".")
    short = short.removeprefix(f"{name}: ")  # "genman: ..." would read "genman - genman: ..."
    usage = command.collect_usage_pieces(ctx)
    parent = ctx.parent.command_path if ctx.parent else ""
    lines = [
        f'.TH {esc(title)} {SECTION} "" "genman {__version__}" "{MANUAL}"',
        ".SH NAME",
        f"{esc(name)} \\- {esc(short)}",
        ".SH SYNOPSIS",
        f"\\fB{esc(parent)}\\fR" if parent else "",
        "[\\fIGLOBAL OPTIONS\\fR]" if parent else "",
        f"\\fB{esc(ctx.info_name or '')}\\fR {esc(' '.join(usage))}",
        ".SH DESCRIPTION",
        *paragraphs(command.help or ""),
    ]
    opts = options(ctx, command)
    if opts:
        lines += [".SH OPTIONS", *opts]
    if isinstance(command, click.Group):
        lines += [".SH COMMANDS"]
        for sub_name, sub in sorted(command.commands.items()):
            if sub.hidden:  # started by genman itself, not by people
                continue
            lines += [".TP", f"\\fB{esc(sub_name)}\\fR", line(sub.get_short_help_str(limit=200))]
    if parent:
        lines += [".PP", "The global options are described in \\fBgenman\\fR(1)."]
    if see_also:
        refs = ", ".join(f"\\fB{esc(ref)}\\fR({SECTION})" for ref in see_also)
        # .nh: a page name broken at a hyphen ("gen-/man-remote") is no longer a name
        lines += [".SH SEE ALSO", ".nh", refs]
    return "\n".join(ln for ln in lines if ln) + "\n"


def walk(ctx: click.Context, command: click.Command, name: str) -> dict[str, str]:
    """Every page below `command`, by page name."""
    pages: dict[str, str] = {}
    subs: dict[str, click.Command] = {}
    if isinstance(command, click.Group):
        subs = {n: c for n, c in sorted(command.commands.items()) if not c.hidden}
    children = [f"{name}-{sub}" for sub in subs]
    parent = ctx.parent
    see_also = children or ([parent.command_path.replace(" ", "-")] if parent else [])
    pages[name] = page(name, ctx, command, see_also)
    for sub_name, sub in subs.items():
        sub_ctx = click.Context(sub, info_name=sub_name, parent=ctx)
        pages.update(walk(sub_ctx, sub, f"{name}-{sub_name}"))
    return pages


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make-manpages.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    root = click.Context(cli, info_name="genman")
    for name, text in walk(root, cli, "genman").items():
        (out / f"{name}.{SECTION}").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
