"""What the screen raises when it cannot answer."""

from __future__ import annotations


class ScreenError(Exception):
    """The screen cannot answer; validate with pySHACL instead."""


class UnsupportedShapes(ScreenError):
    """The shapes use a SHACL feature the compiler does not handle."""
