"""The curator's commands: build, validate, check, coverage, links, nanopub."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from kg.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNUSABLE,
    DefaultBase,
    Progress,
    UnreadableInput,
    base_iri_of,
    build_summary,
    corpus_of,
    graph_bases,
    input_graph,
    read_rdf,
    require_claims,
    violations_text,
)


def build_command(args: argparse.Namespace) -> int:
    from kg.pipeline import build

    progress = Progress(args.quiet)
    progress(f"corpus: {args.corpus or 'the bundled corpus'}")
    outcome = build(
        args.corpus,
        args.out,
        base=base_iri_of(args),
        formats=args.format,
        jobs=args.jobs,
        store=not args.no_store,
        progress=progress,
    )
    if not outcome.conforms:
        print(violations_text(outcome.violations, args.corpus), file=sys.stderr)
        print(f"kg: nothing was written ({args.out}/ is as it was).", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(build_summary(outcome))
    return EXIT_OK


def validate_command(args: argparse.Namespace) -> int:
    from kg.validate import validate_graph

    graph = read_rdf(args.files)
    base = base_iri_of(args)
    named = ", ".join(str(p) for p in args.files)
    if isinstance(args.base_iri, DefaultBase):  # read the base IRI from the graph
        bases = graph_bases(graph)
        if len(bases) > 1:
            raise UnreadableInput(
                f"{named} mixes claims of several base IRIs ({', '.join(bases)}): "
                "validate one at a time, or choose one with --base-iri"
            )
        if bases and bases[0] != base:
            base = bases[0]
            Progress(args.quiet)(f"base IRI read from the graph: {base}")
    claims, articles = require_claims(graph, base, named)
    result = validate_graph(graph, base)
    if result.conforms:
        print(result.text())
    else:
        print(violations_text(result.violations, args.corpus, built_from=False))
    print(f"validated: {claims} claims in {articles} article(s), {len(graph):,} triples")
    return EXIT_OK if result.conforms else EXIT_INVALID


def check_command(args: argparse.Namespace) -> int:
    from kg.check import render, run_checks
    from kg.namespaces import DEFAULT_BASE

    graph = input_graph(args)
    if args.data:
        require_claims(graph, DEFAULT_BASE, ", ".join(str(p) for p in args.data))
    report = run_checks(graph)
    print(render(report))
    return EXIT_INVALID if report.inconsistent else EXIT_OK


def coverage_command(args: argparse.Namespace) -> int:
    from kg.coverage import article_coverage
    from kg.errors import shown_path

    corpus = corpus_of(args)
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


def nanopub_command(args: argparse.Namespace) -> int:
    from kg.build import build_corpus
    from kg.signing import SigningError, load_key, sign_all
    from kg.validate import validate_graph

    try:
        key = load_key(args.sign)
    except SigningError as error:
        print(f"kg: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    built = build_corpus(corpus_of(args))
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


def links_command(args: argparse.Namespace) -> int:
    from kg.links import check_mappings, iri_forms, rdf_share
    from kg.load import load_vocabulary, mapping_subjects

    corpus = corpus_of(args, args.mappings)
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
