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


class CompiledTemplates(jinja2.BytecodeCache):
    """jinja2's compiled templates, kept between builds: compiling 300 templates is most of
    a no-op rebuild. Read from disk at once; new entries are kept in memory until `save`,
    which the build calls under the lock once the profile validated, so a bad profile
    still writes nothing. jinja2 keys entries by template name and source checksum."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.pending: dict[str, bytes] = {}

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.cache" if self.directory else None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.pending.get(bucket.key)
        path = self._path(bucket.key)
        if data is None and path is not None:
            try:
                data = path.read_bytes()
            except OSError:
                return
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.pending[bucket.key] = bucket.bytecode_to_string()

    def save(self) -> None:
        if self.directory is None or not self.pending:
            return
        from genman.fsutil import atomic_write

        for key, data in self.pending.items():
            path = self._path(key)
            assert path is not None
            atomic_write(path, data, durable=False)  # a lost entry only costs a compile
        self.pending.clear()


_ENVIRONMENTS: dict[tuple[Path | None, int], jinja2.Environment] = {}


def _environment(search_dir: Path | None, cache: CompiledTemplates | None = None
                 ) -> jinja2.Environment:
    """One environment per template directory (and cache), so templates that include each
    other are parsed once per build."""
    key = (search_dir, id(cache))
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = _ENVIRONMENTS[key] = _make_environment(search_dir, cache)
    return env


def _make_environment(search_dir: Path | None, cache: CompiledTemplates | None
                      ) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(search_dir)) if search_dir else None
    return jinja2.Environment(
        loader=loader,
        bytecode_cache=cache if search_dir else None,
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
    cache: CompiledTemplates | None = None,
) -> str:
    """Render a template file or inline text. `where` names the profile file and key for
    errors, e.g. 'profile.toml: [etc."motd"] text'."""
    if template_file is not None:
        env = _environment(template_file.parent, cache)
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
