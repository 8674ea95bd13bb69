"""Stage 5 — the query library: one ``.rq`` file per question, run with bound parameters.

Each file starts with a grlc-style header (``#+`` comment lines holding YAML: ``summary``,
``tags``, ``params``), so it stays valid SPARQL. A parameter is typed, parsed into an RDF
term and substituted for its variable as that term's escaped N-Triples form, never pasted as
raw text: the same bound query then runs on any engine (rdflib, Oxigraph, a remote server),
where ``initBindings`` would be rdflib's alone (Oxigraph substitutes projected variables
only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kg.errors import shown_path
from kg.query_headers import parse_header, summary_of
from kg.resources import data_dir

if TYPE_CHECKING:
    from rdflib import Graph
    from rdflib.query import Result
    from rdflib.term import Node

# rdflib (its SPARQL engine: most of a second to import) is imported where a query runs on
# it; a library query on the embedded store runs on Oxigraph alone (``run_on_store``).
_XSD = "http://www.w3.org/2001/XMLSchema#"

FORMATS = ("table", "csv", "tsv", "json")
_TYPES = {"xsd:string", "xsd:integer", "xsd:decimal", "iri"}
# Where a "?name" is not a variable: strings (long and short), IRIs and comments.
_SPARQL_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\s]*>'
    r"|#[^\n]*"
    r"|[?$][A-Za-z_][A-Za-z0-9_]*"
)


# An IRI as SPARQL's IRIREF allows it (no spaces, quotes, braces or angle brackets), absolute.
_ABSOLUTE_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^<>"{}|^`\\\x00-\x20]*')


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)
# What a SPARQL update opens with, after its prologue (comments already taken out).
_UPDATE = re.compile(
    r"\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.IGNORECASE,
)
READ_ONLY = (
    "kg query runs read-only queries (SELECT, ASK, CONSTRUCT, DESCRIBE); an update goes to "
    "a SPARQL server's update endpoint (kg push loads the corpus into one)"
)


def update_operation(text: str) -> str | None:
    """The operation (INSERT, DELETE, LOAD…) when ``text`` is a SPARQL update, else None."""
    uncommented = _SPARQL_TOKENS.sub(lambda t: " " if t.group(0)[0] == "#" else t.group(0), text)
    match = _UPDATE.match(uncommented)
    return match.group(1).upper() if match else None


class QueryError(Exception):
    """A query file that cannot be read, parsed or run with the given parameters."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str
    description: str

    def bind(self, raw: str) -> str:
        """The RDF term for ``raw`` (a command-line or URL string) of this type, written as
        in N-Triples (and SPARQL)."""
        if self.type == "iri":
            if not _ABSOLUTE_IRI.fullmatch(raw):
                raise QueryError(
                    f"parameter '{self.name}' must be an absolute IRI such as "
                    f"https://example.org/x, got {_shorten(raw)!r}"
                )
            return f"<{raw}>"  # the pattern admits no character an IRIREF must escape
        if self.type == "xsd:integer":
            if not re.fullmatch(r"-?[0-9]{1,18}", raw):
                raise QueryError(
                    f"parameter '{self.name}' must be a whole number of at most 18 digits, "
                    f"got {_shorten(raw)!r}"
                )
            return f'"{int(raw)}"^^<{_XSD}integer>'
        if self.type == "xsd:decimal":
            if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", raw):
                raise QueryError(f"parameter '{self.name}' must be a decimal number, got {raw!r}")
            return f'"{raw}"^^<{_XSD}decimal>'
        return _string_literal(raw)


def _string_literal(text: str) -> str:
    """``text`` as a SPARQL (and N-Triples) string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    text: str

    def bound_text(self, given: Mapping[str, str] | None = None) -> str:
        """The query text with every parameter's variable replaced by its RDF term."""
        terms = self.bindings(given or {})

        def substitute(token: re.Match[str]) -> str:
            text = token.group(0)
            if text[0] in "?$" and text[1:] in terms:
                return terms[text[1:]]
            return text  # a string, an IRI or a comment: left as written

        return _SPARQL_TOKENS.sub(substitute, self.text)

    def bindings(self, given: Mapping[str, str]) -> dict[str, str]:
        """Every parameter bound (its term in N-Triples form): the given value, else its
        default."""
        known = {p.name for p in self.parameters}
        for name in given:
            if name not in known:
                expected = ", ".join(sorted(known)) or "none"
                raise QueryError(
                    f"{self.name}: unknown parameter '{name}' (parameters: {expected})"
                )
        return {p.name: p.bind(given.get(p.name, p.default)) for p in self.parameters}


def query_dir() -> Path:
    return data_dir("queries")


def read_query(path: Path) -> NamedQuery:
    """Read a query file and its ``#+`` header; the SPARQL must parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise QueryError(f"{path}: cannot read: {error.strerror}") from None
    try:
        header = parse_header(text)  # PyYAML only for a header beyond the library's YAML
    except ValueError as error:
        raise QueryError(f"{path}: {error}") from None
    parameters = tuple(_parameter(path, p) for p in header.get("params") or [])
    _parse(path, text)
    return NamedQuery(
        name=path.stem,
        path=path,
        summary=summary_of(header, text),
        tags=tuple(str(t) for t in header.get("tags") or []),
        parameters=parameters,
        text=text,
    )


def _parameter(path: Path, raw: Any) -> Parameter:
    if not isinstance(raw, dict) or not {"name", "type", "default"} <= set(raw):
        raise QueryError(f"{path}: each parameter needs name, type and default: {raw!r}")
    if raw["type"] not in _TYPES:
        raise QueryError(f"{path}: parameter type must be one of {sorted(_TYPES)}: {raw!r}")
    return Parameter(
        str(raw["name"]), str(raw["type"]), str(raw["default"]), str(raw.get("description", ""))
    )


def _parse(path: Path, text: str) -> None:
    """Refuse a query that does not parse. Oxigraph's parser checks it in microseconds
    (the results of a query on an empty store are lazy: nothing runs); rdflib's, which
    takes up to a second on a long query, only says where a query it refuses is wrong. A
    query with SERVICE goes to rdflib's parser alone, so that reading it calls nothing."""
    if not _SERVICE.search(text):
        try:
            ox.Store().query(text)
            return
        except SyntaxError:
            pass
    if (operation := update_operation(text)) is not None:
        raise QueryError(
            f"{shown_path(path)}: a SPARQL update ({operation}), not a query: {READ_ONLY}"
        )
    from pyparsing import ParseException
    from rdflib.plugins.sparql import prepareQuery

    try:
        prepareQuery(text)
    except ParseException as error:
        raise QueryError(
            f"{path}:{error.lineno}:{error.col}: SPARQL syntax error: {error.msg}\n"
            f"  {error.line}\n  {' ' * (error.col - 1)}^"
        ) from None
    except Exception as error:  # rdflib reports unknown prefixes and the like as plain errors
        raise QueryError(f"{path}: invalid SPARQL: {error}") from None


def list_queries(directory: Path | None = None) -> list[NamedQuery]:
    """Every query of the library, by name."""
    return [read_query(p) for p in sorted((directory or query_dir()).glob("*.rq"))]


def find_query(name_or_path: str, directory: Path | None = None) -> NamedQuery:
    """A library query by name, or any ``.rq`` file by path."""
    path = Path(name_or_path)
    if path.suffix == ".rq" or path.exists():
        return read_query(path)
    candidate = (directory or query_dir()) / f"{name_or_path}.rq"
    if not candidate.exists() and re.search(r"[\s{]", name_or_path):  # SPARQL, not a name
        if (operation := update_operation(name_or_path)) is not None:
            raise QueryError(f"that is a SPARQL update ({operation}), not a query: {READ_ONLY}")
        raise QueryError(
            "kg query takes a query NAME or a .rq FILE, not SPARQL text: save "
            f"{_shorten(' '.join(name_or_path.split()), 40)!r} in a .rq file and give its path"
        )
    if not candidate.exists():
        names = ", ".join(q.name for q in list_queries(directory))
        raise QueryError(f"no query named '{name_or_path}' (kg query --list shows: {names})")
    return read_query(candidate)


def run_query(graph: Graph, query: NamedQuery, given: Mapping[str, str] | None = None) -> Result:
    """Run ``query`` on ``graph`` with its parameters bound (defaults where not given)."""
    from pyparsing import ParseException

    text = query.bound_text(given)
    try:
        return as_dataset(graph).query(text)
    except ParseException as error:  # rdflib's engine refuses what Oxigraph's parser took
        raise QueryError(
            f"{query.path}:{error.lineno}:{error.col}: SPARQL syntax error: {error.msg}"
        ) from None


def as_dataset(graph: Graph) -> Graph:
    """``graph`` as a dataset that ``GRAPH ?g`` patterns can see.

    The library's queries match each claim inside the one named graph that holds all of it
    (docs/decisions/0008-article-aware-queries.md). An in-memory rdflib ``Graph`` is one
    graph of its store: seen as a dataset over that store (no copy), it is one named graph
    holding everything, so the same queries run on it. Datasets and remote stores are
    left as they are.
    """
    from rdflib import ConjunctiveGraph, Dataset
    from rdflib.plugins.stores.memory import Memory

    if isinstance(graph, ConjunctiveGraph) or not isinstance(graph.store, Memory):
        return graph
    return Dataset(store=graph.store, default_union=True)


class StoreAnswer:
    """A SELECT's or ASK's answer from Oxigraph, as ``format_result`` prints an rdflib
    ``Result``: cells are the terms' lexical forms, the JSON is what rdflib writes for the
    same answer through ``oxrdflib`` (every literal's datatype, ``xsd:string`` included)."""

    def __init__(self, answer: ox.QuerySolutions | ox.QueryBoolean) -> None:
        self.graph = None
        self.askAnswer: bool | None = None
        if isinstance(answer, ox.QueryBoolean):
            self.type, self.vars, self.askAnswer = "ASK", [], bool(answer)
            self._terms: list[list[Any]] = []
            return
        self.type = "SELECT"
        self.vars = [v.value for v in answer.variables]
        self._terms = [[solution[i] for i in range(len(self.vars))] for solution in answer]

    def __iter__(self) -> Any:
        return iter([[None if t is None else t.value for t in row] for row in self._terms])

    def serialize(self, format: str = "json") -> str:
        if self.type == "ASK":
            return json.dumps({"head": {}, "boolean": self.askAnswer})
        bindings = [
            {v: _term_json(t) for v, t in zip(self.vars, row, strict=True) if t is not None}
            for row in self._terms
        ]
        return json.dumps({"results": {"bindings": bindings}, "head": {"vars": self.vars}})


def _term_json(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.Literal):
        if term.language:
            return {"type": "literal", "value": term.value, "xml:lang": term.language}
        return {"type": "literal", "value": term.value, "datatype": term.datatype.value}
    return {"type": "bnode", "value": term.value}


def run_on_store(
    store: ox.Store, query: NamedQuery, given: Mapping[str, str] | None = None
) -> StoreAnswer | None:
    """Run ``query`` on an Oxigraph store directly, over the union of its named graphs, as
    ``run_query`` runs it on the store seen through rdflib, without importing rdflib: the
    same rows in the same order. None when Oxigraph's parser needs rdflib's prefixes for
    it, or for a CONSTRUCT or DESCRIBE (``run_query`` answers those)."""
    try:
        answer = store.query(query.bound_text(given), use_default_graph_as_union=True)
    except SyntaxError:
        return None
    if isinstance(answer, ox.QueryTriples):
        return None
    return StoreAnswer(answer)


# ---------------------------------------------------------------- formatting


def _cell(term: Node | str | None) -> str:
    return "" if term is None else str(term)


def _rows(result: Result | StoreAnswer) -> tuple[list[str], list[list[str]]]:
    variables = [str(v) for v in result.vars or []]
    rows = [[_cell(row[i]) for i in range(len(variables))] for row in result]  # type: ignore[index]
    return variables, rows


def format_result(result: Result | StoreAnswer, output: str = "table") -> str:
    """SELECT/ASK results as an aligned table, CSV, TSV or SPARQL JSON; graphs as Turtle."""
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        assert result.graph is not None
        return result.graph.serialize(format="turtle")
    if output == "json":
        return _json(result)
    if result.type == "ASK":
        return f"{str(bool(result.askAnswer)).lower()}\n"
    variables, rows = _rows(result)
    if output in ("csv", "tsv"):
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="," if output == "csv" else "\t", lineterminator="\n")
        writer.writerow(variables)
        writer.writerows(rows)
        return buffer.getvalue()
    return _table(variables, rows)


def _json(result: Result | StoreAnswer) -> str:
    serialised = result.serialize(format="json")
    assert serialised is not None
    text = serialised.decode("utf-8") if isinstance(serialised, bytes) else serialised
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def _table(variables: Sequence[str], rows: Sequence[Sequence[str]], limit: int = 60) -> str:
    def clip(text: str) -> str:
        text = text.replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    shown = [[clip(c) for c in row] for row in rows]
    widths = [max([len(v), *(len(r[i]) for r in shown)]) for i, v in enumerate(variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(variables, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in shown]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
