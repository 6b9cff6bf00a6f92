"""One validator and one writer for every value that lands in a boot entry (one BLS line),
a GRUB menu (GRUB script words) or a boot-time sh script.

The profile checks its values with these functions when it loads, and the templates that
write boot artefacts pass every value through the same checks again as filters, so a value
read back from a damaged or hand-edited manifest cannot add a line either.
"""

from __future__ import annotations

import re
import shlex

from genman.errors import GenmanError

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_GRUB_SAFE = re.compile(r"^[A-Za-z0-9_./,:=+@%^-]+$")

# Set by genman on every entry; a profile may not set them.
GENMAN_PARAMS = ("init", "genman.generation")
# Everything after this word on the kernel command line is handed to init.
INIT_ARGS = "--"


def control_char(value: str) -> str | None:
    if value.isprintable():  # no Cc, Zl or Zp character: the common case, without a regex
        return None
    m = _CONTROL.search(value)
    return m.group() if m else None


def check_line(value: str, what: str) -> str:
    """`value`, refused when it holds a character that would end or break a line."""
    bad = control_char(value)
    if bad is not None:
        raise GenmanError(
            f"{what} contains the control character {bad!r}",
            hint="boot entries, menus and boot scripts take one line per value: remove it",
        )
    return value


def kernel_words(line: str) -> list[str]:
    """The kernel's split of a command line: on blanks outside double quotes."""
    words: list[str] = []
    word: list[str] = []
    quoted = False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c in " \t" and not quoted:
            if word:
                words.append("".join(word))
                word = []
            continue
        word.append(c)
    if word:
        words.append("".join(word))
    return words


def param_problem(param: str) -> str | None:
    """Why `param` cannot be one kernel parameter of a profile, or None."""
    bad = control_char(param)
    if bad is not None:
        return f"contains the control character {bad!r}"
    if param.count('"') % 2:
        return "has an unbalanced double quote"
    if len(kernel_words(param)) != 1:
        return "is not one parameter (blanks outside double quotes split it)"
    if param.lstrip('"').split("=", 1)[0] in GENMAN_PARAMS:
        return "is set by genman for every entry"
    return None


def kernel_params(params: tuple[str, ...], genman: tuple[str, ...]) -> tuple[str, ...]:
    """The command line of an entry: genman's own parameters go before any `--`, where the
    kernel still reads them (after it, they would be arguments of init)."""
    for p in (*params, *genman):
        check_line(p, "a kernel parameter")
    if INIT_ARGS in params:
        cut = params.index(INIT_ARGS)
        return (*params[:cut], *genman, *params[cut:])
    return (*params, *genman)


def bls_value(value: object) -> str:
    """A value for one line of a Boot Loader Specification entry."""
    return check_line(str(value), "a boot entry value")


def grub_quote(value: object) -> str:
    """A GRUB script word: left bare when safe, else single-quoted."""
    s = check_line(str(value), "a GRUB menu value")
    if s and _GRUB_SAFE.match(s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def sh_quote(value: object) -> str:
    """A POSIX sh word (busybox and dash read it the same)."""
    return shlex.quote(check_line(str(value), "a boot script value"))
