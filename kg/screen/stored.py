"""The compiled screen kept on disk, in the build folder's cache, between runs.

Compiling the shapes costs ~0.3 s of CPU (rdflib parses each SHACL-SPARQL select with
pyparsing), and parsing the ontology the screen loads beside each article ~0.03 s: more
than the rest of rebuilding one changed article, and every ``kg build`` paid them again.
The program is a few hundred frozen dataclasses of strings and the encoded ontology one
N-Triples text, so both are written as JSON (``cache/screen.json``) and read back in a few
milliseconds.

The file holds the key it was made under: the texts of the shapes and of the ontology as
validation reads them (rebased), the base IRI, claimkg's code and schema
(``kg.build_plan.code_fingerprint``: every module, the screen's compiler too), and the
versions of the libraries whose parsing or rendering the compiled queries depend on. A file
under another key, or one that does not read back (corrupt, truncated, another format), is
ignored and rewritten; a folder that cannot be written only costs the compilation. Shapes
the compiler refuses are stored as the refusal, so that they too are decided once. Why
JSON, not pickle: see ``docs/decisions/0024-compiled-screen-on-disk.md``.

A build into an empty folder need not compile either: the package ships the bundled shapes
compiled for the default base, with the ontology encoded (``SHIPPED``, made by ``ship()``),
under a key of their texts, the libraries and the code that compiles them (``COMPILER``),
so that it is used only where compiling now would give the same; the build folder's file is
then written from it. ``tests/test_screen_shipped.py`` fails when it is out of date.
Why shipped, not a user cache folder: ``docs/decisions/0026-shipped-screen.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph
import rdflib

from kg import validate
from kg.namespaces import DEFAULT_BASE
from kg.screen import run
from kg.screen.errors import UnsupportedShapes
from kg.screen.native import _QuoteCheck
from kg.screen.program import _Check, _Combination, _Leaf, _Program, _Query, _Test
from kg.screen.terms import _encode, _Encoded

FILE = "screen.json"
_PACKAGE = Path(__file__).resolve().parent.parent
SHIPPED = Path(__file__).with_name("shipped.json")
"""The bundled shapes compiled for ``DEFAULT_BASE`` and the ontology encoded, under the key
``shipped_key`` gives them (regenerate: ``python -c "from kg.screen import stored;
stored.ship()"``)."""
COMPILER = ("prebinding.py", "validate.py", "namespaces.py", "base_iri.py", "resources.py")
"""Beside every module of ``kg.screen``, the modules whose code compiles the shapes and
encodes the ontology (``tests/test_screen_shipped.py`` checks that they are all those the
compiler imports)."""
_RULES = frozenset(("or", "xone", "and", "not", "qualified"))  # kg.screen.run._RULES
_FORMAT = 2
"""Raised when the file's layout changes (the code fingerprint changes then too)."""


_PYPARSING = importlib.metadata.version("pyparsing")
"""Read, not imported: a build that reads its screen never parses SPARQL (0.02 s)."""


def key(texts: Sequence[str], base: str, code: str) -> str:
    """What a stored screen was made from: the shapes' and ontology's texts, base, code and
    libraries."""
    parts = [
        f"format {_FORMAT}",
        f"python {sys.version_info[:2]}",
        f"rdflib {rdflib.__version__}",
        f"pyoxigraph {pyoxigraph.__version__}",
        f"pyparsing {_PYPARSING}",
        f"code {code}",
        f"base {base}",
        *(f"{len(text)}\n{text}" for text in texts),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def texts(base: str) -> list[str]:
    """The shapes and the ontology, as validation reads them for ``base``: what a stored
    screen is made from."""
    return [validate._read(name, base) for name in ("shapes.ttl", *run._ONTOLOGY)]


@cache
def compiler_code() -> str:
    """A digest of the code that compiles the shapes and encodes the ontology (not all of
    claimkg's, as ``code_fingerprint`` is: the shipped screen holds whatever else changes)."""
    files = sorted(_PACKAGE.glob("screen/*.py")) + [_PACKAGE / name for name in COMPILER]
    sha = hashlib.sha256()
    for file in files:
        data = file.read_bytes()
        sha.update(f"{file.relative_to(_PACKAGE).as_posix()} {len(data)}\n".encode())
        sha.update(data)
    return sha.hexdigest()


def shipped_key(base: str) -> str:
    """The key under which the shipped screen serves ``base``."""
    return key(texts(base), base, compiler_code())


Compiled = _Program | UnsupportedShapes


def screen(
    folder: Path,
    wanted: str,
    compile: Callable[[], _Program],
    ontology: Callable[[], _Encoded],
    shipped: str | None = None,
) -> tuple[Compiled, _Encoded]:
    """The program and the encoded ontology stored in ``folder`` under the key ``wanted``;
    else those shipped with the package if they were made under the key ``shipped``; else
    ``compile()``'s (or its ``UnsupportedShapes``) and ``ontology()``. Either of the last
    two is stored in ``folder`` for the next run."""
    path = folder / FILE
    found = _read(path, wanted)
    if found is not None:
        return found
    found = None if shipped is None else _read(SHIPPED, shipped)
    if found is None:
        result: Compiled
        try:
            result = compile()
        except UnsupportedShapes as error:
            result = error
        found = result, ontology()
    _write(path, {"key": wanted, **_body(*found)})
    return found


def _body(result: Compiled, encoded: _Encoded) -> dict[str, Any]:
    """The stored file's fields beside its key."""
    body: dict[str, Any]
    if isinstance(result, UnsupportedShapes):
        body = {"unsupported": str(result)}
    else:
        body = {"program": encode(result)}
    body["ontology"] = {
        "ntriples": encoded.ntriples,
        "disagreeing": sorted(encoded.disagreeing),
        "typed": sorted(encoded.typed),
    }
    return body


def ship(path: Path = SHIPPED) -> None:
    """Write the shipped screen: the bundled shapes compiled now for ``DEFAULT_BASE`` and
    the ontology encoded now (never read from a stored screen), under ``shipped_key``."""
    from kg.screen.compiler import compile_shapes  # the compiler imports this module

    result: Compiled
    try:
        result = compile_shapes(validate._parsed(("shapes.ttl",), DEFAULT_BASE))
    except UnsupportedShapes as error:
        result = error
    encoded = _encode(validate._parsed(run._ONTOLOGY, DEFAULT_BASE))
    lines = sorted(encoded.ntriples.splitlines(keepends=True))  # rdflib's order is random
    encoded = _Encoded("".join(lines), encoded.disagreeing, encoded.typed)
    data = {"key": shipped_key(DEFAULT_BASE), **_body(result, encoded)}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _read(path: Path, wanted: str) -> tuple[Compiled, _Encoded] | None:
    """The stored screen under ``wanted``, or None (no file, another key, unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("key") != wanted:
            return None
        found = _dict(data["ontology"])
        ontology = _Encoded(
            _str(found["ntriples"]),
            frozenset(map(_str, _list(found["disagreeing"]))),
            frozenset(map(_str, _list(found["typed"]))),
        )
        if "unsupported" in data:
            return UnsupportedShapes(_str(data["unsupported"])), ontology
        return decode(data["program"]), ontology
    except (OSError, ValueError, KeyError, TypeError):  # JSONDecodeError, UnicodeError too
        return None


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file in one rename (a reader sees the old one or the new one); a folder
    that cannot be written is no error: the next run compiles again."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


# -- the program as JSON


def encode(program: _Program) -> dict[str, Any]:
    return {
        "focus": program.focus,
        "queries": [_encode_query(q) for q in program.queries],
        "checks": [[c.shape, _encode_test(c.test)] for c in program.checks],
    }


def decode(data: Any) -> _Program:
    """The program ``encode`` wrote; raises ValueError (or KeyError, TypeError) on
    anything else."""
    data = _dict(data)
    return _Program(
        _str(data["focus"]),
        tuple(_decode_query(q) for q in _list(data["queries"])),
        tuple(_Check(_str(s), _decode_test(t)) for s, t in map(_list, _list(data["checks"]))),
    )


def _encode_query(query: _Query) -> dict[str, Any]:
    native = query.native
    return {
        "sparql": query.sparql,
        "leaf": None if query.leaf is None else [query.leaf.id, query.leaf.key],
        "reads": _encode_set(query.reads),
        "sources": [[name, _encode_set(reads)] for name, reads in query.sources],
        "native": None if native is None else [native.rows, native.texts],
    }


def _decode_query(data: Any) -> _Query:
    data = _dict(data)
    leaf, native = data["leaf"], data["native"]
    return _Query(
        _str(data["sparql"]),
        None if leaf is None else _decode_leaf(leaf),
        _decode_set(data["reads"]),
        tuple((_str(name), _decode_set(reads)) for name, reads in map(_list, data["sources"])),
        None if native is None else _QuoteCheck(*map(_str, _pair(native))),
    )


def _encode_test(test: _Test) -> dict[str, Any]:
    if isinstance(test, _Leaf):
        return {"leaf": [test.id, test.key]}
    return {
        "rule": test.rule,
        "pairs": test.pairs,
        "members": [[_encode_test(t) for t in member] for member in test.members],
        "low": test.low,
        "high": test.high,
    }


def _decode_test(data: Any) -> _Test:
    data = _dict(data)
    if "leaf" in data:
        return _decode_leaf(data["leaf"])
    high, rule = data["high"], _str(data["rule"])
    if rule not in _RULES:
        raise ValueError(f"no such combination: {rule!r:.40}")
    return _Combination(
        rule,
        _str(data["pairs"]),
        tuple(tuple(_decode_test(t) for t in _list(member)) for member in _list(data["members"])),
        _int(data["low"]),
        None if high is None else _int(high),
    )


def _decode_leaf(data: Any) -> _Leaf:
    number, where = _pair(data)
    return _Leaf(_int(number), _str(where))


def _encode_set(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _decode_set(data: Any) -> frozenset[str] | None:
    return None if data is None else frozenset(map(_str, _list(data)))


def _dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"expected an object, found {data!r:.40}")
    return data


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ValueError(f"expected a list, found {data!r:.40}")
    return data


def _pair(data: Any) -> list[Any]:
    found = _list(data)
    if len(found) != 2:
        raise ValueError(f"expected two values, found {len(found)}")
    return found


def _str(data: Any) -> str:
    if not isinstance(data, str):
        raise ValueError(f"expected a string, found {data!r:.40}")
    return data


def _int(data: Any) -> int:
    if type(data) is not int:
        raise ValueError(f"expected an integer, found {data!r:.40}")
    return data
