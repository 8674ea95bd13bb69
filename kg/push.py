"""Stage 7 — publish: load named graphs into any SPARQL 1.1 server.

Two standard ways in, so that no store-specific loader is needed:

- the **Graph Store Protocol** (``PushTarget.graph_store``): one ``PUT`` per graph, which
  replaces the graph in a single request — atomic and idempotent, so a re-push after a change
  is always safe. Prefer it whenever the server offers it (Oxigraph, Fuseki, GraphDB, RDF4J,
  Virtuoso's ``/sparql-graph-crud-auth``).
- **SPARQL 1.1 Update** (``PushTarget.endpoint``): ``DROP SILENT GRAPH`` and then
  ``INSERT DATA`` in batches of ``batch_triples``. This path is **not atomic per graph**: each
  request commits on its own, so a failure half-way (or a reader querying meanwhile) sees the
  graph empty or partly loaded. Re-running the push repairs it, since it starts with the DROP.

Only the standard library speaks HTTP (``urllib.request``). Failures that may pass on retry
(no connection, a timeout, HTTP 429/500/502/503/504) are retried with exponential backoff;
any other answer fails at once with a :class:`PushError` that names the graph, the URL, the
status and the start of the server's answer. Passwords and tokens never appear in messages
or in ``repr``.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

#: Answers worth another attempt: rate limiting and the usual "try again later" statuses.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Answers that mean the graph is in place (GSP: replaced, created, no content).
SUCCESS_STATUSES = frozenset({200, 201, 204})
NTRIPLES = "application/n-triples"
SPARQL_UPDATE = "application/sparql-update"
ANSWER_CHARS = 300  # how much of the server's answer a PushError quotes

# An absolute IRI: a scheme, a colon, then characters that may stand between <…> in N-Triples
# and SPARQL. A relative one would be resolved against the server's base: a surprise graph.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]+")

# One N-Triples statement per line (RDF 1.1): subject, predicate, object, '.', a comment.
_IRI = r"<[^<>\"{}|^`\x00-\x20]*>"  # UCHAR escapes pass: '\' is allowed by this class
_BNODE = r"_:[^\s<>\"]*[^\s<>\".]"
_LITERAL = r'"(?:[^"\\\n\r]|\\.)*"(?:\^\^' + _IRI + r"|@[A-Za-z]+(?:-[A-Za-z0-9]+)*)?"
_TRIPLE = re.compile(
    rf"\s*(?:{_IRI}|(?P<subject>{_BNODE}))\s*{_IRI}\s*"
    rf"(?:{_IRI}|(?P<object>{_BNODE})|{_LITERAL})\s*\.\s*(?:#.*)?"
)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|.)")
# The characters a SPARQL string cannot hold raw, written as SPARQL's own escapes.
_SPARQL_ECHAR = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r"}
# After expansion every backslash starts an ECHAR; find the escaped backslashes before a u/U.
_BACKSLASH_U = re.compile(r"\\\\([uU])|\\.")


@dataclass(frozen=True)
class PushTarget:
    """Where and how to push. ``password`` and ``token`` are kept out of ``repr``."""

    endpoint: str  # SPARQL 1.1 Update endpoint (used when graph_store is None)
    graph_store: str | None = None  # Graph Store Protocol endpoint, e.g. http://host:7878/store
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # Basic or Digest, as challenged
    token: str | None = field(default=None, repr=False)  # "Authorization: Bearer TOKEN"
    retries: int = 3  # extra attempts after a failure that may pass on retry
    timeout: float = 60.0  # seconds per request
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    batch_triples: int = 50_000  # SPARQL Update only: triples per INSERT DATA request

    def __post_init__(self) -> None:
        if (self.user is None) != (self.password is None):
            raise ValueError("give both user and password, or neither")
        if self.token is not None and self.user is not None:
            raise ValueError("give a token or a user and password, not both")
        if self.retries < 0 or self.timeout <= 0 or self.backoff < 0 or self.batch_triples < 1:
            raise ValueError("retries and backoff must be ≥ 0, timeout > 0, batch_triples ≥ 1")
        for url in (self.endpoint, self.graph_store):
            parts = urllib.parse.urlsplit(url or "http://unused")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an http(s) URL: {_redact(url or '')}")

    @property
    def url(self) -> str:
        """The URL requests go to: the graph store if there is one, else the endpoint."""
        return self.graph_store if self.graph_store is not None else self.endpoint


class PushError(Exception):
    """A graph that could not be pushed; the message says which, where, and what came back."""

    def __init__(
        self,
        message: str,
        *,
        graph: str | None = None,
        url: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.graph = graph
        self.url = url
        self.status = status


@dataclass(frozen=True)
class PushReport:
    """What a push did. ``requests`` counts every attempt, ``retries`` the repeated ones, and
    ``bytes`` the request bodies the server accepted (auth round trips are not counted)."""

    graphs: int
    triples: int
    bytes: int
    requests: int
    retries: int


def push_graphs(
    graphs: Sequence[tuple[str, Path]],
    target: PushTarget,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Load each (named graph IRI, N-Triples file) into ``target``, replacing the graph.

    Every IRI and file is checked before the first request, so a typo sends nothing.
    ``progress(done, total, iri)`` is called after each graph; ``sleep`` waits between
    retries (injectable, so tests need not wait).
    """
    for iri, path in graphs:
        if not _ABSOLUTE_IRI.fullmatch(iri):
            raise PushError(f"graph <{iri}> is not an absolute IRI; nothing was sent", graph=iri)
        if not path.is_file():
            raise PushError(f"graph <{iri}>: no such file {path}; nothing was sent", graph=iri)
    client = _Client(target, sleep)
    triples = 0
    for done, (iri, path) in enumerate(graphs, start=1):
        if target.graph_store is not None:
            triples += _put_graph(client, target.graph_store, iri, path)
        else:
            triples += _update_graph(client, target, iri, path)
        if progress is not None:
            progress(done, len(graphs), iri)
    return PushReport(len(graphs), triples, client.bytes, client.requests, client.retries)


def _put_graph(client: _Client, graph_store: str, iri: str, path: Path) -> int:
    """GSP ``PUT``: the file's bytes as they are; the server parses and replaces the graph."""
    body = path.read_bytes()  # in memory: urllib must be able to resend it (auth, retries)
    separator = "&" if "?" in graph_store else "?"
    url = f"{graph_store}{separator}graph={urllib.parse.quote(iri, safe='')}"
    client.send("PUT", url, NTRIPLES, body, iri)
    return sum(
        1 for line in body.splitlines() if line.strip() and not line.lstrip().startswith(b"#")
    )


def _update_graph(client: _Client, target: PushTarget, iri: str, path: Path) -> int:
    """SPARQL Update: DROP, then INSERT DATA batches. The file is read and checked first, so a
    malformed line fails before the DROP rather than leaving the graph half-loaded."""
    plain, with_blank_nodes = _read_ntriples(path, iri)
    client.send("POST", target.endpoint, SPARQL_UPDATE, f"DROP SILENT GRAPH <{iri}>".encode(), iri)
    for batch in _batches(plain, with_blank_nodes, target.batch_triples):
        text = f"INSERT DATA {{ GRAPH <{iri}> {{\n" + "\n".join(batch) + "\n} }"
        client.send("POST", target.endpoint, SPARQL_UPDATE, text.encode("utf-8"), iri)
    return len(plain) + len(with_blank_nodes)


def _read_ntriples(path: Path, iri: str) -> tuple[list[str], list[str]]:
    """The file's triples as SPARQL-safe lines, split into those without and with blank nodes.

    Blank node labels are scoped to one request, so every triple that has one must travel in
    the same INSERT DATA: otherwise ``_:b0`` in two batches would become two nodes.
    """
    plain: list[str] = []
    with_blank_nodes: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PushError(
            f"graph <{iri}>: {path} is not UTF-8 N-Triples ({error})", graph=iri
        ) from error
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _TRIPLE.fullmatch(stripped)
        if match is None:
            raise PushError(
                f"graph <{iri}>: {path}:{number} is not an N-Triples triple; nothing was sent "
                f"for this graph: {stripped[:80]}",
                graph=iri,
            )
        triple = _sparql_escapes(stripped)
        if match["subject"] or match["object"]:
            with_blank_nodes.append(triple)
        else:
            plain.append(triple)
    return plain, with_blank_nodes


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


def _batches(plain: list[str], with_blank_nodes: list[str], size: int) -> Iterator[list[str]]:
    """Batches of ``size`` triples; the blank-node triples all in one batch (of any size)."""
    for start in range(0, len(plain), size):
        yield plain[start : start + size]
    if with_blank_nodes:
        yield with_blank_nodes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a GET without its body: report it instead."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class _Client:
    """Sends one request with retries and counts what was sent."""

    def __init__(self, target: PushTarget, sleep: Callable[[float], None]) -> None:
        self.target = target
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.bytes = 0
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if target.user is not None and target.password is not None:
            # Answer whichever challenge the server sends: Basic (most stores) or Digest
            # (Virtuoso). Credentials go out only in answer to a challenge from this URL.
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(None, target.url, target.user, target.password)
            handlers += [
                urllib.request.HTTPBasicAuthHandler(passwords),
                urllib.request.HTTPDigestAuthHandler(passwords),
            ]
        self.opener = urllib.request.build_opener(*handlers)

    def send(self, method: str, url: str, content_type: str, body: bytes, graph: str) -> None:
        """Send until the server accepts, a failure is final, or the retries are used up."""
        headers = {"Content-Type": content_type}
        if self.target.token is not None:
            headers["Authorization"] = f"Bearer {self.target.token}"
        delay = self.target.backoff
        for attempt in range(self.target.retries + 1):
            if attempt:
                self.sleep(delay)
                delay *= 2
                self.retries += 1
            self.requests += 1
            request = urllib.request.Request(url, data=body, headers=headers, method=method)
            status, answer, retryable = self._attempt(request)
            if status in SUCCESS_STATUSES:
                self.bytes += len(body)
                return
            if not retryable:
                break
        raise PushError(
            f"pushing graph <{graph}> failed: {method} {_redact(url)} → "
            + (f"HTTP {status}" if status is not None else "no HTTP answer")
            + (f" after {attempt + 1} attempts" if attempt else "")
            + (f": {answer}" if answer else ""),
            graph=graph,
            url=_redact(url),
            status=status,
        )

    def _attempt(self, request: urllib.request.Request) -> tuple[int | None, str, bool]:
        """One request: (status or None, start of the answer, whether a retry may help)."""
        try:
            with self.opener.open(request, timeout=self.target.timeout) as response:
                answer = response.read()
                status: int = response.status
        except urllib.error.HTTPError as error:
            try:
                answer = error.read()
            except (OSError, http.client.HTTPException):
                answer = b""
            text = _start(answer) or str(error.reason)
            if 300 <= error.code < 400:
                text = f"redirected to {error.headers.get('Location')}; push to that URL instead"
            return error.code, text, error.code in RETRYABLE_STATUSES
        except ValueError as error:  # e.g. an auth challenge in a scheme urllib does not know
            return None, f"cannot send: {error}", False
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            return None, f"{type(error).__name__}: {reason}", True
        return status, _start(answer), False


def _start(answer: bytes) -> str:
    """The start of the server's answer on one line, enough to recognise the problem."""
    text = " ".join(answer.decode("utf-8", errors="replace").split())
    return text if len(text) <= ANSWER_CHARS else text[:ANSWER_CHARS] + "…"


def _redact(url: str) -> str:
    """The URL without any ``user:password@`` in it."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
