"""The bootloader templates: package data of `genman.bootloaders` (the top-level
`bootloaders/` directory, see pyproject.toml), rendered by genman's one environment."""

from __future__ import annotations

from typing import Any

from genman.bootline import grub_quote

__all__ = ["grub_quote", "render"]


def render(name: str, **ctx: Any) -> str:
    from genman import templating

    return templating.render_package(f"bootloaders/{name}", **ctx)
