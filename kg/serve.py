"""Stage 5 — a read-only SPARQL 1.1 Protocol endpoint over the graph, and the query library
as plain HTTP resources.

The protocol (GET/POST, ``application/sparql-query`` and form bodies, content negotiation,
the YASGUI query page, refusing updates) is rdflib-endpoint's; claimkg adds TSV results,
``/queries`` (the library, JSON) and ``/queries/NAME?param=…`` (one question, SPARQL JSON
results unless the ``Accept`` header asks for CSV, TSV or XML). See
``docs/decisions/0004-sparql-endpoint.md``.
"""

from __future__ import annotations

from typing import IO, Any

import rdflib_endpoint.utils as endpoint_formats
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from rdflib import Graph, plugin
from rdflib.query import Result, ResultSerializer
from rdflib_endpoint import SparqlRouter
from rdflib_endpoint.utils import QueryExample

from kg import __version__
from kg.queries import QueryError, find_query, list_queries, run_query

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
TSV = "text/tab-separated-values"


class TSVResultSerializer(ResultSerializer):
    """SPARQL 1.1 TSV results: a header of ``?variables``, terms in N-Triples syntax."""

    def serialize(self, stream: IO[bytes], encoding: str = "utf-8", **kwargs: Any) -> None:
        variables = self.result.vars or []
        lines = ["\t".join(f"?{v}" for v in variables)]
        for row in self.result:
            lines.append("\t".join("" if t is None else t.n3() for t in row))  # type: ignore[union-attr]
        stream.write(("\n".join(lines) + "\n").encode(encoding))


plugin.register("tsv", ResultSerializer, __name__, "TSVResultSerializer")
endpoint_formats.SPARQL_RESULT_CONTENT_TYPE_TO_RDFLIB_FORMAT.setdefault(TSV, "tsv")

_RESULT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    TSV: "tsv",
}


def _negotiate(accept: str) -> str:
    """The result media type for an Accept header; SPARQL JSON unless another is asked for."""
    for part in accept.split(","):
        media_type = part.split(";")[0].strip()
        if media_type in _RESULT_FORMATS:
            return media_type
    return "application/sparql-results+json"


def _serialise(result: Result, media_type: str) -> bytes:
    serialised = result.serialize(format=_RESULT_FORMATS[media_type])
    assert serialised is not None
    return serialised if isinstance(serialised, bytes) else serialised.encode("utf-8")


def create_app(graph: Graph) -> FastAPI:
    """The web application: ``/sparql`` (protocol + query page) and ``/queries``."""
    library = {q.name: q for q in list_queries()}
    app = FastAPI(
        title="claimkg SPARQL endpoint",
        description="The medical claims of the claimkg corpus, read-only.",
        version=__version__,
    )
    app.include_router(
        SparqlRouter(
            path="/sparql",
            graph=graph,
            title="claimkg SPARQL endpoint",
            description="Claims, quotes, speakers, citations and context, read-only.",
            version=__version__,
            enable_update=False,
            example_queries={q.summary: QueryExample(query=q.text) for q in library.values()},
        )
    )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/sparql")

    @app.get("/queries", summary="The query library: each question and its parameters")
    def queries() -> list[dict[str, Any]]:
        return [
            {
                "name": q.name,
                "summary": q.summary,
                "tags": list(q.tags),
                "parameters": [vars(p) for p in q.parameters],
                "url": f"/queries/{q.name}",
            }
            for q in library.values()
        ]

    @app.get("/queries/{name}", summary="Answer one question of the library")
    def answer(name: str, request: Request) -> Response:
        if name not in library:
            return JSONResponse({"message": f"no query named '{name}'"}, status_code=404)
        try:
            result = run_query(graph, find_query(name), dict(request.query_params))
        except QueryError as error:
            return JSONResponse({"message": str(error)}, status_code=400)
        media_type = _negotiate(request.headers.get("accept", ""))
        return Response(_serialise(result, media_type), media_type=media_type)

    return app


def serve(graph: Graph, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn  # the server only: imported when serving, not by the app's tests

    uvicorn.run(create_app(graph), host=host, port=port, log_level="info")
