"""The ``kg`` parser: every command's options, and the shared ones (--debug, -q).

Only argparse and the standard library here, so ``kg --help`` answers at once; each
command's handler imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.outputs import FORMATS as RDF_OUTPUTS
from kg.outputs import OUTPUT_FILES, UNION_FILES

if TYPE_CHECKING:
    pass

from kg.cli.answer import COMPARISONS, compare_command, graph_command, plot_command, query_command
from kg.cli.common import CONTRACT, DefaultBase
from kg.cli.curate import (
    build_command,
    check_command,
    coverage_command,
    links_command,
    nanopub_command,
    validate_command,
)
from kg.cli.publish import push_command, serve_command


class _Lazy(Sequence[str]):
    """Choices named by a module the command line imports only when they are needed (to
    check a value given, or to show a command's help; give the option a metavar, which
    argparse would otherwise make from the choices at once)."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, value: object) -> bool:
        return value in self._load()


def _query_formats() -> Sequence[str]:
    from kg.queries import FORMATS

    return FORMATS


def _engines() -> Sequence[str]:
    from kg.store import ENGINES

    return ENGINES


def _base_iri(raw: str) -> str:
    """--base-iri: an absolute http(s) IRI ending in / or #, under which IRIs are minted."""
    from urllib.parse import urlsplit

    shown = raw if len(raw) <= 80 else raw[:79] + "…"
    bad = next((c for c in raw if c.isspace() or c in '<>"{}|\\^`'), None)
    parts = urlsplit(raw) if bad is None else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not an absolute http(s) IRI"
            + (f" (it holds {bad!r})" if bad is not None else "")
            + "; give one such as https://example.org/claimkg/"
        )
    if not raw.endswith(("/", "#")):
        raise argparse.ArgumentTypeError(
            f"{shown!r} must end in / or # (claimkg appends vocab/…, id/… to it)"
        )
    return raw


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Version(argparse.Action):
    """--version, reading the installed version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from kg import __version__

        parser.exit(message=f"claimkg {__version__}\n")


def command_line() -> argparse.ArgumentParser:
    """The ``kg`` parser: every command, with the options they all share."""
    parser = _parser()
    _common_options(parser)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    """--debug (also before the command) and -q/--quiet on every command; the contract in
    every command's help."""
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (also after COMMAND)"
    )
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in action.choices.values():
            options = command._option_string_actions
            if "-q" not in options and "--quiet" not in options:
                command.add_argument(
                    "-q", "--quiet", action="store_true", help="no progress messages on stderr"
                )
            if "--debug" not in options:
                command.add_argument(
                    "--debug", action="store_true", default=argparse.SUPPRESS,
                    help="show the traceback of an error",
                )  # fmt: skip
            command.epilog = command.epilog or CONTRACT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kg",
        description=(
            "claimkg: the medical claims of published articles as a validated RDF knowledge "
            "graph, every value traced to an exact quote of its source."
        ),
        epilog=CONTRACT,
    )
    parser.add_argument("--version", action=_Version, help="show claimkg's version and exit")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    def corpus_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--corpus",
            type=Path,
            metavar="DIR",
            help="folder of curated articles (default: the corpus bundled with claimkg)",
        )

    def data_option(command: argparse.ArgumentParser, verb: str) -> None:
        command.add_argument(
            "--data", type=Path, nargs="+", metavar="FILE",
            help=f"{verb} these RDF files instead of the graph built from the corpus",
        )  # fmt: skip

    def build_folder_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--build",
            type=Path,
            default=Path(os.environ.get("KG_BUILD", "build")),
            metavar="DIR",
            help="build folder whose store is read, brought up to date with the corpus first "
            "(default: $KG_BUILD or build/)",
        )

    def build_option(command: argparse.ArgumentParser) -> None:
        build_folder_option(command)
        command.add_argument(
            "--engine",
            choices=_Lazy(_engines),
            metavar="ENGINE",
            default="oxigraph",
            help="oxigraph: the embedded store (default; numbers come back as values, 0.50 as "
            "0.5); rdflib: rdflib's own engine on the same graph",
        )

    def base_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--base-iri",
            type=_base_iri,
            default=DefaultBase(),
            metavar="IRI",
            help="base IRI of claimkg's vocabulary and data (default: %(default)s)",
        )

    build = commands.add_parser(
        "build",
        help="curated input → validated graph, in every serialisation of --format",
        description=(
            "Load the curated corpus, build one named graph per article, validate each "
            "against the SHACL shapes and write: "
            + "; ".join(f"{n} ({d})" for n, d in (OUTPUT_FILES | UNION_FILES).items())
            + "; nodes.tsv and edges.tsv (KGX TSV: entities and their claim-backed edges)"
            + "; and the embedded store (DIR/store, Oxigraph) that kg query and kg serve read. "
            "Incremental: an article whose inputs (text, curated files, entities, shapes, "
            "code) did not change is neither rebuilt nor revalidated (DIR/cache). "
            "Nothing is written when the input is unusable (exit 2) or the graph violates "
            "the shapes (exit 1)."
        ),
    )
    corpus_option(build)
    base_option(build)
    build.add_argument(
        "--out",
        type=Path,
        default=Path("build"),
        metavar="DIR",
        help="output folder (default: build/)",
    )
    build.add_argument(
        "--format",
        type=_formats,
        default=tuple(RDF_OUTPUTS),
        metavar="FMT[,FMT…]",
        help=f"files to write, of {','.join(RDF_OUTPUTS)}, or none (default: all; each is "
        "written from the cached per-article files, none from the whole graph in memory). "
        "'none' updates only the store and the cache: the fastest rebuild after an edit, "
        "since every corpus-wide file is rewritten whole; a later --format writes the files "
        "from the cache without rebuilding, and a format left out is removed, not left stale",
    )
    build.add_argument(
        "-j", "--jobs", type=_positive, metavar="N", help="worker processes (default: one per core)"
    )
    build.add_argument("--no-store", action="store_true", help="do not update DIR/store")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    build.set_defaults(run=build_command)

    validate = commands.add_parser(
        "validate",
        help="validate RDF files against claimkg's shapes",
        description=(
            "Validate the union of the given RDF files (Turtle, N-Triples, JSON-LD, RDF/XML, "
            "TriG, N-Quads; the format is taken from the extension) against the shapes. "
            "Exit 0 conforms, 1 violations (one line each, naming the claim and its curated "
            "line), 2 a file cannot be read or parsed."
        ),
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    base_option(validate)
    validate.add_argument(
        "--corpus", type=Path, metavar="DIR",
        help="the corpus folder the graph was built from, so that violations name its curated "
        "files from here (default: the corpus bundled with claimkg, where it has the file)",
    )  # fmt: skip
    validate.set_defaults(run=validate_command)

    coverage = commands.add_parser(
        "coverage",
        help="numbers of the article body that no claim covers",
        description=(
            "List every number printed in each article's body that is neither a number of a "
            "claim whose quote contains it nor excluded in coverage.yaml with a reason. "
            "Exit 0 when there is none, 1 otherwise."
        ),
    )
    corpus_option(coverage)
    coverage.add_argument(
        "--show-excluded", action="store_true", help="also list the exclusions and their reasons"
    )
    coverage.set_defaults(run=coverage_command)

    query = commands.add_parser(
        "query",
        help="answer a question from the query library (or any .rq file)",
        description=(
            "Run a query of the library (by NAME, see --list) or any SPARQL .rq FILE against "
            "the graph built from the corpus (or against --data files). Parameters are bound "
            "as SPARQL variables: kg query claims-citing --param ref=10. Exit 0 ok, 2 a query "
            "that does not parse (its line and column are shown) or a bad parameter."
        ),
    )
    query.add_argument(
        "query", nargs="?", metavar="NAME|FILE", help="a library query or a .rq file"
    )
    query.add_argument("--list", action="store_true", help="show every query's name and question")
    query.add_argument(
        "--format",
        choices=_Lazy(_query_formats),
        default="table",
        metavar="FORMAT",
        help="output: %(choices)s (default: %(default)s)",
    )
    query.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="bind a parameter"
    )
    query.add_argument(
        "--endpoint", metavar="URL",
        help="ask this SPARQL endpoint instead (e.g. a server kg push loaded; its default "
        "graph must be the union of the named graphs)",
    )  # fmt: skip
    data_option(query, "Query")
    corpus_option(query)
    build_option(query)
    query.set_defaults(run=query_command)

    serve = commands.add_parser(
        "serve",
        help="a read-only SPARQL 1.1 Protocol endpoint over the graph",
        description=(
            "Serve the graph built from the corpus (or --data files) at http://HOST:PORT/sparql "
            "(GET and POST; SELECT/ASK as SPARQL JSON, XML, CSV or TSV and CONSTRUCT/DESCRIBE "
            "as Turtle, N-Triples, JSON-LD or RDF/XML, by Accept; a query page for browsers "
            "that works offline), the query library at /queries, each question at "
            "/queries/NAME?param=VALUE and the named graphs at /graphs. Every query runs on "
            "Oxigraph in a worker process, stopped at --timeout; answers are capped at "
            "--max-rows (the X-Claimkg-Truncated header says so). Updates are refused; "
            "SERVICE is refused unless --allow-service names the endpoint; FROM may name "
            "only the dataset's own graphs. Binds to 127.0.0.1; any other address needs "
            "--expose. Stop with Ctrl-C."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--expose", action="store_true",
        help="allow --host to be a non-loopback address (the endpoint becomes reachable from "
        "other machines; put it behind a proxy you trust)",
    )  # fmt: skip
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also accept requests whose Host header is NAME (default: localhost, 127.0.0.1, "
        "::1 and --host); repeatable",
    )  # fmt: skip
    serve.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS",
        help="stop a query after this long (default 30); the client gets 503",
    )  # fmt: skip
    serve.add_argument(
        "--max-rows", type=int, default=10_000, metavar="N",
        help="answer at most N rows or triples per query (default 10000)",
    )  # fmt: skip
    serve.add_argument(
        "--max-body", type=int, default=1 << 20, metavar="BYTES",
        help="refuse request bodies larger than this with 413 (default 1 MiB)",
    )  # fmt: skip
    serve.add_argument(
        "--workers", type=int, default=max(2, os.cpu_count() or 2), metavar="N",
        help="queries answered at once, one worker process each (default: the number of CPUs, "
        "at least 2)",
    )  # fmt: skip
    serve.add_argument(
        "--allow-service", action="append", default=[], metavar="URL",
        help="let SERVICE <URL> reach this remote SPARQL endpoint (exact IRI; repeatable); "
        "each remote call counts against --timeout. Without it, SERVICE is refused",
    )  # fmt: skip
    data_option(serve, "Serve")
    corpus_option(serve)
    build_folder_option(serve)
    serve.set_defaults(run=serve_command)

    compare = commands.add_parser(
        "compare",
        help="compare an endpoint across CDK4/6-inhibitor trials, with each figure's caveats",
        description=(
            "Compare an endpoint across trials from the external evidence (and the article, "
            "for IC50): ENDPOINT is one of " + ", ".join(COMPARISONS) + ". Every row carries "
            "its caveats as columns: assessor, analysis population, analysis, data cut-off, "
            "source tier, and whether it compares across trials. The same tables are the "
            "library queries compare-ENDPOINT."
        ),
    )
    compare.add_argument(
        "endpoint", choices=COMPARISONS, metavar="ENDPOINT", help=", ".join(COMPARISONS)
    )
    compare.add_argument(
        "--format",
        choices=_Lazy(_query_formats),
        default="table",
        metavar="FORMAT",
        help="output: %(choices)s (default: %(default)s)",
    )
    corpus_option(compare)
    build_option(compare)
    compare.set_defaults(run=compare_command)

    plot = commands.add_parser(
        "plot",
        help="draw the PFS forest plot, IC50 by target and the citation-support graph",
        description=(
            "Draw, as PNG and SVG: a forest plot of PFS hazard ratios with confidence intervals "
            "across the CDK4/6-inhibitor trials (external evidence), IC50 by inhibitor and "
            "target, and the citation-support graph."
        ),
    )
    plot.add_argument(
        "--out", type=Path, default=Path("build/plots"), metavar="DIR", help="default build/plots"
    )
    corpus_option(plot)
    build_option(plot)
    plot.set_defaults(run=plot_command)

    check = commands.add_parser(
        "check",
        help="recompute derived claims and weigh percentages against patient counts",
        description=(
            "Recompute every derived claim from the claims it derives from (1 - HR, ratios, "
            "comparisons, differences) within the rounding the text uses, and report which "
            "percentages are a whole number of the denominator their claim states (printed, "
            "or the same trial's patients with the same arm, population and subgroup). The "
            "checks are "
            "the library queries check-derivations and check-proportions. Exit 0 when every "
            "derivation is consistent, 1 otherwise."
        ),
    )
    corpus_option(check)
    build_option(check)
    data_option(check, "Check")
    check.set_defaults(run=check_command)

    graph_parser = commands.add_parser(
        "graph",
        help="graph analytics: citation support, unsupported claims, paths between entities",
        description=(
            "Build networkx views of the graph (citation support: reference → claim; "
            "provenance: claim → quote → section → article, claim → speaker; biomedical: "
            "entity → entity with the claims behind each edge) and report which references "
            "support the most claims, which claims cite nothing, and, with --path, the chain "
            "of entities between two with the claims along it. --graphml DIR exports the views."
        ),
    )
    corpus_option(graph_parser)
    build_option(graph_parser)
    graph_parser.add_argument(
        "--path", nargs=2, metavar=("FROM", "TO"), help="entity ids or labels"
    )
    graph_parser.add_argument(
        "--graphml", type=Path, metavar="DIR", help="write the views as GraphML"
    )
    data_option(graph_parser, "Analyse")
    graph_parser.set_defaults(run=graph_command)

    push = commands.add_parser(
        "push",
        help="load the corpus, one named graph per article, into a SPARQL 1.1 server",
        description=(
            "Bring the build folder up to date with the corpus, then replace every named graph "
            "(one per article, the entities, the external evidence) on an existing SPARQL 1.1 "
            "server. Each graph is loaded into a staging graph beside it (with --graph-store by "
            "Graph Store Protocol PUT, else by SPARQL Update INSERT DATA on --endpoint), its "
            "triple count on the server checked, then swapped in by one guarded Update request: "
            "readers see every graph old or new, never missing, and an interrupted push leaves "
            "every graph old or new. Graphs under claimkg's graph namespace that the corpus no "
            "longer has are removed and listed (--no-prune keeps them); nothing outside it is "
            "touched. Last, every graph's triple count on the server is checked again. "
            "Failures that may pass (connection errors, 429, 5xx) are retried with exponential "
            "backoff; a batch refused as too large is halved. Credentials go in --user and "
            "$KG_PUSH_PASSWORD (or --password), a token in $KG_PUSH_TOKEN (or --token), never "
            "in a URL. Exit 0 pushed and checked, 1 the corpus violates the shapes or a count "
            "on the server differs, 2 unusable input, unreachable server or a refused push."
        ),
    )
    push.add_argument(
        "--endpoint", required=True, metavar="URL",
        help="SPARQL 1.1 Update endpoint (e.g. http://127.0.0.1:7878/update, Virtuoso's "
        "http://HOST:8890/sparql-auth)",
    )  # fmt: skip
    push.add_argument(
        "--graph-store", metavar="URL",
        help="Graph Store Protocol endpoint to load by (e.g. http://127.0.0.1:7878/store, "
        "Virtuoso's http://HOST:8890/sparql-graph-crud-auth); the swap still uses --endpoint",
    )  # fmt: skip
    push.add_argument(
        "--query-endpoint", metavar="URL",
        help="SPARQL query endpoint for the counts and the prune (default: --endpoint, or "
        "its sibling …/query when --endpoint ends in /update, as on Oxigraph and Fuseki)",
    )  # fmt: skip
    push.add_argument("--user", metavar="NAME", help="user for Basic or Digest authentication")
    push.add_argument("--password", metavar="SECRET", help="password (or $KG_PUSH_PASSWORD)")
    push.add_argument("--token", metavar="TOKEN", help="bearer token (or $KG_PUSH_TOKEN)")
    push.add_argument(
        "--prune", action=argparse.BooleanOptionalAction, default=True,
        help="remove the server's graphs under claimkg's graph namespace that the corpus "
        "no longer has, and leftover staging graphs (default: on)",
    )  # fmt: skip
    push.add_argument(
        "--batch-triples", type=int, metavar="N",
        help="triples per request (default: 1000 by SPARQL Update, a whole graph per PUT); "
        "halved whenever the server refuses a batch as too large",
    )  # fmt: skip
    push.add_argument(
        "--retries", type=int, default=3, metavar="N",
        help="extra attempts after a failure that may pass (default 3)",
    )  # fmt: skip
    push.add_argument(
        "--timeout", type=float, default=60.0, metavar="S",
        help="seconds each request may take, from connecting to the answer's last byte "
        "(default 60)",
    )  # fmt: skip
    push.add_argument(
        "--deadline", type=float, metavar="S",
        help="seconds the whole push may take (default: no limit); when it passes, the push "
        "stops with every graph old or new",
    )  # fmt: skip
    push.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    corpus_option(push)
    build_folder_option(push)
    push.set_defaults(run=push_command)

    links = commands.add_parser(
        "links",
        help="entities with their external identifiers (--check: validate every CURIE)",
        description=(
            "Print each entity, vocabulary term and reference that ontology/mappings.sssom.tsv "
            "links to external identifiers. With --check, validate offline instead: every "
            "prefix known to bioregistry with the IRI form public RDF uses (its RDF provider, "
            "else Bio2RDF's or identifiers.org; docs/decisions/0009, 0015), every local id "
            "matching its prefix's pattern, every subject existing in claimkg. Exit 0 ok, "
            "1 problems."
        ),
    )
    corpus_option(links)
    links.add_argument("--check", action="store_true", help="validate the mappings offline")
    links.add_argument("--mappings", type=Path, metavar="FILE", help="another SSSOM TSV file")
    links.add_argument(
        "--suggest", action="store_true",
        help="print candidate links (SSSOM rows) from curated offline resources "
        "(drug-named-entity-recognition, biomappings); contradictions go to stderr, exit 1",
    )  # fmt: skip
    links.add_argument(
        "--gaps", action="store_true",
        help="print the gap rows mapping-gaps.tsv still lacks: main identifiers of an "
        "entity's kind that no link gives and no gap row explains (exit 1 if any)",
    )  # fmt: skip
    links.add_argument(
        "--entity", action="append", metavar="ID", help="only this entity (repeatable)"
    )
    links.add_argument(
        "--min-confidence", type=float, default=0.0, metavar="X", help="with --suggest"
    )
    links.add_argument(
        "--accept", action="store_true",
        help="with --suggest: append the uncontradicted candidates to the mapping file",
    )  # fmt: skip
    links.set_defaults(run=links_command)

    nanopub = commands.add_parser(
        "nanopub",
        help="sign the nanopublications (trusty URIs, RSA signatures) for the nanopub servers",
        description=(
            "Build the corpus, then sign every claim's nanopublication with nanopub-py: "
            "dct:created (now) and dct:creator go into its publication info, the RSA key "
            "KEY (PEM, or nanopub's base64 id_rsa) signs it and it gets its trusty URI. "
            "Writes DIR/ARTICLE/CLAIM.trig (DIR replaced as a whole). The build's own "
            "nanopublications stay unsigned, under their stable IRIs. Exit 0 signed, "
            "1 the corpus violates the shapes, 2 unusable input or key."
        ),
    )
    corpus_option(nanopub)
    nanopub.add_argument("--sign", type=Path, required=True, metavar="KEY", help="RSA private key")
    nanopub.add_argument(
        "--out", type=Path, default=Path("build/nanopubs-signed"), metavar="DIR",
        help="output folder (default: build/nanopubs-signed/)",
    )  # fmt: skip
    nanopub.add_argument(
        "--signer", default="https://w3id.org/claimkg/id/agent/claimkg", metavar="IRI",
        help="who signs (an ORCID IRI for the public servers; default: claimkg's agent IRI)",
    )  # fmt: skip
    nanopub.add_argument("--name", default="claimkg", help="the signer's name")
    nanopub.add_argument("--claim", action="append", metavar="ID", help="only this claim")
    nanopub.set_defaults(run=nanopub_command)
    return parser


def _formats(raw: str) -> tuple[str, ...]:
    chosen = tuple(f.strip() for f in raw.split(",") if f.strip())
    if chosen == ("none",):  # the store and the cache only (kg.pipeline.build)
        return ()
    if "none" in chosen:
        raise argparse.ArgumentTypeError(f"{raw!r}: 'none' (no file) stands alone")
    unknown = [f for f in chosen if f not in RDF_OUTPUTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(unknown) or repr(raw)}; choose from "
            f"{','.join(RDF_OUTPUTS)}, or none"
        )
    return chosen
