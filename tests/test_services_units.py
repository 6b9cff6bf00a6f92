"""systemd unit files as sections and keys (systemd.syntax(7)), and what a change needs."""

from __future__ import annotations

from genman.services.units import Need, compare, parse

BASE = """# a comment
[Unit]
Description=web
Requires=db.service
[Service]
ExecStart=/usr/bin/web \\
  --port 80
Environment=A=1
; another comment
"""


def test_parse_continuations_comments_and_drop_ins() -> None:
    d = parse(BASE, "[Service]\nExecStart=\nExecStart=/usr/bin/web2\n")
    # as systemd: the backslash becomes a space, the next line joins stripped
    assert d.values("Service", "ExecStart") == ["/usr/bin/web  --port 80", "", "/usr/bin/web2"]
    assert d.last("Service", "Environment") == "A=1"
    assert d.names("Unit", "Requires") == {"db.service"}
    assert parse("[Unit]\nRequires=a b\nRequires=\nRequires=c\n").names("Unit", "Requires") \
        == {"c"}
    assert parse("[Unit]\nRefuseManualStart=yes\n").flag("Unit", "RefuseManualStart")


def test_compare() -> None:
    a = parse(BASE)
    assert compare("web.service", a, parse(BASE)).need is Need.NOTHING
    assert compare("web.service", a, parse(BASE.replace("# a comment", "# other"))).need \
        is Need.NOTHING  # comments are not part of the definition
    v = compare("web.service", a, parse(BASE + "[Install]\nWantedBy=x.target\n"))
    assert v.need is Need.IGNORED and "[Install] WantedBy=" in v.reason
    v = compare("web.service", a, parse(BASE.replace("A=1", "A=2")))
    assert (v.need, v.reason) == (Need.RESTART, "unit changed: [Service] Environment=")
    v = compare("web.service", a, parse(BASE, "[Unit]\nX-Reload-Triggers=abc\n"))
    assert v.need is Need.RELOAD
    # Options= reloads a mount only
    assert compare("x.service", parse("[Mount]\nOptions=ro\n"),
                   parse("[Mount]\nOptions=rw\n")).need is Need.RESTART
    assert compare("x.mount", parse("[Mount]\nOptions=ro\n"),
                   parse("[Mount]\nOptions=rw\n")).need is Need.RELOAD
