"""jinja2 rendering for /etc templates, with errors that name the template line."""

from __future__ import annotations

import os
import platform
import socket
import types
from pathlib import Path
from typing import Any

import jinja2

from genman.errors import GenmanError


def host_facts() -> dict[str, str]:
    """Facts about the machine genman runs on, offered to templates as `host`."""
    return {
        "hostname": socket.gethostname(),
        "architecture": platform.machine(),
        "kernel": platform.release(),
    }


def _shown(path: Path) -> str:
    """As the user would type it from here, unless that climbs far up the tree."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("../..") else rel


def _environment(search_dir: Path | None) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(search_dir)) if search_dir else None
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _template_line(tb: types.TracebackType | None, filename: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(
    *,
    where: str,
    context: dict[str, Any],
    template_file: Path | None = None,
    text: str | None = None,
    hint_vars: str = "",
) -> str:
    """Render a template file or inline text. `where` names the profile file and key for
    errors, e.g. 'profile.toml: [etc."motd"] text'."""
    if template_file is not None:
        env = _environment(template_file.parent)
        name = template_file.name
        shown = _shown(template_file)
    else:
        env = _environment(None)
        name = "<text>"
        shown = "inline text"
    try:
        if template_file is not None:
            tmpl = env.get_template(name)
        else:
            assert text is not None
            tmpl = env.from_string(text)
        return tmpl.render(context)
    except jinja2.TemplateSyntaxError as e:
        at = f"{e.filename or shown} line {e.lineno}"
        raise GenmanError(
            f"{where}: template syntax error in {at}: {e.message}",
            hint="fix the jinja2 syntax at that line",
        ) from None
    except jinja2.UndefinedError as e:
        filename = tmpl.filename if template_file is not None else "<template>"
        line = _template_line(e.__traceback__, filename or "<template>")
        at = f"{shown} line {line}" if line else shown
        raise GenmanError(
            f"{where}: undefined template variable in {at}: {e.message}",
            hint=f"define it under [vars] in the profile{hint_vars}, or guard it with"
            " `{% if x is defined %}`",
        ) from None
    except jinja2.TemplateNotFound as e:
        raise GenmanError(
            f"{where}: template {shown} includes {e.name}, which does not exist",
            hint="create that file next to the template or fix the include",
        ) from None
    except jinja2.TemplateError as e:
        raise GenmanError(f"{where}: cannot render {shown}: {e}") from None
