"""Stage 5 — what a SPARQL request may do before any engine sees it.

The endpoint answers queries on Oxigraph, whose engine follows ``SERVICE <url>`` with an HTTP
client of its own. This module reads a query the way a SPARQL lexer does (strings, IRIs and
comments first, left to right) and tells the endpoint its form, the ``SERVICE`` targets and
the ``FROM``/``FROM NAMED`` graphs, each resolved to a full IRI, so that the endpoint can refuse
what the allow-lists do not name. It is conservative by design: a ``SERVICE`` whose target
is not a plain absolute IRI (a variable, an escaped prefixed name, a relative IRI) is refused
rather than guessed at. See ``docs/decisions/0010-endpoint-on-oxigraph-workers.md``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATE_WORDS = {
    "INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH",
}  # fmt: skip

_TOKEN = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*')"
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*(?:\\[uU][0-9A-Fa-f]+[^<>"{}|^`\\\x00-\x20]*)*>)'
    r"|(?P<comment>#[^\n\r]*)"
    r"|(?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\U000effff]+)"
    r"|(?P<word>[A-Za-z_\u00c0-\U000effff][\w.\-\u00b7\u00c0-\U000effff]*"
    r"(?::(?:[\w.\-%\\:\u00b7\u00c0-\U000effff]*))?|:[\w.\-%\\:\u00b7\u00c0-\U000effff]*)"
    r"|(?P<other>\S)",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class RefusedQuery(Exception):
    """A request the endpoint will not run; the message says why, naming no server path."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class QueryShape:
    """What the endpoint needs to know of a query before running it."""

    form: str
    services: tuple[str, ...]
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(query: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "other"
        if kind != "comment":
            tokens.append(_Token(kind, match.group(0)))
    return tokens


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _iri(token: _Token, prefixes: dict[str, str]) -> str | None:
    """The full IRI a token names, or None when it is not a plain absolute one."""
    if token.kind == "iri":
        iri = _unescape(token.text[1:-1])
    elif token.kind == "word" and ":" in token.text:
        prefix, _, local = token.text.rstrip(".").partition(":")
        if prefix not in prefixes or "\\" in local or "%" in local:
            return None
        iri = prefixes[prefix] + local
    else:
        return None
    return iri if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", iri) else None


def inspect_query(query: str) -> QueryShape:
    """The form, SERVICE targets and dataset clause of ``query`` (refused if unreadable)."""
    tokens = _tokens(query)
    prefixes: dict[str, str] = {}
    form = ""
    services: list[str] = []
    defaults: list[str] = []
    named: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        word = token.text.upper() if token.kind == "word" else ""
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if word == "PREFIX" and following is not None and index + 2 < len(tokens):
            if following.kind == "word" and following.text.endswith(":"):
                namespace = tokens[index + 2]
                if namespace.kind == "iri":
                    prefixes[following.text[:-1]] = _unescape(namespace.text[1:-1])
            index += 3
            continue
        if not form and word in _UPDATE_WORDS:
            raise RefusedQuery("this endpoint is read-only: SPARQL updates are refused", 403)
        if not form and word in QUERY_FORMS:
            form = word
        elif word == "SERVICE":
            position = index + 1
            if position < len(tokens) and tokens[position].text.upper() == "SILENT":
                position += 1
            service = _iri(tokens[position], prefixes) if position < len(tokens) else None
            if service is None:
                raise RefusedQuery(
                    "SERVICE needs an absolute IRI written out (<https://…>); a variable or "
                    "an escaped name is refused"
                )
            services.append(service)
            index = position
        elif word == "FROM":
            position = index + 1
            is_named = position < len(tokens) and tokens[position].text.upper() == "NAMED"
            position += is_named
            graph = _iri(tokens[position], prefixes) if position < len(tokens) else None
            if graph is None:
                raise RefusedQuery("FROM needs a graph IRI")
            (named if is_named else defaults).append(graph)
            index = position
        index += 1
    if not form:
        raise RefusedQuery("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    return QueryShape(form, tuple(services), tuple(defaults), tuple(named))


def check_allowed(
    shape: QueryShape, own_graphs: Collection[str], allowed_services: Collection[str]
) -> None:
    """Refuse a SERVICE not on the allow-list and a FROM naming a graph the store lacks."""
    for service in shape.services:
        if service not in allowed_services:
            hint = (
                "federation is off (kg serve --allow-service URL enables one endpoint)"
                if not allowed_services
                else "allowed: " + ", ".join(sorted(allowed_services))
            )
            raise RefusedQuery(f"SERVICE <{service}> is not allowed; {hint}")
    for graph in (*shape.default_graphs, *shape.named_graphs):
        if graph not in own_graphs:
            raise RefusedQuery(
                f"FROM <{graph}>: not a graph of this dataset (GET /graphs lists them); "
                "nothing is fetched from the web or from files"
            )
