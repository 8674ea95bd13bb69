"""The commands that talk to servers: serve (the local endpoint) and push (into a remote store)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdflib import Graph


from kg.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNUSABLE,
    InvalidCorpus,
    Progress,
    ProgressBar,
    UnreadableInput,
    read_rdf,
    violations_text,
)


def serve_command(args: argparse.Namespace) -> int:
    import ipaddress
    import shutil
    import tempfile

    from kg.pipeline import STORE, build
    from kg.queries import list_queries
    from kg.query_pool import DataSource, QueryPool
    from kg.serve import LOOPBACK_HOSTS, Library, Limits, bind_socket, serve
    from kg.store import open_store

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not args.expose:
        raise UnreadableInput(
            f"--host {args.host} is not a loopback address: the endpoint would be reachable "
            "from other machines; add --expose if that is what you want"
        )
    for name, value in (("--timeout", args.timeout), ("--max-rows", args.max_rows),
                        ("--max-body", args.max_body), ("--workers", args.workers)):  # fmt: skip
        if value <= 0:
            raise UnreadableInput(f"{name} must be positive, got {value}")
    try:
        listener = bind_socket(args.host, args.port)
    except OSError as error:
        raise UnreadableInput(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
        ) from None
    snapshot = Path(tempfile.mkdtemp(prefix="kg-serve-"))
    try:
        if args.data:
            data = snapshot / "data.nq"
            read_rdf(args.data).serialize(data, format="nquads", encoding="utf-8")
            source = DataSource(files=(data,))
        else:
            outcome = build(args.corpus, args.build, formats=None, store=True,
                            progress=Progress(args.quiet), take_over=False)  # fmt: skip
            if not outcome.conforms:
                print(violations_text(outcome.violations, args.corpus), file=sys.stderr)
                raise InvalidCorpus()
            # The workers read a snapshot (hard links, instant), so a later kg build may
            # write the store while this server runs.
            open_store(args.build / STORE, read_only=True).backup(str(snapshot / "store"))
            source = DataSource(store=snapshot / "store")
        pool = QueryPool(source, size=args.workers, timeout=args.timeout)
        pool.start()
        library = Library({q.name: q for q in list_queries()})
        hosts = (*LOOPBACK_HOSTS, args.host, *args.allow_host)
        limits = Limits(args.timeout, args.max_rows, args.max_body,
                        tuple(args.allow_service), hosts)  # fmt: skip
        if not loopback:
            print(f"kg: warning: serving on {args.host}, beyond this machine", file=sys.stderr)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"kg: serving {pool.triples} triples in {len(pool.graphs)} graphs at "
            f"http://{shown}:{listener.getsockname()[1]}/sparql ({args.workers} workers, "
            f"{args.timeout:g} s per query)",
            file=sys.stderr,
            flush=True,
        )
        serve(pool, library, limits, listener)
    finally:
        listener.close()
        shutil.rmtree(snapshot, ignore_errors=True)
    return EXIT_OK


def remote_query(endpoint: str, ask: Callable[[Graph], Any]) -> Any:
    """``ask`` run on a remote SPARQL endpoint, its answer read whole; a URL that is not
    one, an endpoint that cannot be reached or that answers something other than SPARQL
    results is unusable input."""
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlsplit

    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in endpoint:
        raise UnreadableInput(f"--endpoint {endpoint!r}: not an http(s) URL")
    try:
        # POST: a library query can be longer than the 8 KB a URL may take (Oxigraph's limit)
        store = SPARQLStore(endpoint, returnFormat="json", method="POST_FORM")
        result = ask(Graph(store=store))
        result.bindings  # noqa: B018 (read the whole answer here, where errors are caught)
        return result
    except HTTPError as error:
        reason = f"HTTP {error.code} {error.reason}"
    except URLError as error:
        reason = f"cannot connect ({getattr(error.reason, 'strerror', None) or error.reason})"
    except (OSError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    except Exception as error:  # the answer is no SPARQL result the parser knows
        reason = f"its answer is not SPARQL results ({type(error).__name__}: {error})"
    reason = " ".join(reason.split())
    raise UnreadableInput(f"the endpoint {endpoint} did not answer: {reason[:300]}") from None


def push_command(args: argparse.Namespace) -> int:
    from kg.namespaces import data_namespace
    from kg.pipeline import build
    from kg.push import PushError, PushTarget, push_graphs

    try:  # before the build: a URL with a password in it is refused at once
        target = PushTarget(
            endpoint=args.endpoint,
            graph_store=args.graph_store,
            query_endpoint=args.query_endpoint,
            user=args.user,
            password=args.password or os.environ.get("KG_PUSH_PASSWORD"),
            token=args.token or os.environ.get("KG_PUSH_TOKEN"),
            retries=args.retries,
            timeout=args.timeout,
            deadline=args.deadline,
            batch_triples=args.batch_triples,
        )
    except ValueError as error:
        print(f"kg: push refused: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    progress = Progress(args.quiet)
    outcome = build(args.corpus, args.build, formats=None, store=False, progress=progress,
                    take_over=False)  # fmt: skip
    if not outcome.conforms:
        print(violations_text(outcome.violations, args.corpus), file=sys.stderr)
        return EXIT_INVALID
    graphs = [(g.name, g.path) for g in outcome.graph_files()]
    namespace = str(data_namespace()) + "graph/"  # every graph claimkg names, and no other
    try:
        report = push_graphs(
            graphs, target, ProgressBar(args.quiet), prune=namespace if args.prune else None
        )
    except PushError as error:
        print(f"kg: push failed: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(
        f"pushed {report.graphs} graphs, {report.triples} triples ({report.bytes:,} bytes) "
        f"in {report.requests} requests ({report.retries} retried) to "
        f"{args.graph_store or args.endpoint}"
        + (f"; batches of {report.batch_triples} triples" if report.batch_triples else "")
    )
    if report.pruned:
        print(f"removed {len(report.pruned)} graph(s) the corpus no longer has:")
        for iri in report.pruned:
            print(f"  <{iri}>")
    for mismatch in report.mismatches:
        print(f"kg: {mismatch}", file=sys.stderr)
    if report.mismatches:
        return EXIT_INVALID
    print(f"checked: the server holds each graph's {report.triples} triples, as the corpus does")
    return EXIT_OK
