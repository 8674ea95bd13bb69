"""claimkg: the medical claims of a published article as a validated RDF knowledge graph."""

from __future__ import annotations

from functools import cache


@cache
def _version() -> str:
    # importlib.metadata costs ~0.1 s to import: read only when asked (kg --help stays fast)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("claimkg")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'kg' has no attribute {name!r}")
