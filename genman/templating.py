"""The one jinja2 environment of genman, and rendering with errors that name the line.

Every template renders in jinja2's immutable sandbox with StrictUndefined: a profile's
templates cannot reach Python internals, and the project's own templates (boot scripts,
boot entries, the GRUB menu) get the same rules. Templates are named by where they live:
  genman/<name>       package data of genman.templates (boot-time scripts)
  bootloaders/<name>  package data of genman.bootloaders (entries, menus)
  /abs/path           a profile's template; includes are relative to the including
                      template and must stay inside a directory a profile named.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import socket
import stat
import types
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2

import genman
from genman import bootline, fsutil
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


def bootloaders_dir() -> Traversable:
    if importlib.util.find_spec("genman.bootloaders") is not None:
        return resources.files("genman.bootloaders")
    # A source checkout that was not installed: pyproject.toml maps genman.bootloaders to
    # the bootloaders/ directory next to the genman package (found from the package's own
    # location, never from the working directory).
    return Path(genman.__file__).resolve().parent.parent / "bootloaders"


_PACKAGES: dict[str, Callable[[], Traversable]] = {
    "genman": lambda: resources.files("genman.templates"),
    "bootloaders": bootloaders_dir,
}
# Directories of the profile templates rendered so far: the only places includes may read.
_USER_DIRS: set[str] = set()


def _private_file(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


class CompiledTemplates(jinja2.BytecodeCache):
    """jinja2's compiled templates, kept between builds: compiling 300 templates is most of
    a no-op rebuild. Compiled code runs when loaded, so it is read only from a private
    directory of the building machine (Layout.build_cache: 0700, ours, never in the target
    tree) and only from files that are ours and 0600. New entries are kept in memory until
    `save`, which the build calls once the profile validated, so a bad profile still writes
    nothing. jinja2 keys entries by template name and source checksum."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.pending: dict[str, bytes] = {}

    def _read(self, key: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            st = os.lstat(self.directory)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
                return None
            fd = os.open(self.directory / f"{key}.cache", os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read() if _private_file(os.fstat(f.fileno())) else None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.pending.get(bucket.key)
        if data is None:
            data = self._read(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.pending[bucket.key] = bucket.bytecode_to_string()

    def save(self) -> None:
        if self.directory is None or not self.pending:
            return
        if fsutil.private_dir(self.directory):
            for key, data in self.pending.items():
                # A lost entry only costs a compile: not durable.
                fsutil.atomic_write(self.directory / f"{key}.cache", data, mode=0o600,
                                    durable=False)
        self.pending.clear()


@cache
def environment() -> jinja2.Environment:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Loader(jinja2.BaseLoader):
        def get_source(self, environment: jinja2.Environment, template: str
                       ) -> tuple[str, str | None, Callable[[], bool] | None]:
            prefix, _, rest = template.partition("/")
            if prefix in _PACKAGES and rest and "/" not in rest:
                return _PACKAGES[prefix]().joinpath(rest).read_text(), None, lambda: True
            return _user_source(template)

    class Environment(ImmutableSandboxedEnvironment):
        def join_path(self, template: str, parent: str) -> str:
            if os.path.isabs(parent) and not os.path.isabs(template):
                return os.path.normpath(os.path.join(os.path.dirname(parent), template))
            return template

    env = Environment(loader=Loader(), undefined=jinja2.StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    env.filters.update(grub_quote=bootline.grub_quote, sh_quote=bootline.sh_quote,
                       bls=bootline.bls_value)
    return env


class SecretRead(jinja2.TemplateError):
    """A template tried to read a [secrets] file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


# [secrets] files of the profile being loaded: no template may read them.
_SECRET_FILES: set[str] = set()


@contextlib.contextmanager
def unreadable(paths: set[Path]) -> Iterator[None]:
    """While loading a profile: templates that read one of `paths` are refused."""
    _SECRET_FILES.update(os.path.realpath(p) for p in paths)
    try:
        yield
    finally:
        _SECRET_FILES.clear()


def _user_source(name: str) -> tuple[str, str, Callable[[], bool]]:
    path = os.path.normpath(name)
    if os.path.realpath(path) in _SECRET_FILES:
        raise SecretRead(path)
    if not os.path.isabs(path) or not any(
            path.startswith(d.rstrip("/") + "/") for d in _USER_DIRS):
        raise jinja2.TemplateNotFound(name)
    try:
        mtime = os.stat(path).st_mtime_ns
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError):
        raise jinja2.TemplateNotFound(name) from None

    def uptodate() -> bool:
        try:
            return os.stat(path).st_mtime_ns == mtime
        except OSError:
            return False

    return source, path, uptodate


def render_package(name: str, **ctx: Any) -> str:
    """Render one of genman's own templates, e.g. 'bootloaders/grub-menu.cfg.j2'."""
    env = environment()
    env.bytecode_cache = None
    return env.get_template(name).render(ctx)


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
    cache: CompiledTemplates | None = None,
) -> str:
    """Render a profile's template file or inline text, sandboxed. `where` names the
    profile file and key for errors, e.g. 'profile.toml: [etc."motd"] text'."""
    env = environment()
    env.bytecode_cache = cache
    shown = _shown(template_file) if template_file is not None else "inline text"
    filename = "<template>"
    try:
        if template_file is not None:
            _USER_DIRS.add(str(template_file.parent))
            tmpl = env.get_template(str(template_file))
            filename = tmpl.filename or filename
        else:
            tmpl = env.from_string(text or "")
        return tmpl.render(context)
    except jinja2.TemplateSyntaxError as e:
        at = f"{e.filename or shown} line {e.lineno}"
        raise GenmanError(
            f"{where}: template syntax error in {at}: {e.message}",
            hint="fix the jinja2 syntax at that line",
        ) from None
    except jinja2.UndefinedError as e:
        line = _template_line(e.__traceback__, filename)
        at = f"{shown} line {line}" if line else shown
        raise GenmanError(
            f"{where}: undefined template variable in {at}: {e.message}",
            hint="define it under [vars] in the profile, or guard it with"
            " `{% if x is defined %}`",
        ) from None
    except SecretRead as e:
        raise GenmanError(
            f"{where}: template {shown} reads {_shown(Path(e.path))}, the file of a "
            "[secrets] entry; a rendered template goes to the world-readable store",
            hint="install the secret through [secrets] only, and keep it out of templates",
        ) from None
    except jinja2.TemplateNotFound as e:
        raise GenmanError(
            f"{where}: template {shown} includes {e.name}, which does not exist",
            hint="create that file next to the template or fix the include; includes stay "
            "inside the template's directory",
        ) from None
    except jinja2.exceptions.SecurityError as e:
        raise GenmanError(f"{where}: {shown} reached outside the template sandbox: {e}",
                          hint="templates may use variables, filters and tests only") from None
    except jinja2.TemplateError as e:
        raise GenmanError(f"{where}: cannot render {shown}: {e}") from None
    finally:
        env.bytecode_cache = None

