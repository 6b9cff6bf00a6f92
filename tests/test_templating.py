"""templating: the sandboxed, strict environment and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from genman import templating
from genman.errors import GenmanError


def _render(text: str, **ctx: object) -> str:
    return templating.render(where="profile.toml: [etc.\"x\"] text", context=ctx, text=text)


def test_renders_variables_and_filters() -> None:
    assert _render("{{ a }}-{{ b | upper }}", a="x", b="y") == "x-Y"
    assert _render("{{ v | sh_quote }}", v="it's") == "'it'\"'\"'s'"


def test_keeps_trailing_newline() -> None:
    assert _render("line {{ a }}\n", a=1) == "line 1\n"
    assert _render("no newline", a=1) == "no newline"


def test_undefined_variable_is_named() -> None:
    with pytest.raises(GenmanError) as e:
        _render("hello {{ missing_thing }}")
    assert "missing_thing" in str(e.value)
    assert "undefined template variable" in str(e.value)
    assert str(e.value).startswith('profile.toml: [etc."x"] text')


def test_undefined_attribute_is_named() -> None:
    with pytest.raises(GenmanError, match="nosuchkey"):
        _render("{{ system.nosuchkey }}", system={"hostname": "h"})


@pytest.mark.parametrize("text", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ x.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
])
def test_sandbox_refuses_python_internals(text: str) -> None:
    with pytest.raises(GenmanError, match=r"unsafe|sandbox"):
        _render(text, x=_render)


def test_immutable_sandbox_refuses_mutation() -> None:
    with pytest.raises(GenmanError, match=r"sandbox|unsafe|cannot"):
        _render("{{ items.append(3) }}{{ items }}", items=[1, 2])


def test_syntax_error_names_line() -> None:
    with pytest.raises(GenmanError, match="syntax error in inline text line 2"):
        _render("ok\n{% if %}\n")


def test_template_file_and_include(tmp_path: Path) -> None:
    d = tmp_path / "tpl"
    d.mkdir()
    (d / "part.j2").write_text("part {{ n }}\n")
    (d / "main.j2").write_text("main\n{% include 'part.j2' %}")
    out = templating.render(where="w", context={"n": 7}, template_file=d / "main.j2")
    assert out == "main\npart 7\n"


def test_undefined_in_file_names_line(tmp_path: Path) -> None:
    f = tmp_path / "t.j2"
    f.write_text("a\nb\n{{ oops }}\n")
    with pytest.raises(GenmanError, match=r"line 3.*oops"):
        templating.render(where="w", context={}, template_file=f)


def test_include_outside_template_dirs_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "a" / "tpl"
    d.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (d / "main.j2").write_text("{% include '../../secret.txt' %}")
    with pytest.raises(GenmanError, match="does not exist"):
        templating.render(where="w", context={}, template_file=d / "main.j2")


def test_missing_include(tmp_path: Path) -> None:
    f = tmp_path / "main.j2"
    f.write_text("{% include 'nope.j2' %}")
    with pytest.raises(GenmanError, match=r"nope\.j2"):
        templating.render(where="w", context={}, template_file=f)


def test_compiled_templates_saved_private(tmp_path: Path) -> None:
    f = tmp_path / "t.j2"
    f.write_text("{{ a }}")
    cache_dir = tmp_path / "cache"
    cache = templating.CompiledTemplates(cache_dir)
    assert templating.render(where="w", context={"a": 1}, template_file=f, cache=cache) == "1"
    assert cache.pending
    cache.save()
    assert not cache.pending
    files = list(cache_dir.iterdir())
    assert files
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    fresh = templating.CompiledTemplates(cache_dir)
    assert fresh._read(files[0].name.removesuffix(".cache")) == files[0].read_bytes()
    files[0].chmod(0o644)
    assert fresh._read(files[0].name.removesuffix(".cache")) is None


def test_host_facts_keys() -> None:
    facts = templating.host_facts()
    assert set(facts) == {"hostname", "architecture", "kernel"}
    assert all(isinstance(v, str) and v for v in facts.values())
