"""genman: NixOS-style generations for ordinary Linux hosts."""

__version__ = "0.1.0"
