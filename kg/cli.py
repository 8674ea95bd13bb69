"""The ``kg`` command line: one subcommand per user task, one error contract for all.

Exit codes (``CONTRACT``, shown by ``kg --help``): 0 success; 1 data problems (shape
violations, inconsistent derivations, uncovered numbers, link problems); 2 unusable input or
environment (a bad path, option, IRI or URL, an unreachable endpoint, a busy port; the file
and line are named); 3 a bug in claimkg; 130 interrupted (Ctrl-C). A one-line message says
what is wrong; ``--debug`` adds the traceback. A reader that goes away (``kg build | head``)
ends the output, not the work. The heavy libraries are imported by the commands that use
them, so ``kg --help`` and ``kg query --list`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import CurationError, UnusableInput
from kg.outputs import FORMATS as RDF_OUTPUTS
from kg.outputs import OUTPUT_FILES, UNION_FILES

if TYPE_CHECKING:
    from rdflib import Graph

    from kg.load import Corpus
    from kg.pipeline import BuildOutcome
    from kg.validate import Violation

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

CONTRACT = (
    "Exit codes, for every command: 0 success; 1 data problems (shape violations, "
    "inconsistent derivations, uncovered numbers, link problems); 2 unusable input or "
    "environment (a bad path, option, IRI or URL, an unreachable endpoint, a busy port); "
    "3 a bug in claimkg (please report it with the --debug output); 130 interrupted "
    "(Ctrl-C). Messages go to stderr, one line each; --debug adds the traceback; -q "
    "silences progress. Run 'kg COMMAND --help' for a command's options."
)

_RDF_FORMATS = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".n3": "n3",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".trig": "trig",
    ".nq": "nquads",
}


class _Progress:
    """Stage messages on stderr, so that stdout stays clean for data."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"kg: {message}", file=sys.stderr, flush=True)


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


class _DefaultBase:
    """The default of --base-iri, resolved when used: claimkg's own base IRI."""

    def __str__(self) -> str:
        from kg.base_iri import DEFAULT_BASE

        return DEFAULT_BASE


def _base(args: argparse.Namespace) -> str:
    return str(args.base_iri)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_UNUSABLE
    with _tolerant_streams():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run the command under the error contract (see ``CONTRACT``)."""
    debug = bool(getattr(args, "debug", False))

    def fail(code: int, *lines: str) -> int:
        if debug:
            traceback.print_exc()
        for line in lines:
            print(line, file=sys.stderr)
        return code

    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "kg: interrupted")
    except (_UnreadableInput, UnusableInput) as error:
        return fail(EXIT_UNUSABLE, f"kg: {error}")
    except _InvalidCorpus:
        return fail(EXIT_INVALID, "kg: the corpus violates the shapes; fix it and run again.")
    except CurationError as error:
        head = f"kg: unusable input ({len(error.problems)} problem(s)):"
        return fail(EXIT_UNUSABLE, head, *(f"  {problem}" for problem in error.problems))
    except OSError as error:  # a path that is not there, not a folder, not writable; a full disk
        return fail(EXIT_UNUSABLE, f"kg: {_os_message(error)}")
    except Exception as error:
        if _is_user_error(error):
            return fail(EXIT_UNUSABLE, f"kg: {error}")
        message = " ".join(str(error).split())
        message = message if len(message) <= 500 else message[:499] + "…"
        return fail(
            EXIT_BUG,
            f"kg: internal error: {type(error).__name__}: {message}",
            "kg: this is a bug in claimkg; run the command again with --debug and report "
            "what it prints",
        )


def _os_message(error: OSError) -> str:
    where = " → ".join(str(f) for f in (error.filename, error.filename2) if f is not None)
    reason = error.strerror or str(error)
    return f"{where}: {reason}" if where else reason


def _is_user_error(error: Exception) -> bool:
    """An error type of a module that names bad input (imported only if already loaded)."""
    for module, name in (("kg.queries", "QueryError"), ("kg.push", "PushError"),
                         ("kg.signing", "SigningError")):  # fmt: skip
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


class _Tolerant:
    """A text stream that stops writing, silently, once its reader has gone away: a closed
    pipe (``kg build | head -1``) ends the output, never the work."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._break()

    def _break(self) -> None:
        self.broken = True
        try:  # later flushes (at exit, too) of the real stream go nowhere, without error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        except Exception:  # io.UnsupportedOperation of an in-memory stream
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _tolerant_streams() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tolerant(saved[0]), _Tolerant(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


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
            default=_DefaultBase(),
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
        help=f"files to write, of {','.join(RDF_OUTPUTS)} (default: all; each is written from "
        "the cached per-article files, none from the whole graph in memory)",
    )
    build.add_argument(
        "-j", "--jobs", type=_positive, metavar="N", help="worker processes (default: one per core)"
    )
    build.add_argument("--no-store", action="store_true", help="do not update DIR/store")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    build.set_defaults(run=_build)

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
    validate.set_defaults(run=_validate)

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
    coverage.set_defaults(run=_coverage)

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
    query.set_defaults(run=_query)

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
    serve.set_defaults(run=_serve)

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
    compare.set_defaults(run=_compare)

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
    plot.set_defaults(run=_plot)

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
    check.set_defaults(run=_check)

    graph_command = commands.add_parser(
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
    corpus_option(graph_command)
    build_option(graph_command)
    graph_command.add_argument(
        "--path", nargs=2, metavar=("FROM", "TO"), help="entity ids or labels"
    )
    graph_command.add_argument(
        "--graphml", type=Path, metavar="DIR", help="write the views as GraphML"
    )
    data_option(graph_command, "Analyse")
    graph_command.set_defaults(run=_graph)

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
    push.set_defaults(run=_push)

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
    links.set_defaults(run=_links)

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
    nanopub.set_defaults(run=_nanopub)
    return parser


# ---------------------------------------------------------------- build


def _formats(raw: str) -> tuple[str, ...]:
    chosen = tuple(f.strip() for f in raw.split(",") if f.strip())
    unknown = [f for f in chosen if f not in RDF_OUTPUTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(unknown) or repr(raw)}; choose from "
            f"{','.join(RDF_OUTPUTS)}"
        )
    return chosen


def _build(args: argparse.Namespace) -> int:
    from kg.pipeline import build

    progress = _Progress(args.quiet)
    progress(f"corpus: {args.corpus or 'the bundled corpus'}")
    outcome = build(
        args.corpus,
        args.out,
        base=_base(args),
        formats=args.format,
        jobs=args.jobs,
        store=not args.no_store,
        progress=progress,
    )
    if not outcome.conforms:
        print(_violations_text(outcome.violations, args.corpus), file=sys.stderr)
        print(f"kg: nothing was written ({args.out}/ is as it was).", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(_summary(outcome))
    return EXIT_OK


def _violations_text(
    violations: Sequence[Violation], corpus: Path | None, built_from: bool = True
) -> str:
    """The violations, each curated file named by a path that opens from here (the graph
    records it relative to the corpus folder, which the user may not stand in). A graph
    not ``built_from`` ``corpus`` (kg validate's) has its files named there only when there."""
    from dataclasses import replace

    from kg.errors import shorten
    from kg.load import default_corpus

    folder = corpus or default_corpus()
    lines = [f"Does not conform: {len(violations)} violation(s)."]
    for violation in violations:
        if violation.curated_at:
            at = _curated_at(folder, violation.curated_at, must_exist=not built_from)
            violation = replace(violation, curated_at=at)
        if violation.value is not None:  # a literal may be a whole quote, or the text
            one_line = shorten(violation.value).translate({10: "\\n", 13: "\\r", 9: "\\t"})
            violation = replace(violation, value=one_line)
        lines.append(f"  {violation}")
    return "\n".join(lines)


def _curated_at(corpus: Path, recorded: str, must_exist: bool = False) -> str:
    """``article/claims/x.yaml:12`` (as the graph records it) → a path that opens from here
    (left as recorded when ``must_exist`` and the corpus has no such file)."""
    from kg.errors import shown_path

    file, _, line = recorded.rpartition(":")
    if not (file and line.isdigit()):
        file, line = recorded, ""
    if must_exist and not (corpus / file).is_file():
        return recorded
    return shown_path(corpus / file) + (f":{line}" if line else "")


def _summary(outcome: BuildOutcome) -> str:
    from kg import __version__
    from kg.pipeline import STORE

    records = outcome.records
    types: Counter[str] = Counter()
    for record in records.values():
        types.update(record.claims)
    articles = len(records) - 1
    folder = outcome.build_dir
    since = "first build" if outcome.changes is None else str(outcome.changes)
    lines = [
        f"claimkg {__version__}: {articles} article(s), {sum(types.values())} claims, "
        f"{sum(r.entities for r in records.values())} entities, "
        f"{sum(r.references for r in records.values())} references, "
        f"{sum(r.triples for r in records.values())} triples "
        f"(rebuilt {len(outcome.rebuilt)} of {len(records)} units, the rest from the cache)",
        f"since the last build: {since}",
        "claims by type:",
        *(f"  {name:<22}{count:>5}" for name, count in types.most_common()),
        "validation: conforms (each article against the shapes, with the entities as context)",
        "written:" if outcome.written else "written: nothing (every output was up to date)",
        *(f"  {path}" for path in outcome.written),
        f"store: {folder / STORE}/ (kg query, kg serve)",
        *(f"warning: {warning}" for warning in outcome.warnings),
        f"next: kg query --list --build {folder} · kg coverage · "
        f"kg validate {folder / 'claimkg.ttl'} · kg --help",
    ]
    if folder == Path(os.environ.get("KG_BUILD", "build")):
        lines[-1] = lines[-1].replace(f" --build {folder}", "")
    return "\n".join(lines)


# ---------------------------------------------------------------- validate


class _UnreadableInput(Exception):
    """An RDF file that cannot be read or parsed (exit 2)."""


class _InvalidCorpus(Exception):
    """The corpus violates the shapes: there is no validated graph to read (exit 1)."""


def read_rdf(paths: Sequence[Path]) -> Graph:
    """The union of RDF files, each parsed in the format its extension names."""
    from rdflib import Dataset, Graph

    graph = Graph()
    for path in paths:
        rdf_format = _RDF_FORMATS.get(path.suffix.lower())
        if rdf_format is None:
            known = ", ".join(_RDF_FORMATS)
            raise _UnreadableInput(f"{path}: unknown RDF format (extensions: {known})")
        if not path.is_file():
            raise _UnreadableInput(f"{path}: no such file")
        try:
            if rdf_format in ("trig", "nquads"):
                dataset = Dataset()
                dataset.parse(path, format=rdf_format)
                for quad in dataset.quads():
                    graph.add(quad[:3])
            else:
                graph.parse(path, format=rdf_format)
        except Exception as error:  # rdflib raises many parser-specific types
            message = " ".join(str(error).split())
            message = message if len(message) <= 300 else message[:299] + "…"
            raise _UnreadableInput(f"{path}: cannot parse as {rdf_format}: {message}") from None
    return graph


def _contents(graph: Graph, base: str) -> tuple[int, int]:
    """(claims, articles) of ``graph`` under the base IRI ``base``."""
    from rdflib import URIRef
    from rdflib.namespace import RDF

    claims = len(set(graph.subjects(RDF.type, URIRef(f"{base}vocab/Claim"))))
    articles = len(set(graph.subjects(RDF.type, URIRef(f"{base}vocab/Article"))))
    return claims, articles


def _graph_bases(graph: Graph) -> list[str]:
    """The base IRIs of the claims in ``graph`` (``{base}vocab/Claim`` types)."""
    from rdflib.namespace import RDF

    suffix = "vocab/Claim"
    return sorted({str(t)[: -len(suffix)] for t in set(graph.objects(None, RDF.type))
                   if str(t).endswith(suffix)})  # fmt: skip


def _require_claims(graph: Graph, base: str, what: str) -> tuple[int, int]:
    """Refuse a graph with nothing to check: an empty or truncated file must not 'conform'."""
    claims, articles = _contents(graph, base)
    if claims and articles:
        return claims, articles
    missing = "no claim" if not claims else "no article (ckg:Article) for its claims"
    others = [b for b in _graph_bases(graph) if b != base]
    hint = (
        f"; its claims use the base IRI {others[0]}: add --base-iri {others[0]}"
        if others and not claims
        else "; is the file complete (a build writes claimkg.ttl, .nt, .nq, .jsonld, .trig)?"
    )
    raise _UnreadableInput(
        f"{what} holds {missing} of claimkg under {base} ({len(graph):,} triples): nothing "
        f"to check{hint}"
    )


def _validate(args: argparse.Namespace) -> int:
    from kg.validate import validate_graph

    graph = read_rdf(args.files)
    base = _base(args)
    named = ", ".join(str(p) for p in args.files)
    if isinstance(args.base_iri, _DefaultBase):  # read the base IRI from the graph
        bases = _graph_bases(graph)
        if len(bases) > 1:
            raise _UnreadableInput(
                f"{named} mixes claims of several base IRIs ({', '.join(bases)}): "
                "validate one at a time, or choose one with --base-iri"
            )
        if bases and bases[0] != base:
            base = bases[0]
            _Progress(args.quiet)(f"base IRI read from the graph: {base}")
    claims, articles = _require_claims(graph, base, named)
    result = validate_graph(graph, base)
    if result.conforms:
        print(result.text())
    else:
        print(_violations_text(result.violations, args.corpus, built_from=False))
    print(f"validated: {claims} claims in {articles} article(s), {len(graph):,} triples")
    return EXIT_OK if result.conforms else EXIT_INVALID


# ---------------------------------------------------------------- query


def _query(args: argparse.Namespace) -> int:
    if args.list:
        return _list_queries()
    from kg.queries import QueryError, find_query, format_result, run_on_store, run_query

    try:
        if not args.query:
            print("kg: give a query NAME or FILE, or --list", file=sys.stderr)
            return EXIT_UNUSABLE
        query = find_query(args.query)
        given = dict(_split_param(p) for p in args.param)
        query.bindings(given)  # refuse unknown or malformed parameters before any work
        direct = None
        if not args.endpoint and not args.data and args.engine == "oxigraph":
            direct = run_on_store(_built_store(args), query, given)  # rdflib never imported
        if direct is not None:
            result: Any = direct
        elif args.endpoint:
            result = _remote_query(args.endpoint, lambda graph: run_query(graph, query, given))
        else:
            result = run_query(_input_graph(args), query, given)
        print(format_result(result, args.format), end="")
        return EXIT_OK
    except QueryError as error:
        print(f"kg: {error}", file=sys.stderr)
        return EXIT_UNUSABLE


def _list_queries() -> int:
    """Each library query's name, question and parameters, read from the ``#+`` headers
    alone (no SPARQL parsed, no RDF library loaded)."""
    from kg.query_headers import list_headers

    try:
        headers = list_headers()
    except ValueError as error:
        raise _UnreadableInput(str(error)) from None
    for header in headers:
        params = " ".join(f"--param {name}={default}" for name, default in header.params)
        print(f"{header.name:<32}{header.summary}" + (f"\n{'':<32}[{params}]" if params else ""))
    return EXIT_OK


COMPARISONS = ("pfs-hr", "pfs-median", "neutropenia-g34", "discontinuation-ae", "ic50")


def _compare(args: argparse.Namespace) -> int:
    from kg.namespaces import CKG
    from kg.queries import find_query, format_result, run_query

    graph = _input_graph(args)
    result = run_query(graph, find_query(f"compare-{args.endpoint}"))
    print(format_result(result, args.format), end="")
    if args.format == "table":
        for caveat in sorted({str(c) for c in graph.objects(None, CKG.caveat)}):
            print(f'The article\'s own caveat: "{caveat}"')
    return EXIT_OK


def _output_folder(folder: Path, option: str) -> Path:
    """A folder a command writes into: refused at once when it is a file."""
    if folder.exists() and not folder.is_dir():
        raise _UnreadableInput(f"{folder}: not a folder; give {option} a folder to write into")
    return folder


def _plot(args: argparse.Namespace) -> int:
    from kg.plot import write_plots  # matplotlib is imported only to draw

    out = _output_folder(args.out, "--out")
    for path in write_plots(_input_graph(args), out):
        print(f"wrote {path}")
    return EXIT_OK


def _built_store(args: argparse.Namespace) -> Any:
    """The build folder's Oxigraph store (read-only), brought up to date first."""
    import pyoxigraph as ox

    from kg.pipeline import STORE

    _fresh_build(args, store=True)
    return ox.Store.read_only(str(args.build / STORE))


def _fresh_build(args: argparse.Namespace, store: bool) -> BuildOutcome:
    """The build folder brought up to date with the corpus (refused when it holds another
    corpus; ``_InvalidCorpus`` when the corpus violates the shapes)."""
    from kg.pipeline import build

    outcome = build(args.corpus, args.build, formats=None, store=store,
                    progress=_Progress(args.quiet), take_over=False)  # fmt: skip
    if not outcome.conforms:
        print(_violations_text(outcome.violations, args.corpus), file=sys.stderr)
        raise _InvalidCorpus()
    return outcome


def _input_graph(args: argparse.Namespace) -> Graph:
    """The RDF files of --data, or else the corpus's validated graph from the build folder
    (brought up to date first; refused when it holds another corpus), on the chosen engine."""
    from rdflib import Graph

    from kg.pipeline import STORE
    from kg.store import as_rdflib, in_store, open_store

    engine = getattr(args, "engine", "oxigraph")
    if getattr(args, "data", None):
        graph = read_rdf(args.data)
        return in_store(graph) if engine == "oxigraph" else graph
    outcome = _fresh_build(args, store=engine == "oxigraph")
    if engine == "oxigraph":
        return as_rdflib(open_store(args.build / STORE, read_only=True))
    graph = Graph()
    for part in outcome.graph_files():
        graph.parse(part.path, format="nt")
    return graph


def _check(args: argparse.Namespace) -> int:
    from kg.check import render, run_checks
    from kg.namespaces import DEFAULT_BASE

    graph = _input_graph(args)
    if args.data:
        _require_claims(graph, DEFAULT_BASE, ", ".join(str(p) for p in args.data))
    report = run_checks(graph)
    print(render(report))
    return EXIT_INVALID if report.inconsistent else EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    import networkx as nx

    from kg.analysis import (
        biomedical_graph,
        citation_support_graph,
        entity_path,
        provenance_graph,
        support_ranking,
        unsupported_claims,
        write_graphml,
    )

    if args.graphml:
        _output_folder(args.graphml, "--graphml")
    graph = _input_graph(args)
    support = citation_support_graph(graph)
    biomedical = biomedical_graph(graph)
    ranking = support_ranking(support)
    print("References by the number of claims they support:")
    for label, count in ranking:
        print(f"  {count:>3}  {label[:90]}")
    unsupported = unsupported_claims(support)
    print(
        f"{len(unsupported)} claims cite nothing in their own sentence, e.g.: "
        + ", ".join(unsupported[:5])
    )
    if args.path:
        try:
            steps = entity_path(biomedical, *args.path)
        except (KeyError, nx.NetworkXNoPath, nx.NodeNotFound) as error:
            print(f"kg: {error}", file=sys.stderr)
            return EXIT_UNUSABLE
        print(f"Path from {args.path[0]} to {args.path[1]}:")
        for step in steps:
            claims = ", ".join(step.claims) or "(entity structure)"
            print(f"  {step}   claims: {claims}")
    if args.graphml:
        for path in write_graphml([support, provenance_graph(graph), biomedical], args.graphml):
            print(f"wrote {path}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
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
        raise _UnreadableInput(
            f"--host {args.host} is not a loopback address: the endpoint would be reachable "
            "from other machines; add --expose if that is what you want"
        )
    for name, value in (("--timeout", args.timeout), ("--max-rows", args.max_rows),
                        ("--max-body", args.max_body), ("--workers", args.workers)):  # fmt: skip
        if value <= 0:
            raise _UnreadableInput(f"{name} must be positive, got {value}")
    try:
        listener = bind_socket(args.host, args.port)
    except OSError as error:
        raise _UnreadableInput(
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
                            progress=_Progress(args.quiet), take_over=False)  # fmt: skip
            if not outcome.conforms:
                print(_violations_text(outcome.violations, args.corpus), file=sys.stderr)
                raise _InvalidCorpus()
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


def _remote_query(endpoint: str, ask: Callable[[Graph], Any]) -> Any:
    """``ask`` run on a remote SPARQL endpoint, its answer read whole; a URL that is not
    one, an endpoint that cannot be reached or that answers something other than SPARQL
    results is unusable input."""
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlsplit

    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in endpoint:
        raise _UnreadableInput(f"--endpoint {endpoint!r}: not an http(s) URL")
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
    raise _UnreadableInput(f"the endpoint {endpoint} did not answer: {reason[:300]}") from None


def _push(args: argparse.Namespace) -> int:
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
    progress = _Progress(args.quiet)
    outcome = build(args.corpus, args.build, formats=None, store=False, progress=progress,
                    take_over=False)  # fmt: skip
    if not outcome.conforms:
        print(_violations_text(outcome.violations, args.corpus), file=sys.stderr)
        return EXIT_INVALID
    graphs = [(g.name, g.path) for g in outcome.graph_files()]
    namespace = str(data_namespace()) + "graph/"  # every graph claimkg names, and no other
    try:
        report = push_graphs(
            graphs, target, _ProgressBar(args.quiet), prune=namespace if args.prune else None
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


class _ProgressBar:
    """``[#####.....] 3/10 graphs``: redrawn in place on a terminal, one line per step else."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, name: str) -> None:
        if self.quiet:
            return
        filled = 30 * done // max(total, 1)
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} graphs  {name}"
        end = "\n" if not self.tty or done == total else ""
        print(("\r" if self.tty else "") + bar, end=end, file=sys.stderr, flush=True)


def _split_param(raw: str) -> tuple[str, str]:
    from kg.queries import QueryError

    name, equals, value = raw.partition("=")
    if not equals or not name:
        raise QueryError(f"--param takes NAME=VALUE, got {raw!r}")
    return name, value


# ---------------------------------------------------------------- coverage


def _load_corpus(args: argparse.Namespace, mappings: Path | None = None) -> Corpus:
    """The corpus of --corpus, after the check that nothing in its folder is left out
    silently (problems: exit 2; warnings on stderr)."""
    from kg.corpus_files import survey_corpus
    from kg.load import default_corpus, load_corpus

    folder = args.corpus or default_corpus()
    if not folder.is_dir():
        raise _UnreadableInput(f"{folder}: corpus folder not found")
    survey = survey_corpus(folder)
    for warning in survey.warnings:
        _Progress(args.quiet)(f"warning: {warning}")
    if survey.problems:
        raise CurationError(survey.problems)
    return load_corpus(args.corpus, mappings)


def _coverage(args: argparse.Namespace) -> int:
    from kg.coverage import article_coverage
    from kg.errors import shown_path

    corpus = _load_corpus(args)
    complete = True
    for article in corpus.articles:
        report = article_coverage(article)
        text = shown_path(article.text_path or article.directory / "article.txt")
        complete = complete and report.complete
        print(
            f"{article.id}: {len(report.covered)} numbers covered by claims, "
            f"{len(report.excluded)} excluded, {len(report.uncovered)} uncovered"
        )
        for number in report.uncovered:
            where = f"{text}:{number.line}:{number.column}"
            print(f"  UNCOVERED {where}: {number.value}  …{number.context}…")
        for exclusion in report.unused_exclusions:
            where = f"{shown_path(exclusion.located.file)}:{exclusion.located.line}"
            print(f"  UNUSED EXCLUSION {where}: {exclusion.number} ({exclusion.reason})")
        if args.show_excluded:
            for number, exclusion in report.excluded:
                where = f"{text}:{number.line}:{number.column}"
                print(f"  excluded {where}: {number.value}: {exclusion.reason}")
    return EXIT_OK if complete else EXIT_INVALID


# ---------------------------------------------------------------- links


def _nanopub(args: argparse.Namespace) -> int:
    from kg.build import build_corpus
    from kg.signing import SigningError, load_key, sign_all
    from kg.validate import validate_graph

    try:
        key = load_key(args.sign)
    except SigningError as error:
        print(f"kg: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    built = build_corpus(_load_corpus(args))
    outcome = validate_graph(built.graph)
    if not outcome.conforms:
        print(
            "kg: the corpus violates the shapes (see kg validate); nothing signed", file=sys.stderr
        )
        return EXIT_INVALID
    only = set(args.claim) if args.claim else None
    try:
        signed = sign_all(built.dataset.quads(), key, args.out, args.signer, args.name, only)
    except SigningError as error:
        print(f"kg: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    if only and len(signed) < len(only):
        print(f"kg: no nanopublication for some of {sorted(only)}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"{len(signed)} nanopublication(s) signed into {args.out}")
    return EXIT_OK


def _links(args: argparse.Namespace) -> int:
    from kg.links import check_mappings, iri_forms, rdf_share
    from kg.load import load_vocabulary, mapping_subjects

    corpus = _load_corpus(args, args.mappings)
    mappings = corpus.mappings
    if args.suggest or args.gaps:
        from kg.grounding import suggest_command

        return suggest_command(corpus, args.entity, args.min_confidence, args.accept, args.gaps)
    if args.check:
        subjects = mapping_subjects(corpus.entities, load_vocabulary(), corpus.articles)
        problems = check_mappings(mappings, subjects)
        for problem in problems:
            print(f"  {problem}")
        print(f"{len(mappings.links)} mappings checked: {len(problems)} problem(s)")
        forms = iri_forms(mappings)
        in_rdf, total = rdf_share(mappings)
        print(
            f"{total} link IRIs: {in_rdf} ({in_rdf / max(total, 1):.0%}) in the form public RDF "
            f"of the records uses ({forms['bio2rdf']} of them Bio2RDF's), "
            f"{forms['identifiers.org']} identifiers.org (no public RDF form chosen)"
        )
        return EXIT_INVALID if problems else EXIT_OK
    for subject, links in sorted(mappings.by_subject().items()):
        print(f"{subject}  {links[0].subject_label}")
        for link in links:
            print(f"    {link.predicate_id:<16}{link.object_id:<40}{link.object_label}")
    print(
        f"{len(mappings.links)} mappings of {len(mappings.by_subject())} subjects "
        f"(gaps: ontology/mapping-gaps.tsv)"
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
