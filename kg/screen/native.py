"""SHACL-SPARQL constraints the screen evaluates in Python, because Oxigraph cannot run
them in time linear in the data.

The quote check (``shape:QuoteShape-matchesSource``) compares each quote with the article's
text at its offsets. In Oxigraph every SUBSTR of the text copies the whole text out of the
store and walks it to the offset, so the check costs quotes × text length: one article of
10,000 claims (0.9 MB of text) spent 100 s there, 1,000 claims 0.7 s. Here Oxigraph only
matches the graph pattern, the text is read once per article, and Python slices it.

Each check is tied to the exact text of one select (whitespace aside) and to the
namespaces its prefixes name: a changed select no longer matches and is compiled as any
other (correct, only slower; ``tests/test_screen.py`` checks that the shipped shapes still
match). A row is judged exactly as rdflib judges it where every value is a plain string or
a well-typed integer; any other row flags its focus node (the screen may flag too much,
never too little).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib.namespace import XSD

from kg.screen.terms import _INTEGERS, _WELL, OxTerm, _focus

_OA = "http://www.w3.org/ns/oa#"
_STRING = str(XSD.string)
_NUMERIC = frozenset(_WELL + str(datatype) for datatype in _INTEGERS)
"""Stored datatypes of the well-typed integers (rdflib's ``numeric()`` takes them all)."""
_DIGITS = re.compile("[+-]?[0-9]{1,17}")

_Select = Callable[[str], Iterator[ox.QuerySolution]]


def _normalized(select: str) -> str:
    """A select with its whitespace collapsed (how two selects are compared)."""
    return " ".join(select.split())


_QUOTE_SELECT = _normalized(
    r"""
    SELECT $this ?value WHERE {
        $this oa:hasSource/ckg:fullText ?text ;
              oa:hasSelector ?byQuote , ?byPosition .
        ?byQuote oa:exact ?exact .
        ?byPosition oa:start ?start ; oa:end ?end .
        OPTIONAL { ?byQuote oa:prefix ?prefix }
        OPTIONAL { ?byQuote oa:suffix ?suffix }
        BIND (SUBSTR(?text, ?start + 1, ?end - ?start) AS ?actual)
        FILTER (?actual != ?exact
            || (BOUND(?prefix) && !STRENDS(SUBSTR(?text, 1, ?start), ?prefix))
            || (BOUND(?suffix) && !STRSTARTS(SUBSTR(?text, ?end + 1), ?suffix)))
        BIND (CONCAT("offsets ", STR(?start), "-", STR(?end), " hold \"", ?actual, "\"") AS ?value)
    }
    """
)
"""The select of ``shape:QuoteShape-matchesSource`` in ``ontology/shapes.ttl``."""


@dataclass(frozen=True)
class _QuoteCheck:
    """The quote check for the focus nodes under one key: two queries, then Python."""

    rows: str  # each focus node's selectors' values, and the source they point into
    texts: str  # each source's full texts, once per source (not once per quote)

    def violators(self, select: _Select) -> set[OxTerm]:
        texts: dict[OxTerm, list[str | None]] = {}
        for row in select(self.texts):  # each read once: pyoxigraph copies it at each .value
            texts.setdefault(row["source"], []).append(_plain(row["text"]))
        flagged: set[OxTerm] = set()
        for row in select(self.rows):
            this = row["this"]
            if this in flagged:
                continue
            values = [row[name] for name in ("exact", "start", "end", "prefix", "suffix")]
            if any(_kept(text, *values) for text in texts.get(row["source"], ())):
                flagged.add(this)
        return flagged


def native(select: str, namespaces: dict[str, str], key: str) -> _QuoteCheck | None:
    """The Python check for ``select`` (with the prefixes ``namespaces`` declares) on the
    focus nodes under ``key``; None when there is none and the select is compiled."""
    ckg = namespaces.get("ckg")
    if _normalized(select) != _QUOTE_SELECT or namespaces.get("oa") != _OA or not ckg:
        return None
    oa = f"<{_OA}{{}}>".format
    focus = _focus(key)
    rows = (
        f"SELECT ?this ?source ?exact ?start ?end ?prefix ?suffix WHERE {{ {focus} "
        f"?this {oa('hasSource')} ?source ; {oa('hasSelector')} ?byQuote , ?byPosition . "
        f"?byQuote {oa('exact')} ?exact . ?byPosition {oa('start')} ?start ; {oa('end')} ?end . "
        f"OPTIONAL {{ ?byQuote {oa('prefix')} ?prefix }} "
        f"OPTIONAL {{ ?byQuote {oa('suffix')} ?suffix }} }}"
    )
    texts = (
        f"SELECT DISTINCT ?source ?text WHERE {{ {focus} "
        f"?this {oa('hasSource')} ?source . ?source {ox.NamedNode(ckg + 'fullText')} ?text }}"
    )
    return _QuoteCheck(rows, texts)


def _kept(
    t: str | None,
    exact: OxTerm,
    start: OxTerm,
    end: OxTerm,
    prefix: OxTerm | None,
    suffix: OxTerm | None,
) -> bool:
    """Whether rdflib keeps the row (its FILTER is true): the quote is not the text between
    the offsets, or its prefix does not end there, or its suffix does not start there.
    rdflib's SUBSTR is a Python slice: ``SUBSTR(t, s + 1, e - s)`` is ``t[s:e]``,
    ``SUBSTR(t, 1, s)`` is ``t[:s]`` and ``SUBSTR(t, e + 1)`` is ``t[e:]``, for any
    integers. ``t`` is the text, None when it is not a plain literal. True for a row with
    any other kind of value (rdflib may err or compare otherwise)."""
    x, s, e = _plain(exact), _integer(start), _integer(end)
    before = None if prefix is None else _plain(prefix)
    after = None if suffix is None else _plain(suffix)
    if (
        t is None
        or x is None
        or s is None
        or e is None
        or (prefix is not None and before is None)
        or (suffix is not None and after is None)
    ):
        return True
    return (
        t[s:e] != x
        or (before is not None and not _ends(t, s, before))
        or (after is not None and not _starts(t, e, after))
    )


def _ends(text: str, at: int, prefix: str) -> bool:
    """``text[:at].endswith(prefix)`` without copying ``text[:at]``."""
    return text[:at].endswith(prefix) if at < 0 else text.endswith(prefix, 0, at)


def _starts(text: str, at: int, suffix: str) -> bool:
    """``text[at:].startswith(suffix)`` without copying ``text[at:]`` (not
    ``text.startswith(suffix, at)``: past the end, that is False for an empty suffix)."""
    return text[at:].startswith(suffix) if at < 0 else text[at : at + len(suffix)] == suffix


def _plain(term: OxTerm) -> str | None:
    """The string of a plain literal as the encoder stores it (no tag, no datatype: an
    rdflib xsd:string literal is stored under a screen datatype), else None."""
    if isinstance(term, ox.Literal) and not term.language and term.datatype.value == _STRING:
        return term.value
    return None


def _integer(term: OxTerm) -> int | None:
    """The value of a well-typed integer literal rdflib reads as a Python int, else None."""
    if (
        isinstance(term, ox.Literal)
        and term.datatype.value in _NUMERIC
        and _DIGITS.fullmatch(term.value)
    ):
        return int(term.value)
    return None
