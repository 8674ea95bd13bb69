"""The reader's commands: query (and --list), compare, plot, graph."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from kg.cli.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    UnreadableInput,
    built_store,
    input_graph,
    output_folder,
    split_param,
)
from kg.cli.publish import remote_query


def query_command(args: argparse.Namespace) -> int:
    if args.list:
        return _list_queries()
    from kg.queries import QueryError, find_query, format_result, run_on_store, run_query

    try:
        if not args.query:
            print("kg: give a query NAME or FILE, or --list", file=sys.stderr)
            return EXIT_UNUSABLE
        query = find_query(args.query)
        given = dict(split_param(p) for p in args.param)
        query.bindings(given)  # refuse unknown or malformed parameters before any work
        direct = None
        if not args.endpoint and not args.data and args.engine == "oxigraph":
            direct = run_on_store(built_store(args), query, given)  # rdflib never imported
        if direct is not None:
            result: Any = direct
        elif args.endpoint:
            result = remote_query(args.endpoint, lambda graph: run_query(graph, query, given))
        else:
            result = run_query(input_graph(args), query, given)
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
        raise UnreadableInput(str(error)) from None
    for header in headers:
        params = " ".join(f"--param {name}={default}" for name, default in header.params)
        print(f"{header.name:<32}{header.summary}" + (f"\n{'':<32}[{params}]" if params else ""))
    return EXIT_OK


COMPARISONS = ("pfs-hr", "pfs-median", "neutropenia-g34", "discontinuation-ae", "ic50")


def compare_command(args: argparse.Namespace) -> int:
    from kg.namespaces import CKG
    from kg.queries import find_query, format_result, run_query

    graph = input_graph(args)
    result = run_query(graph, find_query(f"compare-{args.endpoint}"))
    print(format_result(result, args.format), end="")
    if args.format == "table":
        for caveat in sorted({str(c) for c in graph.objects(None, CKG.caveat)}):
            print(f'The article\'s own caveat: "{caveat}"')
    return EXIT_OK


def plot_command(args: argparse.Namespace) -> int:
    from kg.plot import write_plots  # matplotlib is imported only to draw

    out = output_folder(args.out, "--out")
    for path in write_plots(input_graph(args), out):
        print(f"wrote {path}")
    return EXIT_OK


def graph_command(args: argparse.Namespace) -> int:
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
        output_folder(args.graphml, "--graphml")
    graph = input_graph(args)
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
