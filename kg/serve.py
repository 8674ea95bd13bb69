"""Stage 5 — a read-only SPARQL 1.1 Protocol endpoint that is safe to expose.

Every query is read by :mod:`kg.sparql_guard` (no ``SERVICE`` unless allow-listed, no
``FROM`` naming anything but the dataset's own graphs, no updates) and answered by Oxigraph in
a worker process (:mod:`kg.query_pool`) with a hard time limit and a row cap, so a heavy or
hostile query never blocks other clients. The query page (YASGUI) and its assets are served
from this package, so it works with no network. ``/queries`` lists the library and
``/queries/NAME?param=…`` answers one question. See
``docs/decisions/0010-endpoint-on-oxigraph-workers.md``.
"""

from __future__ import annotations

import html
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kg import __version__
from kg.queries import NamedQuery, QueryError
from kg.query_pool import GRAPH_TYPES, SELECT_TYPES, Answer, Job, QueryFailed, QueryPool
from kg.sparql_guard import RefusedQuery, check_allowed, inspect_query

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
STATIC = Path(__file__).parent / "static"

# Accepted media types per query form, each mapped to the type of the answer.
_SELECT_ACCEPT = {t: t for t in SELECT_TYPES} | {"application/*": "application/sparql-results+json"}
_GRAPH_ACCEPT = {t: t for t in GRAPH_TYPES} | {
    "application/turtle": "text/turtle",
    "application/x-turtle": "text/turtle",
    "text/n3": "text/turtle",
    "text/rdf+n3": "text/turtle",
    "application/x-json+ld": "application/ld+json",
    "application/json": "application/ld+json",
    "application/xml": "application/rdf+xml",
}
_DEFAULT_TYPE = {"select": "application/sparql-results+json", "graph": "text/turtle"}

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


@dataclass(frozen=True)
class Limits:
    """What one request may cost."""

    timeout: float = 30.0
    max_rows: int = 10_000
    max_body: int = 1 << 20
    allowed_services: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS


@dataclass
class Library:
    """The query library, read and parsed once when the server starts."""

    queries: dict[str, NamedQuery] = field(default_factory=dict)

    def listing(self) -> list[dict[str, Any]]:
        return [
            {
                "name": q.name,
                "summary": q.summary,
                "tags": list(q.tags),
                "parameters": [vars(p) for p in q.parameters],
                "url": f"/queries/{q.name}",
                "query": q.bound_text(),
            }
            for q in self.queries.values()
        ]


class _HostAllowList:
    """Answer only requests whose ``Host`` header names this server (against DNS rebinding)."""

    def __init__(self, app: ASGIApp, hosts: Collection[str]) -> None:
        self.app, self.hosts = app, {h.lower().strip("[]") for h in hosts}

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] == "http":
            raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            host = raw[1 : raw.find("]")] if raw.startswith("[") else raw.rsplit(":", 1)[0]
            if host not in self.hosts:
                response = PlainTextResponse(
                    "Host header not allowed (kg serve --allow-host NAME adds one)\n", 400
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _form(raw: bytes, what: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` decoded once, as UTF-8; anything else is the client's error."""
    try:
        return urllib.parse.parse_qsl(
            raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest(f"the {what} is not valid percent-encoded UTF-8") from None


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _BadRequest(f"request body over the limit of {limit} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BadRequest(f"request body over the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _one(params: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise _BadRequest(f"give '{name}' once, not {len(values)} times")
    return values[0] if values else None


async def _protocol_request(
    request: Request, limits: Limits
) -> tuple[str | None, list[tuple[str, str]]]:
    """The query string and the protocol parameters of a GET or POST, decoded once."""
    params = _form(request.scope.get("query_string", b""), "query string")
    if request.method == "POST":
        body = await _body(request, limits.max_body)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "application/x-www-form-urlencoded":
            params += _form(body, "form body")
        elif media_type == "application/sparql-query":
            try:
                params.append(("query", body.decode("utf-8")))
            except UnicodeDecodeError:
                raise _BadRequest("the query is not valid UTF-8") from None
        elif media_type == "application/sparql-update":
            raise _BadRequest("this endpoint is read-only: SPARQL updates are refused", 403)
        else:
            raise _BadRequest(
                "POST a query as application/sparql-query or application/x-www-form-urlencoded",
                415,
            )
    if _one(params, "update") is not None:
        raise _BadRequest("this endpoint is read-only: SPARQL updates are refused", 403)
    return _one(params, "query"), params


def negotiate(accept: str, form: str) -> str:
    """The answer's media type for an ``Accept`` header and a query form (406 if none fits)."""
    kind = "select" if form in ("SELECT", "ASK") else "graph"
    table = _SELECT_ACCEPT if kind == "select" else _GRAPH_ACCEPT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        quality = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if pieces[0] and quality > 0:
            ranked.append((-quality, position, pieces[0].lower()))
    if not ranked:
        return _DEFAULT_TYPE[kind]
    for _, _, media_type in sorted(ranked):
        if media_type in ("*/*", "text/*") and (kind == "graph" or media_type == "*/*"):
            return _DEFAULT_TYPE[kind]
        if media_type in table:
            return table[media_type]
    offered = ", ".join(sorted(t for t in table if "*" not in t))
    raise _BadRequest(f"cannot answer a {form} query as {accept!r}; offered: {offered}", 406)


def _answer_response(answer: Answer, limits: Limits) -> Response:
    headers = {"X-Claimkg-Rows": str(answer.rows)}
    if answer.truncated:
        headers["X-Claimkg-Truncated"] = f"the first {limits.max_rows} rows only (--max-rows)"
    media_type = answer.media_type
    if media_type.startswith("text/") or media_type.endswith("json"):
        media_type += "; charset=utf-8"
    return Response(answer.body, headers=headers, media_type=media_type)


def create_app(pool: QueryPool, library: Library, limits: Limits) -> ASGIApp:
    """The web application: ``/sparql`` (protocol and query page), ``/queries``, ``/graphs``."""
    app = FastAPI(
        title="claimkg SPARQL endpoint",
        description="The medical claims of the claimkg corpus, read-only.",
        version=__version__,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    own_graphs = frozenset(pool.graphs)

    async def run(query: str, request: Request, params: Sequence[tuple[str, str]]) -> Response:
        shape = inspect_query(query)
        check_allowed(shape, own_graphs, limits.allowed_services)
        defaults = tuple(v for k, v in params if k == "default-graph-uri")
        named = tuple(v for k, v in params if k == "named-graph-uri")
        for graph in (*defaults, *named):
            if graph not in own_graphs:
                raise _BadRequest(f"<{graph}>: not a graph of this dataset (GET /graphs)")
        job = Job(
            query=query,
            form=shape.form,
            media_type=negotiate(request.headers.get("accept", ""), shape.form),
            max_rows=limits.max_rows,
            union_default_graph=not (shape.default_graphs or shape.named_graphs),
            default_graphs=defaults,
            named_graphs=named,
        )
        return _answer_response(await pool.run(job, request.is_disconnected), limits)

    def refusal(error: Exception) -> Response:
        status = getattr(error, "status", 400)
        return PlainTextResponse(f"{error}\n", status_code=status)

    @app.api_route("/sparql", methods=["GET", "POST"], summary="SPARQL 1.1 Protocol (read-only)")
    async def sparql(request: Request) -> Response:
        try:
            query, params = await _protocol_request(request, limits)
            if query is None:
                if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                    return Response(_query_page(), media_type="text/html; charset=utf-8")
                raise _BadRequest("no 'query' parameter (GET /sparql in a browser for the page)")
            return await run(query, request, params)
        except (_BadRequest, RefusedQuery, QueryFailed) as error:
            return refusal(error)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/sparql")

    @app.get("/graphs", summary="The named graphs of the dataset: one per article, and shared")
    def graphs() -> dict[str, Any]:
        return {"graphs": sorted(own_graphs), "triples": pool.triples}

    @app.get("/queries", summary="The query library: each question and its parameters")
    def queries() -> list[dict[str, Any]]:
        return library.listing()

    @app.get("/queries/{name}", summary="Answer one question of the library")
    async def answer(name: str, request: Request) -> Response:
        if name not in library.queries:
            return PlainTextResponse(f"no query named '{name}' (GET /queries)\n", 404)
        try:
            params = _form(request.scope.get("query_string", b""), "query string")
            given: dict[str, str] = {}
            for key, value in params:
                if key in given:
                    raise _BadRequest(f"give '{key}' once")
                given[key] = value
            text = library.queries[name].bound_text(given)
            return await run(text, request, [])
        except QueryError as error:
            return PlainTextResponse(f"{error}\n", 400)
        except (_BadRequest, RefusedQuery, QueryFailed) as error:
            return refusal(error)

    return _HostAllowList(app, limits.allowed_hosts)


def _query_page() -> str:
    return (
        (STATIC / "query.html")
        .read_text(encoding="utf-8")
        .replace("{{version}}", html.escape(__version__))
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """The socket, bound before anything starts (a busy port fails here, cleanly); it listens
    only once the workers are ready."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out as headers then body: without this, Nagle's algorithm meets the
    # client's delayed ACK and every answer waits ~40 ms (accepted sockets inherit it).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    return listener


def serve(pool: QueryPool, library: Library, limits: Limits, listener: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); the workers stop with the server."""
    import uvicorn  # the server only: imported when serving, not by the app's tests

    config = uvicorn.Config(
        create_app(pool, library, limits),
        log_level="warning",
        limit_concurrency=256,
        timeout_graceful_shutdown=2,
        h11_max_incomplete_event_size=64 * 1024,
    )
    server = uvicorn.Server(config)
    listener.listen(128)
    try:
        server.run(sockets=[listener])
    finally:
        pool.close()
