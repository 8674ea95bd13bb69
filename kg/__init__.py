"""claimkg: the medical claims of a published article as a validated RDF knowledge graph."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("claimkg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
