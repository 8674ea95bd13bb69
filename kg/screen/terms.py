"""How the screen stores rdflib terms in Oxigraph without losing what pySHACL sees.

Oxigraph keeps numbers as values ("0.50" becomes 0.5, xsd:nonNegativeInteger becomes
xsd:integer), so each typed literal is stored under a screen datatype that keeps its lexical
form and datatype and says whether pySHACL finds it well-typed; a query decodes it back to a
value where it computes with it. Also here: the SPARQL text pieces every query is built of.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from kg.screen.errors import ScreenError

_SCREEN = "urn:x-kg-screen:"
_WELL = _SCREEN + "well-typed:"
"""Datatype prefix of a literal pySHACL accepts for its own datatype (then the original IRI)."""
_ILL = _SCREEN + "ill-typed:"
_FOCUS = _SCREEN + "focus"
"""The named graph that holds ``<key> <_IN> ?node``: the focus nodes of each shape."""
_IN = _SCREEN + "in"

_PYSHACL_VALUE_TYPES: dict[URIRef, type | tuple[type, ...]] = {
    XSD.string: (str, bytes),
    XSD.integer: int,
    XSD.float: float,
    XSD.decimal: Decimal,
    XSD.boolean: bool,
    XSD.date: date,
    XSD.time: time,
    XSD.dateTime: datetime,
}
"""The Python value pySHACL's sh:datatype expects for these datatypes (others: any value)."""

_INTEGERS = frozenset(
    XSD[name]
    for name in (
        "integer", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger",
        "negativeInteger", "long", "int", "short", "byte", "unsignedLong", "unsignedInt",
        "unsignedShort", "unsignedByte",
    )
)  # fmt: skip
_NUMBERS = _INTEGERS | {XSD.decimal}
_AGREED: dict[URIRef, re.Pattern[str]] = {
    **{datatype: re.compile("[+-]?[0-9]{1,17}") for datatype in _INTEGERS},
    XSD.decimal: re.compile(r"(?=.{1,18}\Z)[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"),
    XSD.boolean: re.compile("true|false|1|0"),
    XSD.gYear: re.compile("-?[0-9]{4}(?:Z|[+-][0-9]{2}:[0-9]{2})?"),
    XSD.date: re.compile("-?[0-9]{4}-[0-9]{2}-[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})?"),
}
"""Typed literals whose values rdflib and Oxigraph read alike (lexical forms they both parse,
numbers within Oxigraph's 18 digits); plain strings agree too. Not xsd:anyURI: rdflib finds
``"…"^^xsd:anyURI != 2`` true, Oxigraph an error."""


def _well_typed(literal: Literal) -> bool:
    """Whether pySHACL's sh:datatype accepts ``literal`` for its own datatype: not ill-typed,
    and a Python value of the expected type."""
    if literal.ill_typed is True:
        return False
    expected = _PYSHACL_VALUE_TYPES.get(literal.datatype)  # type: ignore[arg-type]
    return expected is None or isinstance(literal.value, expected)


def _agreed(literal: Literal, well_typed: bool) -> bool:
    pattern = _AGREED.get(literal.datatype)  # type: ignore[arg-type]
    return well_typed and pattern is not None and pattern.fullmatch(literal) is not None


OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


_UNSAFE_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_BLANK_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_LANGUAGE = re.compile("[A-Za-z]+(?:-[A-Za-z0-9]+)*")


class _Encoder:
    """rdflib terms as N-Triples for Oxigraph, keeping what it would normalise away (text,
    not pyoxigraph terms: Oxigraph parses it faster than Python builds the terms)."""

    def __init__(self) -> None:
        self.disagreeing: set[str] = set()
        """Predicates of triples with a blank node or a literal the two SPARQL engines may
        read differently (see ``_AGREED``)."""
        self.typed: set[str] = set()
        """Predicates with a typed literal object: stored encoded, so decoded where read."""
        self._iris: dict[str, str] = {}

    def ntriples(self, graph: Iterable[tuple[Node, Node, Node]]) -> str:
        iris, iri, term = self._iris, self._iri, self.term
        lines = []
        for s, p, o in graph:  # the hot loop: IRIs seen before are looked up inline
            if type(p) is not URIRef:
                self.refuse(p)
            # str keys: a URIRef key would compare with Python code (and never equal a str)
            subject = (iris.get(str(s)) or iri(str(s))) if type(s) is URIRef else term(s, p)
            predicate = iris.get(str(p)) or iri(str(p))
            value = (iris.get(str(o)) or iri(str(o))) if type(o) is URIRef else term(o, p)
            lines.append(f"{subject} {predicate} {value} .\n")
        return "".join(lines)

    def refuse(self, node: Node) -> str:
        raise ScreenError(f"cannot store {node!r} in Oxigraph")

    def _iri(self, iri: str) -> str:
        key = str(iri)
        text = self._iris.get(key)
        if text is None:
            if _UNSAFE_IRI.search(key):
                raise ScreenError(f"cannot store the IRI {key!r} in Oxigraph")
            text = self._iris[key] = f"<{key}>"
        return text

    def term(self, node: Node, predicate: Node | None = None) -> str:
        """``node`` in N-Triples (and SPARQL) syntax; ``predicate``, the one of its triple,
        is noted when the two engines may disagree on ``node``."""
        if isinstance(node, URIRef):
            return self._iri(node)
        if isinstance(node, Literal):
            text, agreed = self._literal(node)
            if not agreed:
                self.disagreeing.add(str(predicate))
            if node.datatype is not None:
                self.typed.add(str(predicate))
            return text
        if isinstance(node, BNode) and _BLANK_LABEL.fullmatch(node):
            self.disagreeing.add(str(predicate))  # rdflib's STR() of one is its label
            return f"_:{node}"
        return self.refuse(node)

    def _literal(self, literal: Literal) -> tuple[str, bool]:
        lexical = _string(literal)
        language = literal.language
        if language:  # lower case, as rdflib compares tags
            if not _LANGUAGE.fullmatch(language):
                self.refuse(literal)
            return f"{lexical}@{language.lower()}", False
        datatype = literal.datatype
        if datatype is None:
            return lexical, True
        well = _well_typed(literal)
        stored = self._iri((_WELL if well else _ILL) + datatype)
        return f"{lexical}^^{stored}", _agreed(literal, well)


@dataclass(frozen=True)
class _Encoded:
    ntriples: str
    disagreeing: frozenset[str]
    typed: frozenset[str]


def _encode(graph: Graph) -> _Encoded:
    encoder = _Encoder()
    text = encoder.ntriples(graph)
    return _Encoded(text, frozenset(encoder.disagreeing), frozenset(encoder.typed))


# ---------------------------------------------------------------- SPARQL pieces


def _string(text: str) -> str:
    """``text`` as an N-Triples (and SPARQL) string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _decoded(var: str) -> str:
    """The value of ``var``: a stored well-typed literal back under its own datatype. Any
    other term is itself: STRAFTER finds no prefix, IRI("") is an error, COALESCE moves on."""
    original = f"IRI(STRAFTER(STR(DATATYPE({var})), {_string(_WELL)}))"
    return f"COALESCE(STRDT(STR({var}), {original}), {var})"


def _trusted_number(var: str) -> str:
    """``var`` is an integer or decimal pySHACL and Oxigraph compare alike (18 characters fit
    Oxigraph's i64 integers and 18-digit decimals)."""
    return (
        f"(STRSTARTS(STR(DATATYPE({var})), {_string(_WELL)}) && STRLEN(STR({var})) <= 18"
        f" && DATATYPE({_decoded(var)}) IN (<{XSD.integer}>, <{XSD.decimal}>))"
    )


def _focus(key: str, var: str = "?this") -> str:
    """The nodes stored under ``key`` (an IRI, or a variable bound to one)."""
    node = key if key.startswith("?") else f"<{key}>"
    return f"GRAPH <{_FOCUS}> {{ {node} <{_IN}> {var} }}"
