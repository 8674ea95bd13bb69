"""SPARQL functions the screen runs in Python, so that they answer as rdflib does.

Oxigraph's regular expressions are Rust's and some rdflib functions have quirks of their own
(SUBSTR is a Python slice); the screen calls these copies, written after
``rdflib.plugins.sparql.operators`` and compared with it in ``tests/test_screen.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from rdflib.namespace import XSD

from kg.screen.terms import _INTEGERS, _SCREEN, OxTerm

_Function = Callable[..., ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]

_FUNCTION = _SCREEN + "function:"
_STRING = str(XSD.string)
_PYTHON_NUMBERS: dict[str, Callable[[str], object]] = {
    **{str(datatype): int for datatype in _INTEGERS},
    str(XSD.decimal): Decimal,
    str(XSD.float): float,
    str(XSD.double): float,
}
_REGEX_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}
_TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD.boolean))
_FALSE = ox.Literal("false", datatype=ox.NamedNode(XSD.boolean))


class _SparqlError(Exception):
    """What rdflib raises as ``SPARQLError``: an evaluation error, not a failure."""


@dataclass(frozen=True)
class _Text:
    """A string literal as rdflib's ``string()`` accepts it (plain, xsd:string, or tagged)."""

    text: str
    language: str | None

    @classmethod
    def of(cls, term: OxTerm) -> _Text:
        if not isinstance(term, ox.Literal):
            raise _SparqlError
        if term.language:
            return cls(term.value, term.language)
        if term.datatype.value != _STRING:
            raise _SparqlError
        return cls(term.value, None)

    def literal(self, text: str) -> ox.Literal:
        return ox.Literal(text, language=self.language) if self.language else ox.Literal(text)


def _number(term: OxTerm) -> object:
    """rdflib's ``numeric()``: the Python value of a numeric literal."""
    if not isinstance(term, ox.Literal):
        raise _SparqlError
    convert = _PYTHON_NUMBERS.get(term.datatype.value)
    if convert is None or term.language:
        raise _SparqlError
    return convert(term.value)


def _flags(flags: OxTerm | None) -> int:
    if flags is None:
        return 0
    found = 0
    for flag in _lexical(flags):
        found |= _REGEX_FLAGS.get(flag, 0)
    return found


def _lexical(term: OxTerm) -> str:
    return term.value if isinstance(term, ox.Literal) else str(term)


def _substr(arg: OxTerm, start: OxTerm, length: OxTerm | None = None) -> OxTerm:
    text = _Text.of(arg)
    begin: Any = _number(start)
    begin = begin - 1
    end: Any = None if length is None else _number(length) + begin
    return text.literal(text.text[begin:end])


def _concat(*arguments: OxTerm) -> OxTerm:
    texts = [_Text.of(a) for a in arguments]
    languages = {t.language for t in texts}
    language = languages.pop() if len(languages) == 1 else None
    joined = "".join(t.text for t in texts)
    return ox.Literal(joined, language=language) if language else ox.Literal(joined)


def _lcase(arg: OxTerm) -> OxTerm:
    text = _Text.of(arg)
    return text.literal(text.text.lower())


def _regex(text: OxTerm, pattern: OxTerm, flags: OxTerm | None = None) -> OxTerm:
    subject, expression = _Text.of(text), _Text.of(pattern)
    return _TRUE if re.search(expression.text, subject.text, _flags(flags)) else _FALSE


def _replace(
    arg: OxTerm, pattern: OxTerm, replacement: OxTerm, flags: OxTerm | None = None
) -> OxTerm:
    text, expression = _Text.of(arg), _Text.of(pattern)
    python = re.sub("\\$([0-9]*)", r"\\\1", _Text.of(replacement).text)  # $1 → \1
    # rdflib passes the flags as re.sub's fourth positional argument, the count: so here too
    return text.literal(re.sub(expression.text, python, text.text, count=_flags(flags)))


_MIRRORS: dict[str, Callable[..., OxTerm]] = {
    "SUBSTR": _substr,
    "CONCAT": _concat,
    "LCASE": _lcase,
    "REGEX": _regex,
    "REPLACE": _replace,
}
"""SHACL-SPARQL functions run in Python, each written after rdflib's
``rdflib.plugins.sparql.operators`` (``tests/test_screen.py`` checks them against it), so
they answer as on the exact path: the regex ones (Python's dialect, not Rust's), and those
whose rdflib quirks Oxigraph does not share (a Python slice for SUBSTR)."""


def _pattern(text: OxTerm, pattern: OxTerm) -> OxTerm:
    """sh:pattern as pySHACL runs it: ``re`` match, else search, on the value's string."""
    compiled = re.compile(_lexical(pattern))
    value = _lexical(text)
    return _TRUE if compiled.match(value) or compiled.search(value) else _FALSE


class _Functions:
    """The custom SPARQL functions of one screening. rdflib's SPARQL errors are errors here
    too; any other exception (the exact path would crash on it) is kept in ``failure``, and
    the screen then refuses to decide."""

    def __init__(self) -> None:
        self.failure: str | None = None
        functions = {**_MIRRORS, "pattern": _pattern}
        self.table: dict[ox.NamedNode, _Function] = {
            ox.NamedNode(_FUNCTION + name): self._guarded(name, function)
            for name, function in functions.items()
        }

    def _guarded(self, name: str, function: Callable[..., OxTerm]) -> _Function:
        def call(*arguments: OxTerm) -> OxTerm | None:
            try:
                return function(*arguments)
            except _SparqlError:
                return None
            except Exception as error:  # rdflib would raise it out of the query
                self.failure = f"{name}: {error!r}"
                return None

        return call
