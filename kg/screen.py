"""Stage 3, fast path — a sound screen in front of pySHACL.

pySHACL checks one focus node at a time in Python (~0.65 s for a 100-claim article), and
nearly every article conforms. So ``kg.validate.validate_graph`` first asks this module a
cheaper question: which (shape, focus node) pairs *might* violate? The shapes are compiled
once per process into a few dozen SPARQL queries, each checking one kind of constraint for
every shape and every focus node at once, run on an in-memory Oxigraph store holding the
article, its context and the ontology (~45 ms an article). An empty answer means the graph
conforms; otherwise pySHACL runs, and it alone writes violation reports.

The screen may flag too much (a needless pySHACL run) but never too little. How:

- Only the SHACL terms in ``_SUPPORTED`` are compiled; any other term (sh:closed, sh:not, …)
  raises ``UnsupportedShapes`` naming the shape and the term, and validation falls back to
  pySHACL, so a new kind of shape can never silently weaken validation.
- Terms are stored as rdflib holds them. Oxigraph keeps numbers as values ("0.50" becomes
  0.5, xsd:nonNegativeInteger becomes xsd:integer), so each typed literal is stored under a
  screen datatype that keeps its lexical form and datatype and says whether pySHACL finds
  it well-typed; a query decodes it back to a value where it computes with it.
- Violation conditions count an evaluation error as a violation (``!COALESCE(ok, false)``),
  and an order comparison is trusted only between integers and decimals short enough for
  Oxigraph's fixed precision: anything else is flagged.
- sh:pattern runs Python's ``re`` as pySHACL does (a custom SPARQL function); so do the
  regex and SUBSTR functions of SHACL-SPARQL queries, written after rdflib's, so regex
  dialects and rdflib's quirks are those of the exact path. What stays Oxigraph's (``=``,
  ``!=``, ``+``, ``-``, the logic operators, STRSTARTS…) is compared with rdflib in
  ``tests/test_screen.py`` on the literal kinds in ``_AGREED``. When a predicate such a query
  reads has a value of another kind, every focus node of that constraint is a suspect.
- Targets and constraints are evaluated over the whole data, context included, so the screen
  finds whatever the per-article pySHACL run (which skips some context checks) finds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.algebra import traverse
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, Variable

from kg import validate
from kg.namespaces import DEFAULT_BASE

# ---------------------------------------------------------------- errors


class ScreenError(Exception):
    """The screen cannot answer; validate with pySHACL instead."""


class UnsupportedShapes(ScreenError):
    """The shapes use a SHACL feature the compiler does not handle."""


# ---------------------------------------------------------------- the stored encoding

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
_Function = Callable[..., ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]


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

    def ntriples(self, graph: Graph) -> str:
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


@cache
def _ontology(base: str) -> _Encoded:
    """Encoded once per process: every article is checked against the same ontology."""
    return _encode(validate._parsed(("claimkg.ttl", "units.ttl"), base))


_CONTEXTS: dict[frozenset[tuple[Node, Node, Node]], _Encoded] = {}


def _context(context: Graph | None) -> _Encoded:
    """The context encoded once while it stays the same (keyed on its triples, not its id:
    a context changed in place must not be served from the cache)."""
    if context is None:
        return _Encoded("", frozenset(), frozenset())
    key = frozenset(context)
    encoded = _CONTEXTS.get(key)
    if encoded is None:
        encoded = _encode(context)
        _CONTEXTS.clear()
        _CONTEXTS[key] = encoded
    return encoded


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


# ---------------------------------------------------------------- functions run in Python

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


# ---------------------------------------------------------------- SHACL-SPARQL rewriting

_TOKEN = re.compile(
    r"(?P<space>\s+|\#[^\n]*)"
    r'|(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|' + r"'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"|' + r"'(?:[^'\\\n\r]|\\.)*')"
    r"|(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)"
    r"|(?P<var>[?$]\w+)"
    r"|(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)"
    r"|(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<pname>(?:[A-Za-z][\w-]*(?:\.[\w-]+)*)?:(?:\w[\w-]*(?:\.[\w-]+)*)?)"
    r"|(?P<word>[A-Za-z_]\w*)"
    r"|(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].,;|/^*+?!=<>-])",
)

_SAME_IN_OXIGRAPH = frozenset(("STRSTARTS", "STRENDS", "CONTAINS"))
"""Functions whose Oxigraph and rdflib definitions agree (the same string-compatibility
rules; ``tests/test_screen.py`` compares them), run natively."""
_FUNCTIONS = frozenset((*_MIRRORS, *_SAME_IN_OXIGRAPH, "STR", "BOUND"))
_OPERATORS = frozenset(("!", "=", "!=", "&&", "||", "+", "-", ","))
_PATH_PUNCTUATION = frozenset(".;,/|^*+?()[]!")
_PREBOUND = frozenset(("currentShape", "shapesGraph", "PATH"))


@dataclass(frozen=True)
class _Select:
    """A SHACL-SPARQL select's WHERE clause, rewritten for the screen's store."""

    where: str
    computes: bool  # it has FILTER or BIND expressions, which read values
    predicates: frozenset[str] | None = None  # all it can match (None: any, e.g. ?p)
    sources: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """Per variable that may hold a literal: the predicates it is read through (None: any)."""


_MARK = "\x00"
"""Around a variable an expression reads: decoded (or not) when the data is known."""
_MARKED = re.compile(f"{_MARK}(\\w+){_MARK}")


def _render(
    sparql: str, sources: dict[str, frozenset[str] | None], typed: frozenset[str] | None
) -> str:
    """``sparql`` with each marked variable decoded when a predicate it may be read
    through (``sources``) has typed literal objects in the data (``typed``; None: all)."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        read_through = sources.get(name, frozenset())
        if typed is None or read_through is None or read_through & typed:
            return _decoded("?" + name)
        return "?" + name

    return _MARKED.sub(variable, sparql)


class _Rewriter:
    """Rewrite one select: prefixed names expanded, variables in expressions marked for
    decoding (``STR(?x)`` keeps the stored lexical form), anything outside the subset
    refused."""

    def __init__(self, text: str, namespaces: dict[str, str], owner: str) -> None:
        self.owner = owner
        self.tokens = list(self._tokenize(text))
        self.namespaces = dict(namespaces)
        self.computed = {
            self._name(self.tokens[i + 1][1])
            for i, (_, text) in enumerate(self.tokens[:-1])
            if text.upper() == "AS" and self.tokens[i + 1][0] == "var"
        }
        self.at = 0
        self.computes = False

    def fail(self, why: str) -> UnsupportedShapes:
        return UnsupportedShapes(f"{self.owner}: SPARQL the screen does not handle: {why}")

    def _tokenize(self, text: str) -> Iterator[tuple[str, str]]:
        at = 0
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None:
                raise self.fail(f"cannot read {text[at : at + 20]!r}")
            at = match.end()
            if match.lastgroup != "space":
                yield str(match.lastgroup), match.group()

    def _name(self, var: str) -> str:
        name = var[1:]
        if name in _PREBOUND:
            raise self.fail(f"pre-bound variable {var}")
        return name

    def peek(self, ahead: int = 0) -> str:
        at = self.at + ahead
        return self.tokens[at][1] if at < len(self.tokens) else ""

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise self.fail("unexpected end")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str) -> str:
        found = self.next()[1]
        if found.upper() != text:
            raise self.fail(f"expected {text}, found {found}")
        return text

    def iri(self, kind: str, text: str) -> str:
        if kind == "iri":
            return text
        prefix, _, local = text.partition(":")
        if prefix not in self.namespaces:
            raise self.fail(f"undeclared prefix {prefix}:")
        try:
            return str(ox.NamedNode(self.namespaces[prefix] + local))
        except ValueError as error:
            raise self.fail(f"{text}: {error}") from error

    def select(self) -> _Select:
        while self.peek().upper() == "PREFIX":
            self.next()
            kind, prefix = self.next()
            kind_iri, iri = self.next()
            if kind != "pname" or not prefix.endswith(":") or kind_iri != "iri":
                raise self.fail("malformed PREFIX")
            self.namespaces[prefix[:-1]] = iri[1:-1]
        self.expect("SELECT")
        projected: set[str] = set()
        while self.peek() != "{" and self.peek().upper() != "WHERE":
            kind, text = self.next()
            if kind == "var":
                projected.add(self._name(text))
            elif text == "(":  # a computed projection: it binds, never removes a row
                self._skip_parentheses()
            elif text.upper() not in ("DISTINCT", "REDUCED", "*"):
                raise self.fail(f"{text} in the SELECT clause")
            else:
                projected.add(text)
        if not projected & {"this", "*"}:
            raise self.fail("the select does not project $this")
        if self.peek().upper() == "WHERE":
            self.next()
        where = self.group()
        if self.at != len(self.tokens):
            raise self.fail(f"{self.peek()} after the WHERE clause")
        return _Select(" ".join(where), self.computes)

    def _skip_parentheses(self) -> None:
        depth = 1
        while depth:
            text = self.next()[1]
            depth += {"(": 1, ")": -1}.get(text, 0)

    def group(self) -> list[str]:
        out = [self.expect("{")]
        while True:
            kind, text = self.next()
            word = text.upper() if kind == "word" else ""
            if text == "}":
                return [*out, "}"]
            if text == "{":
                self.at -= 1
                out += self.group()
            elif word in ("OPTIONAL", "UNION"):
                out.append(word)
            elif word == "FILTER":
                self.computes = True
                out += ["FILTER", *self.constraint()]
            elif word == "BIND":
                self.computes = True
                out += ["BIND", *self.parentheses()]
            elif kind == "var":
                out.append("?" + self._name(text))
            elif kind in ("iri", "pname"):
                out.append(self.iri(kind, text))
            elif text == "a" or text in _PATH_PUNCTUATION:
                out.append(text)
            elif kind == "lang":
                out.append(text.lower())  # tags are stored in lower case (see _Encoder)
            elif kind == "string" and self.peek() != "^^":
                out.append(text)  # a plain string: stored as it is
            else:
                raise self.fail(f"{text} in a graph pattern")

    def constraint(self) -> list[str]:
        if self.peek() == "(":
            return self.parentheses()
        word = self.peek().upper()
        if word == "NOT" and self.peek(1).upper() == "EXISTS":
            self.at += 2
            return ["NOT", "EXISTS", *self.group()]
        if word == "EXISTS":
            self.at += 1
            return ["EXISTS", *self.group()]
        if word in _FUNCTIONS:
            self.at += 1
            return self.call(word)
        raise self.fail(f"FILTER {self.peek()}")

    def parentheses(self) -> list[str]:
        out = [self.expect("(")]
        while True:
            kind, text = self.next()
            word = text.upper() if kind == "word" else ""
            if text == ")":
                return [*out, ")"]
            if text == "(":
                self.at -= 1
                out += self.parentheses()
            elif word in _FUNCTIONS:
                out += self.call(word)
            elif word == "AS":
                kind, var = self.next()
                if kind != "var":
                    raise self.fail(f"AS {var}")
                out += ["AS", "?" + self._name(var)]
            elif word == "NOT" and self.peek().upper() == "EXISTS":
                self.at += 1
                out += ["NOT", "EXISTS", *self.group()]
            elif word == "EXISTS":
                out += ["EXISTS", *self.group()]
            elif word in ("TRUE", "FALSE"):
                out.append(word.lower())
            elif kind == "var":
                name = self._name(text)
                out.append("?" + name if name in self.computed else f"{_MARK}{name}{_MARK}")
            elif kind in ("iri", "pname"):
                if self.peek() == "(":
                    raise self.fail(f"function {text}")
                out.append(self.iri(kind, text))
            elif kind == "string" or (kind == "number" and "e" not in text.lower()):
                out.append(text)  # a plain string, an integer or a decimal: read alike
            elif text in _OPERATORS:
                out.append(text)
            else:
                raise self.fail(f"{text} in an expression")

    def call(self, function: str) -> list[str]:
        """``STR(?x)`` and ``BOUND(?x)`` read the stored term; the other functions run
        rdflib's code on values."""
        if function in ("STR", "BOUND"):
            argument = self.tokens[self.at + 1 : self.at + 2]
            if self.peek() != "(" or argument[:1] != [("var", self.peek(1))] or self.peek(2) != ")":
                raise self.fail(f"{function} of anything but a variable")
            name = self._name(self.peek(1))
            if function == "STR" and name in self.computed:
                raise self.fail(f"STR of the computed ?{name}")  # engines print numbers apart
            self.at += 3
            return [f"{function}(?{name})"]
        _, *inner, closing = self.parentheses()
        if function in _SAME_IN_OXIGRAPH:
            return [f"{function}(", *inner, closing]
        mirror = [f"<{_FUNCTION}{function}>(", *inner, closing]
        if function != "SUBSTR":
            return mirror
        # Oxigraph's SUBSTR is rdflib's Python slice while the start is an integer from 1
        # and the length a non-negative integer: run it there, and the mirror elsewhere
        arguments = _split(inner)
        checks = [f"sameTerm(DATATYPE({a}), <{XSD.integer}>) && {a} >= {low}"
                  for a, low in zip(arguments[1:], ("1", "0"), strict=False)]  # fmt: skip
        native = ["SUBSTR(", *inner, closing]
        return [f"IF(COALESCE({' && '.join(checks)}, false),", *native, ",", *mirror, ")"]


def _split(tokens: list[str]) -> list[str]:
    """The top-level, comma-separated arguments of a call, each as SPARQL text."""
    arguments: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        literal = token[:1] in "\"'" or (token[:1] == "<" and token[-1:] == ">")
        depth += 0 if literal else token.count("(") - token.count(")")
        if token == "," and depth == 0:
            arguments.append([])
        else:
            arguments[-1].append(token)
    return [" ".join(argument) for argument in arguments]


def _rewrite(select: str, namespaces: dict[str, str], owner: str) -> _Select:
    rewritten = _Rewriter(select, namespaces, owner).select()
    predicates, sources = _patterns(select, namespaces, owner)
    return _Select(rewritten.where, rewritten.computes, predicates, sources)


def _all_named(path: object) -> bool:
    """Whether a path names every predicate it can match (it may still match nothing)."""
    if isinstance(path, URIRef):
        return True
    if isinstance(path, AlternativePath | SequencePath):
        return all(_all_named(part) for part in path.args)
    if isinstance(path, InvPath):
        return _all_named(path.arg)
    if isinstance(path, MulPath):
        return _all_named(path.path)
    return False


def _patterns(
    select: str, namespaces: dict[str, str], owner: str
) -> tuple[frozenset[str] | None, tuple[tuple[str, frozenset[str] | None], ...]]:
    """What a select's triple patterns (and paths) can match, as rdflib parses it: all the
    predicates (None: any, for a variable predicate or a negated property set), and for
    each variable that may hold a literal, the predicates it may be read through (None:
    any). A path's ends both count (an inverse path reads its subject; a path that may be
    empty makes them equal)."""
    try:
        algebra = prepareQuery(select, initNs=namespaces).algebra
    except Exception as error:
        raise UnsupportedShapes(f"{owner}: rdflib cannot parse the select: {error}") from error
    found: set[str] = set()
    sources: dict[str, set[str] | None] = {}
    confined = True

    def walk(path: object, into: set[str]) -> bool:
        """Collect the predicates of ``path``; False when it may match predicates unnamed,
        or nothing at all (a ``*`` or ``?`` path: its ends are then any one node)."""
        if isinstance(path, URIRef):
            into.add(str(path))
            return True
        if isinstance(path, AlternativePath | SequencePath):
            return all([walk(part, into) for part in path.args])
        if isinstance(path, InvPath):
            return walk(path.arg, into)
        if isinstance(path, MulPath):
            return walk(path.path, into) and path.mod == "+"
        return False  # a variable, a negated property set

    def note(end: object, predicates: set[str] | None) -> None:
        if not isinstance(end, Variable):
            return
        known = sources.setdefault(str(end), set())
        if predicates is None or known is None:
            sources[str(end)] = None
        else:
            known.update(predicates)

    def visit(node: object) -> None:
        nonlocal confined
        if not (isinstance(node, CompValue) and "triples" in node):
            return
        for subject, path, value in node["triples"]:
            predicates: set[str] = set()
            named = walk(path, predicates)
            found.update(predicates)
            confined = confined and (named or _all_named(path))
            note(value, predicates if named else None)
            if not isinstance(path, URIRef | Variable):  # a path: its subject may be read too
                note(subject, predicates if named else None)

    traverse(algebra, visitPost=visit)
    bound = tuple(
        (name, None if known is None else frozenset(known))
        for name, known in sorted(sources.items())
    )
    return (frozenset(found) if confined else None), bound


# ---------------------------------------------------------------- the compiled program


@dataclass(frozen=True)
class _Leaf:
    """The focus nodes (under ``key``) that break one constraint, as some query finds them."""

    id: int
    key: str


@dataclass(frozen=True)
class _Combination:
    """sh:or, sh:xone or a qualified count: member shapes checked on the value nodes (the
    focus nodes of each member's tests), combined per value node in Python."""

    rule: str  # "or", "xone" or "qualified"
    pairs: str  # SELECT ?this ?value: each focus node and its value nodes
    members: tuple[tuple[_Test, ...], ...]
    low: int = 0
    high: int | None = None


_Test = _Leaf | _Combination


@dataclass(frozen=True)
class _Query:
    """A SELECT of ``?this`` for one leaf, or of ``?check ?this`` for many (a batch)."""

    sparql: str
    leaf: _Leaf | None = None
    reads: frozenset[str] | None = frozenset()
    """The predicates whose objects a SHACL-SPARQL query computes with (None: any)."""
    sources: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """For the variables marked in ``sparql``: see ``_Select.sources``."""

    def text(self, typed: frozenset[str] | None) -> str:
        """The query, for data whose typed literals are objects of ``typed`` (None: any)."""
        return _render(self.sparql, dict(self.sources), typed) if self.sources else self.sparql


@dataclass(frozen=True)
class _Check:
    shape: str  # as Violation.shape names it
    test: _Test


@dataclass(frozen=True)
class _Program:
    focus: str  # the SPARQL Update that stores every shape's focus nodes
    queries: tuple[_Query, ...]
    checks: tuple[_Check, ...]


_TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.target)
_NODE_KINDS = {
    SH.IRI: "isIRI(?v)",
    SH.BlankNode: "isBlank(?v)",
    SH.Literal: "isLiteral(?v)",
    SH.BlankNodeOrIRI: "(isBlank(?v) || isIRI(?v))",
    SH.BlankNodeOrLiteral: "(isBlank(?v) || isLiteral(?v))",
    SH.IRIOrLiteral: "(isIRI(?v) || isLiteral(?v))",
}
_RANGES = {
    SH.minInclusive: ">=",
    SH.minExclusive: ">",
    SH.maxInclusive: "<=",
    SH.maxExclusive: "<",
}
_PAIRS = {SH.lessThan: "<", SH.lessThanOrEquals: "<="}
_BATCHES = {
    "minCount": ("?p", "FILTER NOT EXISTS { ?this ?p ?v }"),
    "maxCount": ("?p", "?this ?p ?v , ?w . FILTER (!sameTerm(?v, ?w))"),
    "class": ("?p ?class", f"?this ?p ?v . FILTER NOT EXISTS {{ {_focus('?class', '?v')} }}"),
    "datatype": (
        "?p ?datatype ?plain",
        "?this ?p ?v . FILTER (!COALESCE(sameTerm(DATATYPE(?v), ?datatype)"
        f" || (?plain && sameTerm(DATATYPE(?v), <{XSD.string}>)), false))",
    ),
    **{
        operator: (
            "?p ?bound",
            f"?this ?p ?v . FILTER (!COALESCE({_trusted_number('?v')}"
            f" && {_decoded('?v')} {operator} ?bound, false))",
        )
        for operator in _RANGES.values()
    },
    **{
        "pair" + operator: (
            "?p ?other",
            f"?this ?p ?v . ?this ?other ?o . FILTER (!COALESCE({_trusted_number('?v')}"
            f" && {_trusted_number('?o')} && {_decoded('?v')} {operator} {_decoded('?o')}, false))",
        )
        for operator in _PAIRS.values()
    },
}
"""Constraints checked for every shape at once: one query per kind, each constraint a row
(its leaf id, the focus key, the predicate, its parameters) of a VALUES table."""
_IGNORED = frozenset((RDF.type, SH.message, SH.path, *_TARGETS))
_SUPPORTED = frozenset(
    {
        *_TARGETS, *_NODE_KINDS, *_RANGES, *_PAIRS,
        SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.SPARQLTarget,
        SH.select, SH.prefixes, SH.declare, SH.prefix, SH.namespace, SH.message,
        SH.property, SH.path, SH.alternativePath, SH.minCount, SH.maxCount, SH["class"],
        SH.datatype, SH.nodeKind, SH.pattern, SH.minLength, SH["in"], SH.hasValue,
        SH["or"], SH.xone, SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount,
        SH.sparql,
    }
)  # fmt: skip
"""Every SHACL term the compiler handles; the shapes may use no other."""


class _Compiler:
    """Reads the shapes graph; writes the focus update and the checks."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.updates: list[str] = []
        self.classes: set[str] = set()
        self.queries: list[_Query] = []
        self.rows: dict[str, list[str]] = {kind: [] for kind in _BATCHES}
        self.value_keys: dict[tuple[str, str], str] = {}
        self.keys = 0
        self.leaves = 0
        self.encoder = _Encoder()

    def program(self) -> _Program:
        self._check_vocabulary()
        checks: list[_Check] = []
        roots = {s for target in _TARGETS for s in self.shapes.subjects(target, None)}
        for shape in sorted(roots, key=str):
            checks += self._shape(shape, self._targets(shape), nested=False)
        if self.classes:  # every instance of each class sh:class or sh:targetClass names
            self.updates.insert(
                0,
                f"INSERT {{ GRAPH <{_FOCUS}> {{ ?class <{_IN}> ?node }} }} "
                f"WHERE {{ VALUES ?class {{ {' '.join(sorted(self.classes))} }} "
                f"?type <{RDFS.subClassOf}>* ?class . ?node a ?type }}",
            )
        for kind, rows in self.rows.items():
            if rows:
                parameters, body = _BATCHES[kind]
                table = f"VALUES (?check ?key {parameters}) {{ {' '.join(rows)} }}"
                sparql = f"SELECT ?check ?this WHERE {{ {table} {_focus('?key')} {body} }}"
                self.queries.append(_Query(sparql))
        return _Program(" ;\n".join(self.updates), tuple(self.queries), tuple(checks))

    # -- vocabulary

    def _check_vocabulary(self) -> None:
        for s, p, o in self.shapes:
            for term in (p, o):
                if isinstance(term, URIRef) and term.startswith(str(SH)) and term not in _SUPPORTED:
                    raise UnsupportedShapes(f"{self._owner(s)}: {_short(term)} is not supported")
        shapes = {s for s, p in self.shapes.subject_predicates(None) if p in _SUPPORTED}
        for shape in shapes:
            for kind in self.shapes.objects(shape, RDF.type):
                if kind in (RDFS.Class, OWL.Class):
                    raise UnsupportedShapes(f"{self._owner(shape)}: implicit class targets")

    def _owner(self, node: Node) -> str:
        """The named shape a (blank) node belongs to."""
        seen, frontier = {node}, [node]
        while frontier:
            current = frontier.pop()
            if isinstance(current, URIRef):
                return _short(current)
            for parent in self.shapes.subjects(None, current):
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return _short(node)

    def fail(self, shape: Node, why: str) -> UnsupportedShapes:
        return UnsupportedShapes(f"{self._owner(shape)}: {why}")

    # -- targets and keys

    def _key(self) -> str:
        self.keys += 1
        return f"{_SCREEN}key:{self.keys}"

    def _class(self, shape: Node, node: Node | None) -> str:
        """The key of the instances of a class (rdf:type/rdfs:subClassOf*), found once."""
        iri = self._iri(shape, node)
        self.classes.add(iri)
        return iri[1:-1]

    def _targets(self, shape: Node) -> str:
        """The key under which the focus nodes of ``shape`` are stored."""
        targets = [(t, v) for t in _TARGETS for v in self.shapes.objects(shape, t)]
        if len(targets) == 1 and targets[0][0] == SH.targetClass:
            return self._class(shape, targets[0][1])
        key = self._key()
        for target, value in targets:
            if target == SH.targetClass:
                where = _focus(self._class(shape, value))
            elif target == SH.targetSubjectsOf:
                where = f"?this {self._iri(shape, value)} ?object"
            elif (value, RDF.type, SH.SPARQLTarget) in self.shapes:
                select = self._select(value, shape)
                if select.computes:
                    raise self.fail(shape, "a SPARQL target with FILTER or BIND")
                where = f"{{ SELECT DISTINCT ?this WHERE {select.where} }}"
            else:
                raise self.fail(shape, "sh:target other than a sh:SPARQLTarget")
            self.updates.append(
                f"INSERT {{ GRAPH <{_FOCUS}> {{ <{key}> <{_IN}> ?this }} }} WHERE {{ {where} }}"
            )
        return key

    def _select(self, node: Node, shape: Node) -> _Select:
        text = self.shapes.value(node, SH.select)
        if not isinstance(text, Literal):
            raise self.fail(shape, "a SPARQL constraint or target without one sh:select")
        namespaces = {
            str(self.shapes.value(d, SH.prefix)): str(self.shapes.value(d, SH.namespace))
            for prefixes in self.shapes.objects(node, SH.prefixes)
            for d in self.shapes.objects(prefixes, SH.declare)
        }
        return _rewrite(str(text), namespaces, self._owner(node))

    def _iri(self, shape: Node, node: Node | None) -> str:
        if not isinstance(node, URIRef):
            raise self.fail(shape, f"{node} where an IRI was expected")
        return str(ox.NamedNode(node))

    def _term(self, node: Node) -> str:
        if isinstance(node, BNode):  # in a query, a blank node would match anything
            raise UnsupportedShapes(f"a blank node {node} as a value to compare with")
        return self.encoder.term(node)

    # -- shapes

    def _path(self, shape: Node) -> list[str]:
        """The predicates of the shape's path (several for sh:alternativePath; none for a
        node shape)."""
        path = self.shapes.value(shape, SH.path)
        if path is None or isinstance(path, URIRef):
            return [] if path is None else [self._iri(shape, path)]
        alternatives = self.shapes.value(path, SH.alternativePath)
        if alternatives is None or set(self.shapes.predicates(path)) != {SH.alternativePath}:
            raise self.fail(shape, "a path other than a predicate or sh:alternativePath")
        return [self._iri(shape, p) for p in Collection(self.shapes, alternatives)]

    def _shape(self, shape: Node, key: str, nested: bool) -> list[_Check]:
        """The checks of ``shape`` on the focus nodes under ``key``. A nested (member) shape
        is negated by its caller, so its checks must be exact, not over-approximations."""
        name = _short(shape)
        predicates = self._path(shape)
        path = "(" + "|".join(predicates) + ")" if predicates else None
        checks: list[_Check] = []
        constraints = sorted(self.shapes.predicate_objects(shape), key=lambda po: str(po))
        for predicate, value in constraints:
            if predicate in _IGNORED:
                continue
            if predicate in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
                if (shape, SH.qualifiedValueShape, None) not in self.shapes:
                    raise self.fail(shape, f"{_short(predicate)} without sh:qualifiedValueShape")
                continue  # counted with sh:qualifiedValueShape
            if predicate == SH.property:
                if path:
                    raise self.fail(shape, "sh:property on a property shape")
                checks += self._shape(value, key, nested)
                continue
            test, exact = self._constraint(shape, key, predicates, predicate, value, nested)
            if nested and not exact:
                raise self.fail(shape, f"{_short(predicate)} inside sh:or, sh:xone or a "
                                "qualified shape (the screen over-approximates it)")  # fmt: skip
            # a SPARQL constraint reports under its own name (sh:sourceConstraint)
            checks.append(_Check(_short(value) if predicate == SH.sparql else name, test))
        return checks

    def _leaf(self, key: str) -> _Leaf:
        self.leaves += 1
        return _Leaf(self.leaves, key)

    def _batched(self, kind: str, key: str, predicates: list[str], *parameters: str) -> _Leaf:
        """A constraint checked in the ``kind`` batch, one row per alternative predicate."""
        leaf = self._leaf(key)
        for predicate in predicates:
            self.rows[kind].append(f"({leaf.id} <{key}> {predicate} {' '.join(parameters)})")
        return leaf

    def _alone(self, key: str, sparql: str, select: _Select | None = None) -> _Leaf:
        """A constraint checked by its own query (a SELECT of ?this); for a SHACL-SPARQL
        one, what it reads (see ``_Run.trusts``) and how to decode it."""
        leaf = self._leaf(key)
        if select is None:
            self.queries.append(_Query(sparql, leaf))
        else:
            reads = select.predicates if select.computes else frozenset()
            self.queries.append(_Query(sparql, leaf, reads, select.sources))
        return leaf

    def _constraint(
        self, shape: Node, key: str, predicates: list[str], predicate: Node, value: Node,
        nested: bool,
    ) -> tuple[_Test, bool]:  # fmt: skip
        """One constraint: its test, and whether the test is exact."""
        focus = _focus(key)
        path = "(" + "|".join(predicates) + ")" if predicates else None
        values = f"?this {path} ?v ." if path else "BIND (?this AS ?v)"
        simple = len(predicates) == 1

        def query(body: str) -> _Leaf:
            return self._alone(key, f"SELECT DISTINCT ?this WHERE {{ {focus} {body} }}")

        def count(having: str) -> _Leaf:
            sparql = (
                f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ ?this {path} ?v }} }} "
                f"GROUP BY ?this HAVING ({having})"
            )
            return self._alone(key, sparql)

        if path is None and predicate in (SH.minCount, SH.maxCount, *_PAIRS):
            raise self.fail(shape, f"{_short(predicate)} on a node shape")
        if predicate == SH.minCount:
            n = self._count(shape, value)
            if n == 1 and simple:
                return self._batched("minCount", key, predicates), True
            if n == 1:
                return query(f"FILTER NOT EXISTS {{ ?this {path} ?v }}"), True
            return count(f"COUNT(DISTINCT ?v) < {n}"), True
        if predicate == SH.maxCount:
            n = self._count(shape, value)
            if n == 1 and simple:
                return self._batched("maxCount", key, predicates), True
            return count(f"COUNT(DISTINCT ?v) > {n}"), True
        if predicate == SH["class"]:
            instances = self._class(shape, value)
            if path:
                return self._batched("class", key, predicates, f"<{instances}>"), True
            return query(f"{values} FILTER NOT EXISTS {{ {_focus(instances, '?v')} }}"), True
        if predicate == SH.datatype:
            datatype, plain = self._datatype(shape, value)
            if path:
                return self._batched("datatype", key, predicates, datatype, plain), True
            ok = f"sameTerm(DATATYPE(?v), {datatype}) || ({plain} && isLiteral(?v) && "
            ok += f"sameTerm(DATATYPE(?v), <{XSD.string}>))"
            return query(f"{values} FILTER (!COALESCE({ok}, false))"), True
        if predicate == SH.nodeKind:
            if value not in _NODE_KINDS:
                raise self.fail(shape, f"sh:nodeKind {value}")
            return query(f"{values} FILTER (!{_NODE_KINDS[value]})"), True  # type: ignore[index]
        if predicate == SH.pattern:
            if not isinstance(value, Literal):
                raise self.fail(shape, "sh:pattern that is not a string")
            ok = f"COALESCE(<{_FUNCTION}pattern>(STR(?v), {_string(value)}), false)"
            return query(f"{values} FILTER (isBlank(?v) || !{ok})"), True
        if predicate == SH.minLength:
            n = self._count(shape, value)
            if n == 0:
                return self._leaf(key), True  # nothing is shorter than nothing
            ok = f"COALESCE(STRLEN(STR(?v)) >= {n}, false)"
            return query(f"{values} FILTER (isBlank(?v) || !{ok})"), True
        if predicate == SH["in"]:
            listed = [self._term(m) for m in Collection(self.shapes, value)]
            allowed = " || ".join(f"sameTerm(?v, {m})" for m in listed) or "false"
            return query(f"{values} FILTER (!({allowed}))"), True
        if predicate == SH.hasValue:
            if path is None:
                return query(f"FILTER (!sameTerm(?this, {self._term(value)}))"), True
            return query(f"FILTER NOT EXISTS {{ ?this {path} {self._term(value)} }}"), True
        if predicate in _RANGES:
            operator = _RANGES[predicate]  # type: ignore[index]
            bound = self._bound(shape, value)
            if path:
                return self._batched(operator, key, predicates, bound), False
            ok = f"COALESCE({_trusted_number('?v')} && {_decoded('?v')} {operator} {bound}, false)"
            return query(f"{values} FILTER (!{ok})"), False
        if predicate in _PAIRS:
            other = self._iri(shape, value)
            return self._batched("pair" + _PAIRS[predicate], key, predicates, other), False  # type: ignore[index]
        if predicate in (SH["or"], SH.xone):
            members = list(Collection(self.shapes, value))
            rule = "or" if predicate == SH["or"] else "xone"
            return self._combination(shape, key, path, rule, members), True
        if predicate == SH.qualifiedValueShape:
            if path is None:
                raise self.fail(shape, "sh:qualifiedValueShape on a node shape")
            test = self._combination(shape, key, path, "qualified", [value])
            low = self.shapes.value(shape, SH.qualifiedMinCount)
            high = self.shapes.value(shape, SH.qualifiedMaxCount)
            low_count = 0 if low is None else self._count(shape, low)
            high_count = None if high is None else self._count(shape, high)
            return _Combination(test.rule, test.pairs, test.members, low_count, high_count), True
        if predicate == SH.sparql:
            if path is not None or nested:
                raise self.fail(shape, "sh:sparql on a property shape or a nested shape")
            select = self._select(value, value)
            subquery = f"{{ SELECT ?this WHERE {select.where} }}"
            sparql = f"SELECT DISTINCT ?this WHERE {{ {focus} {subquery} }}"
            return self._alone(key, sparql, select), True
        raise self.fail(shape, f"{_short(predicate)} is not supported here")

    def _combination(
        self, shape: Node, key: str, path: str | None, rule: str, members: list[Node]
    ) -> _Combination:
        if not all(isinstance(m, BNode | URIRef) for m in members):
            raise self.fail(shape, f"sh:{rule} of something other than shapes")
        if path is None:  # node level: the value node is the focus node itself
            candidates = key
            pairs = f"SELECT ?this ?value WHERE {{ {_focus(key)} BIND (?this AS ?value) }}"
        else:
            candidates = self._values(key, path)
            pairs = (
                f"SELECT DISTINCT ?this ?value WHERE {{ {_focus(key)} "
                f"OPTIONAL {{ ?this {path} ?value }} }}"
            )
        tests = tuple(
            tuple(c.test for c in self._shape(member, candidates, nested=True))
            for member in members
        )
        return _Combination(rule, pairs, tests)

    def _values(self, key: str, path: str) -> str:
        """The key of the value nodes of ``path`` from the focus nodes under ``key``
        (stored once, however many shapes check them)."""
        if (key, path) not in self.value_keys:
            self.value_keys[key, path] = values = self._key()
            self.updates.append(
                f"INSERT {{ GRAPH <{_FOCUS}> {{ <{values}> <{_IN}> ?v }} }} "
                f"WHERE {{ {_focus(key)} ?this {path} ?v }}"
            )
        return self.value_keys[key, path]

    def _count(self, shape: Node, value: Node) -> int:
        if not isinstance(value, Literal) or type(value.value) is not int or value.value < 0:
            raise self.fail(shape, f"{value} where a non-negative integer was expected")
        return value.value

    def _datatype(self, shape: Node, value: Node) -> tuple[str, str]:
        """The stored datatype of a literal pySHACL accepts for sh:datatype ``value``, and
        whether a plain literal does too (for xsd:string)."""
        if not isinstance(value, URIRef) or value in (RDFS.Literal, RDFS.Datatype, RDF.langString):
            raise self.fail(shape, f"sh:datatype {value}")
        return f"<{_WELL}{value}>", "true" if value == XSD.string else "false"

    def _bound(self, shape: Node, value: Node) -> str:
        if not (isinstance(value, Literal) and value.datatype in _NUMBERS):
            raise self.fail(shape, f"a bound {value} that is not an integer or decimal")
        if not _agreed(value, _well_typed(value)):
            raise self.fail(shape, f"a bound {value} beyond 18 characters")
        return str(ox.Literal(value, datatype=ox.NamedNode(value.datatype)))


def _short(term: Node | None) -> str:
    return validate._short(term)


def compile_shapes(shapes: Graph) -> _Program:
    """Compile a shapes graph; raises ``UnsupportedShapes`` naming the shape and the term
    the compiler does not handle. Every query runs once here on an empty store, so a
    rewriting bug fails at compile time, not on an article."""
    compiled = _Compiler(shapes).program()
    try:
        for typed in (None, frozenset[str]()):  # every value decoded, or none
            _Run(ox.Store(), frozenset(), typed).check(compiled)
    except SyntaxError as error:
        raise UnsupportedShapes(f"a compiled query does not parse: {error}") from error
    return compiled


@cache
def _compiled(base: str) -> _Program | UnsupportedShapes:
    try:
        return compile_shapes(validate._parsed(("shapes.ttl",), base))
    except UnsupportedShapes as error:
        return error


def program(base: str = DEFAULT_BASE) -> _Program:
    """The compiled shapes for ``base``, once per process."""
    compiled = _compiled(base)
    if isinstance(compiled, UnsupportedShapes):
        raise compiled
    return compiled


# ---------------------------------------------------------------- running the screen


class _Run:
    """One screening: the loaded store and the custom functions its queries call."""

    def __init__(
        self, store: ox.Store, disagreeing: frozenset[str], typed: frozenset[str] | None
    ) -> None:
        self.store = store
        self.disagreeing = disagreeing  # see _Encoder.disagreeing
        self.typed = typed  # see _Encoder.typed (None: decode every value read)
        self.functions = _Functions()
        self.found: dict[int, set[OxTerm]] = {}
        self.pair_rows: dict[str, list[tuple[OxTerm, OxTerm | None]]] = {}

    def check(self, compiled: _Program) -> set[tuple[str, str]]:
        self.store.update(compiled.focus, custom_functions=self.functions.table)
        for query in compiled.queries:
            self.run(query)
        suspected = {
            (check.shape, node.value)
            for check in compiled.checks
            for node in self.violators(check.test)
        }
        if self.functions.failure is not None:
            raise ScreenError(f"a SPARQL function failed: {self.functions.failure}")
        return suspected

    def select(self, sparql: str) -> Iterator[ox.QuerySolution]:
        solutions = self.store.query(sparql, custom_functions=self.functions.table)
        assert isinstance(solutions, ox.QuerySolutions)
        return iter(solutions)

    def run(self, query: _Query) -> None:
        leaf = query.leaf
        if leaf is None:  # a batch: each row names its leaf
            for row in self.select(query.sparql):
                self.found.setdefault(int(row["check"].value), set()).add(row["this"])
            return
        sparql = query.text(self.typed)
        if not self.trusts(query.reads):  # the engines may differ: suspect every focus node
            sparql = f"SELECT ?this WHERE {{ {_focus(leaf.key)} }}"
        self.found.setdefault(leaf.id, set()).update(row["this"] for row in self.select(sparql))

    def pairs(self, sparql: str) -> list[tuple[OxTerm, OxTerm | None]]:
        """Focus nodes and their values (once per query: shapes may share a path)."""
        if sparql not in self.pair_rows:
            rows = self.select(sparql)
            self.pair_rows[sparql] = [(row["this"], row["value"]) for row in rows]
        return self.pair_rows[sparql]

    def trusts(self, reads: frozenset[str] | None) -> bool:
        """Whether Oxigraph computes as rdflib would with the objects of ``reads``."""
        return not self.disagreeing if reads is None else not reads & self.disagreeing

    def violators(self, test: _Test) -> set[OxTerm]:
        """The focus nodes (under the test's key) that may violate."""
        if isinstance(test, _Leaf):
            return self.found.get(test.id, set())
        members = [set().union(*map(self.violators, member)) for member in test.members]
        flagged: set[OxTerm] = set()
        conforming: dict[OxTerm, int] = {}
        for this, value in self.pairs(test.pairs):
            conforming.setdefault(this, 0)
            if value is None:
                continue
            passed = sum(value not in violating for violating in members)
            conforming[this] += passed
            if (test.rule == "or" and passed == 0) or (test.rule == "xone" and passed != 1):
                flagged.add(this)
        if test.rule == "qualified":
            high = test.high
            flagged = {
                this
                for this, n in conforming.items()
                if n < test.low or (high is not None and n > high)
            }
        return flagged


def _load(graph: Graph, base: str, context: Graph | None) -> _Run:
    """The data pySHACL sees (graph, context, ontology) in one store's default graph."""
    encoder = _Encoder()
    article = encoder.ntriples(graph)
    parts = [_context(context), _ontology(base)]
    store = ox.Store()
    try:
        text = article + "".join(part.ntriples for part in parts)
        store.load(text, format=ox.RdfFormat.N_TRIPLES, lenient=True)
    except (SyntaxError, ValueError) as error:  # UnicodeError is a ValueError
        raise ScreenError(f"cannot store the graph in Oxigraph: {error}") from error
    disagreeing = encoder.disagreeing.union(*(part.disagreeing for part in parts))
    typed = encoder.typed.union(*(part.typed for part in parts))
    return _Run(store, frozenset(disagreeing), frozenset(typed))


def suspects(
    graph: Graph,
    base: str = DEFAULT_BASE,
    context: Graph | None = None,
    shapes: Graph | None = None,
) -> set[tuple[str, str]]:
    """(shape, focus node) pairs that may violate the shapes (``ontology/shapes.ttl``, or
    ``shapes``), named as ``Violation`` names them; every pair pySHACL would report is among
    them. Raises ``ScreenError`` when the screen cannot decide (unsupported shapes, data
    Oxigraph cannot hold, a SPARQL function that would fail on the exact path too)."""
    compiled = program(base) if shapes is None else compile_shapes(shapes)
    return _load(graph, base, context).check(compiled)
