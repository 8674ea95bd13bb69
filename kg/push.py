"""Stage 7 — publish: replace named graphs on any SPARQL 1.1 server, one graph at a time.

Each graph is **loaded beside its old version, checked, then swapped in** (decision 0014):

1. its triples go into a staging graph ``<G/kg-push-staging-TOKEN>`` (TOKEN new for each
   push), by the **Graph Store Protocol** (``PushTarget.graph_store``: a ``PUT``, then
   ``POST`` for any further part) or by **SPARQL 1.1 Update** (``INSERT DATA`` batches);
2. the staging graph's triple count on the server is compared with the local one: on a
   mismatch ``<G>`` is left as it was and the mismatch is reported;
3. one Update request replaces ``<G>`` by the staging graph (delete, insert, drop the
   staging graph), guarded so that it does nothing once the staging graph is gone: safe to
   send again, unlike ``MOVE``.

So a reader sees each graph old or new, never missing, and a push interrupted anywhere
leaves every graph old or new; a staging graph may remain, and the next push with ``prune``
removes it. With ``prune`` (a namespace), graphs under it that the corpus no longer has are
dropped. Last, every graph's triple count on the server is checked once more.

A batch the server refuses as too large (HTTP 413, Virtuoso's SP030/SP031/SR578) is halved
and sent again, and the smaller size is kept for the rest of the push. The HTTP side
(requests bounded as a whole, retries, Basic/Digest/Bearer auth) is :mod:`kg.push_http`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kg.push_http import Deadline, HttpClient, PushError, redact

__all__ = ["Mismatch", "PushError", "PushReport", "PushTarget", "push_graphs"]

NTRIPLES = "application/n-triples"
SPARQL_UPDATE = "application/sparql-update"
FORM = "application/x-www-form-urlencoded"
SPARQL_JSON = "application/sparql-results+json"
STAGING = "/kg-push-staging"  # appended to a graph's IRI: where its new version is loaded
UPDATE_BATCH = 1000  # triples per INSERT DATA unless told: Virtuoso 7 refuses ~5,000
GRAPHS_PER_REQUEST = 100  # graphs named in one count query or one prune request

# An absolute IRI: a scheme, a colon, then characters that may stand between <…> in N-Triples
# and SPARQL. A relative one would be resolved against the server's base: a surprise graph.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]+")

# One N-Triples statement per line (RDF 1.1): subject, predicate, object, '.', a comment.
_IRI = r"<[^<>\"{}|^`\x00-\x20]*>"  # UCHAR escapes pass: '\' is allowed by this class
_BNODE = r"_:[^\s<>\"]*[^\s<>\".]"
_LITERAL = r'"(?:[^"\\\n\r]|\\.)*"(?:\^\^' + _IRI + r"|@[A-Za-z]+(?:-[A-Za-z0-9]+)*)?"
_TRIPLE = re.compile(
    rf"\s*(?P<s>{_IRI}|{_BNODE})\s*(?P<p>{_IRI})\s*"
    rf"(?P<o>{_IRI}|{_BNODE}|{_LITERAL})\s*\.\s*(?:#.*)?"
)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|.)")
# The characters a SPARQL string cannot hold raw, written as SPARQL's own escapes.
_SPARQL_ECHAR = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r"}
# After expansion every backslash starts an ECHAR; find the escaped backslashes before a u/U.
_BACKSLASH_U = re.compile(r"\\\\([uU])|\\.")


@dataclass(frozen=True)
class PushTarget:
    """Where and how to push. ``password`` and ``token`` are kept out of ``repr``."""

    endpoint: str  # SPARQL 1.1 Update endpoint: the swap, the prune, and the Update path
    graph_store: str | None = None  # Graph Store Protocol endpoint, e.g. http://host:7878/store
    query_endpoint: str | None = None  # for the counts; default: see ``query_url``
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # Basic or Digest, as challenged
    token: str | None = field(default=None, repr=False)  # "Authorization: Bearer TOKEN"
    retries: int = 3  # extra attempts after a failure that may pass on retry
    timeout: float = 60.0  # seconds per request, the whole request
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    deadline: float | None = None  # seconds for the whole push
    batch_triples: int | None = None  # per request; default 1000 (Update), all (Graph Store)

    def __post_init__(self) -> None:
        if (self.user is None) != (self.password is None):
            raise ValueError("give both user and password, or neither")
        if self.token is not None and self.user is not None:
            raise ValueError("give a token or a user and password, not both")
        if self.retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise ValueError("retries and backoff must be ≥ 0, timeout > 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("the deadline must be > 0 seconds")
        if self.batch_triples is not None and self.batch_triples < 1:
            raise ValueError("batch_triples must be ≥ 1")
        for url in (self.endpoint, self.graph_store, self.query_endpoint):
            if url is None:
                continue
            parts = urllib.parse.urlsplit(url)
            if "@" in parts.netloc:
                raise ValueError(
                    f"{redact(url)}: credentials in the URL are refused (they would travel "
                    "in clear to every redirect and stay in shell history): give --user NAME "
                    "and the password in $KG_PUSH_PASSWORD (or --password); nothing was sent"
                )
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url}")

    @property
    def query_url(self) -> str:
        """Where the counts are asked: ``query_endpoint``; else the Update endpoint, or its
        sibling ``…/query`` when it ends in ``/update`` (Oxigraph's and Fuseki's layout)."""
        if self.query_endpoint is not None:
            return self.query_endpoint
        parts = urllib.parse.urlsplit(self.endpoint)
        if parts.path.endswith("/update"):
            return urllib.parse.urlunsplit(parts._replace(path=parts.path[:-6] + "query"))
        return self.endpoint


@dataclass(frozen=True)
class Mismatch:
    """A graph whose triple count on the server differs from the local one."""

    graph: str
    local: int
    server: int
    swapped: bool  # False: found in the staging graph, so the old graph was left in place

    def __str__(self) -> str:
        where = "the graph" if self.swapped else "its staging graph"
        kept = "" if self.swapped else "; the graph on the server was left as it was"
        return (
            f"graph <{self.graph}>: the server holds {self.server} triples in {where}, "
            f"the corpus {self.local}{kept}"
        )


@dataclass(frozen=True)
class PushReport:
    """What a push did. ``requests`` counts every HTTP request (preflights, queries and auth
    round trips included), ``retries`` the repeated ones, ``bytes`` the request bodies the
    server accepted; ``batch_triples`` is the batch size in the end (None: whole graphs)."""

    graphs: int
    triples: int
    bytes: int
    requests: int
    retries: int
    pruned: tuple[str, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()
    batch_triples: int | None = None


@dataclass
class _Triples:
    """One file's distinct triples, as they travel: N-Triples lines for the Graph Store,
    SPARQL-safe lines for Update; those with blank nodes apart (they travel together)."""

    plain: list[str]
    with_blank_nodes: list[str]
    raw: bool  # N-Triples as written (for the Graph Store), else SPARQL-safe

    def __len__(self) -> int:
        return len(self.plain) + len(self.with_blank_nodes)

    def guard(self) -> str:
        """One of the triples as a SPARQL pattern (blank nodes as variables), preferably one
        whose object is an IRI (no literal that a server might store in another form)."""
        lines = self.plain or self.with_blank_nodes
        line = next((t for t in lines if t.rstrip(" .").endswith(">")), lines[0])
        match = _TRIPLE.fullmatch(_sparql_escapes(line) if self.raw else line)
        assert match is not None  # every line was matched when read
        terms = [match[n] for n in "spo"]
        return " ".join(f"?blank{i}" if t.startswith("_:") else t for i, t in enumerate(terms))


def push_graphs(
    graphs: Sequence[tuple[str, Path]],
    target: PushTarget,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    prune: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Replace each (named graph IRI, N-Triples file) on ``target``; with ``prune`` (an IRI
    namespace), also drop the graphs under it that ``graphs`` does not name.

    Every IRI and file is read and checked before the first request, so a typo sends
    nothing. ``progress(done, total, iri)`` is called after each graph; ``sleep`` waits
    between retries (injectable, so tests need not wait). Count mismatches are returned in
    the report; anything that stops the push raises :class:`PushError`.
    """
    counts = _check(graphs, target.graph_store is not None)
    client = HttpClient(
        user=target.user,
        password=target.password,
        token=target.token,
        timeout=target.timeout,
        retries=target.retries,
        backoff=target.backoff,
        deadline=Deadline(target.deadline),
        sleep=sleep,
    )
    pusher = _Pusher(client, target)
    mismatches: list[Mismatch] = []
    for done, (iri, path) in enumerate(graphs, start=1):
        triples = _read_ntriples(path, iri, raw=target.graph_store is not None)
        try:
            mismatch = pusher.replace(iri, triples)
        except PushError as error:
            raise _stopped(error, graphs, done - 1) from error
        if mismatch is not None:
            mismatches.append(mismatch)
        if progress is not None:
            progress(done, len(graphs), iri)
    local = {iri for iri, _ in graphs}
    left_old = {m.graph for m in mismatches}
    try:
        pruned = pusher.prune(prune, local) if prune is not None else ()
        served = pusher.counts([iri for iri in counts if iri not in left_old])
    except PushError as error:
        raise _stopped(error, graphs, len(graphs)) from error
    mismatches += [
        Mismatch(iri, count, served.get(iri, 0), swapped=True)
        for iri, count in counts.items()
        if iri not in left_old and served.get(iri, 0) != count
    ]
    return PushReport(
        graphs=len(graphs),
        triples=sum(counts.values()),
        bytes=client.bytes,
        requests=client.requests,
        retries=client.retried,
        pruned=pruned,
        mismatches=tuple(mismatches),
        batch_triples=pusher.batch,
    )


def _check(graphs: Sequence[tuple[str, Path]], raw: bool) -> dict[str, int]:
    """Each graph's number of distinct triples, once every IRI and file is known good."""
    seen: set[str] = set()
    for iri, path in graphs:
        if not _ABSOLUTE_IRI.fullmatch(iri):
            raise PushError(f"graph <{iri}> is not an absolute IRI; nothing was sent", graph=iri)
        if iri in seen:
            raise PushError(f"graph <{iri}> is given twice; nothing was sent", graph=iri)
        seen.add(iri)
        if not path.is_file():
            raise PushError(f"graph <{iri}>: no such file {path}; nothing was sent", graph=iri)
    return {iri: len(_read_ntriples(path, iri, raw)) for iri, path in graphs}


def _stopped(error: PushError, graphs: Sequence[tuple[str, Path]], done: int) -> PushError:
    """The error, saying what the push left on the server."""
    if done == 0:
        state = "no graph on the server was changed"
    elif done == len(graphs):
        state = f"all {done} graphs were pushed, then the prune or the final count failed"
    else:
        state = f"the first {done} of {len(graphs)} graphs were pushed, the others not changed"
    return PushError(
        f"{error}\n  ({state}; every graph on the server is either as it was or as pushed)",
        graph=error.graph,
        url=error.url,
        status=error.status,
        answer=error.answer,
    )


class _Pusher:
    """The requests of one push: staging, swapping, counting, pruning."""

    def __init__(self, client: HttpClient, target: PushTarget) -> None:
        self.client = client
        self.target = target
        self.batch = target.batch_triples or (None if target.graph_store else UPDATE_BATCH)
        self.token = secrets.token_hex(6)  # this push's staging graphs: <G/kg-push-staging-…>
        self.loaded = False  # whether the current staging graph may hold triples

    def replace(self, iri: str, triples: _Triples) -> Mismatch | None:
        """Load ``iri``'s new version beside it, check its count, swap it in."""
        staging = f"{iri}{STAGING}-{self.token}"
        if not triples:
            self._update(f"DROP SILENT GRAPH <{iri}>", iri)
            return None
        self.loaded = False
        try:
            for _ in range(2):  # a second load when a retried blank-node batch doubled some
                self._stage(staging, triples, iri)
                staged = self.counts([staging]).get(staging, 0)
                if staged <= len(triples):
                    break
        except PushError as error:
            if self.loaded or error.status is None or error.status >= 500:
                self._drop_quietly(staging)  # it may hold part of the graph
            raise
        if staged != len(triples):
            self._drop_quietly(staging)
            return Mismatch(iri, len(triples), staged, swapped=False)
        # after a failure from here on the staging graph stays (the swap may yet happen):
        # the next push's prune removes it
        self._swap(staging, iri, triples.guard())
        return None

    def _stage(self, staging: str, triples: _Triples, iri: str) -> None:
        """Every triple into the staging graph, the first request replacing what was there."""
        first, start = True, 0
        while start < len(triples.plain):
            size = min(self.batch or len(triples.plain), len(triples.plain) - start)
            part = triples.plain[start : start + size]
            try:
                self._load(staging, part, first, iri, blank_nodes=False)
                self.loaded = True
            except PushError as error:
                if not error.too_large or size == 1:
                    raise
                self.batch = size // 2  # the server's limit: kept for the rest of the push
                continue
            first, start = False, start + size
        if triples.with_blank_nodes:
            try:
                self._load(staging, triples.with_blank_nodes, first, iri, blank_nodes=True)
            except PushError as error:
                if error.too_large:
                    raise PushError(
                        f"{error}\n  (graph <{iri}>: its {len(triples.with_blank_nodes)} "
                        "triples with blank nodes must travel in one request, which the "
                        "server refuses as too large)",
                        graph=iri,
                        status=error.status,
                    ) from error
                raise

    def _load(
        self, staging: str, lines: list[str], first: bool, iri: str, *, blank_nodes: bool
    ) -> None:
        if self.target.graph_store is not None:
            body = ("\n".join(lines) + "\n").encode("utf-8")
            url = _graph_url(self.target.graph_store, staging)
            method = "PUT" if first else "POST"  # PUT replaces a leftover; POST adds
            self.client.send(method, url, body, content_type=NTRIPLES, graph=iri)
            return
        data = "\n".join(lines)
        if blank_nodes:  # labels scoped to one request; INSERT DATA may not hold them (Virtuoso)
            text = f"INSERT {{ GRAPH <{staging}> {{\n{data}\n}} }} WHERE {{}}"
        else:
            text = f"INSERT DATA {{ GRAPH <{staging}> {{\n{data}\n}} }}"
        if first:
            text = f"DROP SILENT GRAPH <{staging}> ;\n{text}"
        self._update(text, iri)

    def _swap(self, staging: str, iri: str, guard: str) -> None:
        """Replace ``iri`` by the staging graph in one request that does nothing once the
        staging graph has gone: sent again (a lost answer, a late duplicate), it cannot empty
        ``iri``, as a repeated ``MOVE`` would (Virtuoso and rdflib move an absent graph as an
        empty one). The guard is one of the graph's own triples, a constant pattern: a
        ``LIMIT 1`` subquery instead made Virtuoso take 27 s for 5,000 triples."""
        self._update(
            f"DELETE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{staging}> {{ {guard} }} "
            f"GRAPH <{iri}> {{ ?s ?p ?o }} }} ;\n"
            f"INSERT {{ GRAPH <{iri}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{staging}> "
            "{ ?s ?p ?o } } ;\n"
            f"DROP SILENT GRAPH <{staging}>",
            iri,
        )

    def prune(self, namespace: str, keep: set[str]) -> tuple[str, ...]:
        """Drop the graphs under ``namespace`` that are not in ``keep``; their IRIs."""
        query = (
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {_string(namespace)})) }}"
        )
        found = {row["g"] for row in self._select(query)}
        gone = sorted(g for g in found if g.startswith(namespace) and g not in keep)
        for start in range(0, len(gone), GRAPHS_PER_REQUEST):
            part = gone[start : start + GRAPHS_PER_REQUEST]
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in part), None)
        return tuple(gone)

    def counts(self, graphs: Iterable[str]) -> dict[str, int]:
        """Triples per graph on the server (a graph it does not have is absent)."""
        found: dict[str, int] = {}
        names = list(graphs)
        for start in range(0, len(names), GRAPHS_PER_REQUEST):
            values = " ".join(f"<{g}>" for g in names[start : start + GRAPHS_PER_REQUEST])
            query = (
                f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                "GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            )
            for row in self._select(query):
                if "g" not in row:
                    continue  # rdflib answers one empty row when no graph matches
                try:
                    found[row["g"]] = int(row["n"])
                except (KeyError, ValueError) as error:
                    raise PushError(
                        f"{redact(self.target.query_url)} answered a count with {row}"
                    ) from error
        return found

    def _select(self, query: str) -> list[dict[str, str]]:
        url = self.target.query_url
        # a form, not an application/sparql-query body: Virtuoso 7.2 leaves that answer open
        form = urllib.parse.urlencode({"query": query}).encode("ascii")
        answer = self.client.send("POST", url, form, content_type=FORM, accept=SPARQL_JSON)
        try:
            bindings = json.loads(answer.body)["results"]["bindings"]
            return [{name: term["value"] for name, term in row.items()} for row in bindings]
        except (ValueError, KeyError, TypeError) as error:
            raise PushError(
                f"{redact(url)} did not answer a SELECT query with SPARQL JSON results "
                f"({answer.content_type or 'no content type'}); give the server's query "
                "endpoint with --query-endpoint"
            ) from error

    def _update(self, text: str, graph: str | None) -> None:
        self.client.send(
            "POST",
            self.target.endpoint,
            text.encode("utf-8"),
            content_type=SPARQL_UPDATE,
            graph=graph,
        )

    def _drop_quietly(self, staging: str) -> None:
        """Best effort after a failure (a few seconds even past the deadline): the next push
        replaces a leftover staging graph anyway, and prune removes it."""
        quick = HttpClient(
            user=self.target.user,
            password=self.target.password,
            token=self.target.token,
            timeout=min(self.target.timeout, 5.0),
            retries=0,
        )
        try:
            quick.send(
                "POST",
                self.target.endpoint,
                f"DROP SILENT GRAPH <{staging}>".encode(),
                content_type=SPARQL_UPDATE,
            )
        except PushError:
            pass
        finally:
            self.client.requests += quick.requests


def _graph_url(graph_store: str, iri: str) -> str:
    separator = "&" if "?" in graph_store else "?"
    return f"{graph_store}{separator}graph={urllib.parse.quote(iri, safe='')}"


def _string(text: str) -> str:
    """A SPARQL string literal holding ``text``."""
    return '"' + "".join(_SPARQL_ECHAR.get(c, c) for c in text) + '"'


def _read_ntriples(path: Path, iri: str, raw: bool) -> _Triples:
    """The file's distinct triples: as written (``raw``, for the Graph Store) or as
    SPARQL-safe lines; split into those without and with blank nodes.

    Blank node labels are scoped to one request, so every triple that has one must travel in
    the same request: otherwise ``_:b0`` in two batches would become two nodes.
    """
    plain: dict[str, None] = {}
    with_blank_nodes: dict[str, None] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PushError(
            f"graph <{iri}>: {path} is not UTF-8 N-Triples ({error}); nothing was sent",
            graph=iri,
        ) from error
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _TRIPLE.fullmatch(stripped)
        if match is None:
            raise PushError(
                f"graph <{iri}>: {path}:{number} is not an N-Triples triple; nothing was sent: "
                f"{stripped[:80]}",
                graph=iri,
            )
        triple = stripped if raw else _sparql_escapes(stripped)
        if match["s"].startswith("_:") or match["o"].startswith("_:"):
            with_blank_nodes[triple] = None
        else:
            plain[triple] = None
    return _Triples(list(plain), list(with_blank_nodes), raw)


def _sparql_escapes(line: str) -> str:
    r"""The line with the same meaning to every SPARQL parser.

    SPARQL says ``\uXXXX`` escapes are processed *before* parsing, and some parsers do so
    (rdflib; others, like Oxigraph, read them inside tokens as N-Triples does). So
    ``"a\u0022b"`` would end the string early: each such escape becomes its character (or
    SPARQL's own ``\"``). And an escaped backslash followed by ``u`` (``"\\u0041"``, a
    backslash then "u0041") would be read as ``\u0041`` by the former: that ``u`` is written
    ``\U00000075`` (eight digits, so no hex digit after it can be taken as part of it).
    """

    def expand(match: re.Match[str]) -> str:
        code = match[1] or match[2]
        if code is None:
            return match[0]  # \" \\ \n … are the same in SPARQL
        character = chr(int(code, 16))
        return _SPARQL_ECHAR.get(character, character)

    def shield(match: re.Match[str]) -> str:
        return match[0] if match[1] is None else f"\\\\\\U{ord(match[1]):08X}"

    return _BACKSLASH_U.sub(shield, _ESCAPE.sub(expand, line))
