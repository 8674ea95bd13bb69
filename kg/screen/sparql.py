"""SHACL-SPARQL selects rewritten for the screen's store, or refused.

A select is accepted only when one run over the whole graph finds what pySHACL's runs, one
per focus node with ``$this`` pre-bound, find (``kg.prebinding``), and only in the subset
whose evaluation Oxigraph and rdflib agree on: prefixed names expanded, variables read by
expressions marked so that they are decoded (see ``kg.screen.terms``), the regex and string
functions routed to ``kg.screen.functions``, anything else refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.term import Variable

from kg.screen.errors import UnsupportedShapes
from kg.screen.functions import _FUNCTION, _MIRRORS
from kg.screen.terms import _decoded

if TYPE_CHECKING:  # rdflib's SPARQL parser is imported when compiling, not with the runner
    from pyparsing import ParseResults

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


def _rewrite(
    select: str, namespaces: dict[str, str], owner: str, parsed: ParseResults | None = None
) -> _Select:
    """``select`` rewritten (``parsed``: rdflib's parse of it, if the caller has one)."""
    rewritten = _Rewriter(select, namespaces, owner).select()
    predicates, sources = _patterns(select, namespaces, owner, parsed)
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
    select: str, namespaces: dict[str, str], owner: str, parsed: ParseResults | None = None
) -> tuple[frozenset[str] | None, tuple[tuple[str, frozenset[str] | None], ...]]:
    """What a select's triple patterns (and paths) can match, as rdflib parses it: all the
    predicates (None: any, for a variable predicate or a negated property set), and for
    each variable that may hold a literal, the predicates it may be read through (None:
    any). A path's ends both count (an inverse path reads its subject; a path that may be
    empty makes them equal)."""
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        tree = parseQuery(select) if parsed is None else parsed
        algebra = translateQuery(tree, initNs=namespaces).algebra
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
