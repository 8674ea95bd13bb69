"""What the ``kg`` commands share: exit codes, progress, reading RDF and the corpus,
bringing the build folder up to date, and how violations are reported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import CurationError

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


class Progress:
    """Stage messages on stderr, so that stdout stays clean for data."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"kg: {message}", file=sys.stderr, flush=True)


class DefaultBase:
    """The default of --base-iri, resolved when used: claimkg's own base IRI."""

    def __str__(self) -> str:
        from kg.base_iri import DEFAULT_BASE

        return DEFAULT_BASE


def base_iri_of(args: argparse.Namespace) -> str:
    return str(args.base_iri)


def violations_text(
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


def build_summary(outcome: BuildOutcome) -> str:
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


class UnreadableInput(Exception):
    """An RDF file that cannot be read or parsed (exit 2)."""


class InvalidCorpus(Exception):
    """The corpus violates the shapes: there is no validated graph to read (exit 1)."""


def read_rdf(paths: Sequence[Path]) -> Graph:
    """The union of RDF files, each parsed in the format its extension names."""
    from rdflib import Dataset, Graph

    graph = Graph()
    for path in paths:
        rdf_format = _RDF_FORMATS.get(path.suffix.lower())
        if rdf_format is None:
            known = ", ".join(_RDF_FORMATS)
            raise UnreadableInput(f"{path}: unknown RDF format (extensions: {known})")
        if not path.is_file():
            raise UnreadableInput(f"{path}: no such file")
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
            raise UnreadableInput(f"{path}: cannot parse as {rdf_format}: {message}") from None
    return graph


def _contents(graph: Graph, base: str) -> tuple[int, int]:
    """(claims, articles) of ``graph`` under the base IRI ``base``."""
    from rdflib import URIRef
    from rdflib.namespace import RDF

    claims = len(set(graph.subjects(RDF.type, URIRef(f"{base}vocab/Claim"))))
    articles = len(set(graph.subjects(RDF.type, URIRef(f"{base}vocab/Article"))))
    return claims, articles


def graph_bases(graph: Graph) -> list[str]:
    """The base IRIs of the claims in ``graph`` (``{base}vocab/Claim`` types)."""
    from rdflib.namespace import RDF

    suffix = "vocab/Claim"
    return sorted({str(t)[: -len(suffix)] for t in set(graph.objects(None, RDF.type))
                   if str(t).endswith(suffix)})  # fmt: skip


def require_claims(graph: Graph, base: str, what: str) -> tuple[int, int]:
    """Refuse a graph with nothing to check: an empty or truncated file must not 'conform'."""
    claims, articles = _contents(graph, base)
    if claims and articles:
        return claims, articles
    missing = "no claim" if not claims else "no article (ckg:Article) for its claims"
    others = [b for b in graph_bases(graph) if b != base]
    hint = (
        f"; its claims use the base IRI {others[0]}: add --base-iri {others[0]}"
        if others and not claims
        else "; is the file complete (a build writes claimkg.ttl, .nt, .nq, .jsonld, .trig)?"
    )
    raise UnreadableInput(
        f"{what} holds {missing} of claimkg under {base} ({len(graph):,} triples): nothing "
        f"to check{hint}"
    )


def output_folder(folder: Path, option: str) -> Path:
    """A folder a command writes into: refused at once when it is a file."""
    if folder.exists() and not folder.is_dir():
        raise UnreadableInput(f"{folder}: not a folder; give {option} a folder to write into")
    return folder


def built_store(args: argparse.Namespace) -> Any:
    """The build folder's Oxigraph store (read-only), brought up to date first."""
    import pyoxigraph as ox

    from kg.pipeline import STORE

    _fresh_build(args, store=True)
    return ox.Store.read_only(str(args.build / STORE))


def _fresh_build(args: argparse.Namespace, store: bool) -> BuildOutcome:
    """The build folder brought up to date with the corpus (refused when it holds another
    corpus; ``InvalidCorpus`` when the corpus violates the shapes)."""
    from kg.pipeline import build

    outcome = build(args.corpus, args.build, formats=None, store=store,
                    progress=Progress(args.quiet), take_over=False)  # fmt: skip
    if not outcome.conforms:
        print(violations_text(outcome.violations, args.corpus), file=sys.stderr)
        raise InvalidCorpus()
    return outcome


def input_graph(args: argparse.Namespace) -> Graph:
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


class ProgressBar:
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


def split_param(raw: str) -> tuple[str, str]:
    from kg.queries import QueryError

    name, equals, value = raw.partition("=")
    if not equals or not name:
        raise QueryError(f"--param takes NAME=VALUE, got {raw!r}")
    return name, value


def corpus_of(args: argparse.Namespace, mappings: Path | None = None) -> Corpus:
    """The corpus of --corpus, after the check that nothing in its folder is left out
    silently (problems: exit 2; warnings on stderr)."""
    from kg.corpus_files import survey_corpus
    from kg.load import default_corpus, load_corpus

    folder = args.corpus or default_corpus()
    if not folder.is_dir():
        raise UnreadableInput(f"{folder}: corpus folder not found")
    survey = survey_corpus(folder)
    for warning in survey.warnings:
        Progress(args.quiet)(f"warning: {warning}")
    if survey.problems:
        raise CurationError(survey.problems)
    return load_corpus(args.corpus, mappings)
