"""Where the bundled corpus, ontology and queries are, in a source tree or an installed wheel.

A wheel carries them under ``kg/_data/`` (see ``pyproject.toml``); a source checkout or an
editable install has them beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The bundled folder ``name`` (``corpus``, ``ontology`` or ``queries``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"claimkg's bundled '{name}' folder is missing from {_PACKAGE}")


def ontology_file(name: str) -> Path:
    """A file of the bundled ``ontology/`` folder."""
    return data_dir("ontology") / name
