"""Benchmark of the build pipeline on the bundled corpus (not part of the test suite).

Measures each stage several times in one process and prints a markdown table of medians,
plus the ratio of claimkg's validation (pySHACL core + whole-graph SPARQL checks) to plain
pySHACL running the same shapes per focus node, and a cold `kg build` in a new process.

    .venv/bin/python benchmarks/bench_build.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyshacl import validate

from kg.build import build_corpus
from kg.load import load_corpus
from kg.queries import list_queries, run_query
from kg.serialize import write_outputs
from kg.validate import load_ontology, load_shapes, validate_graph


def _median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per stage (default 5)")
    args = parser.parse_args()

    corpus = load_corpus()
    built = build_corpus(corpus)
    result = validate_graph(built.graph)
    plain_data = built.graph + load_ontology()
    shapes = load_shapes()
    out = Path(tempfile.mkdtemp())
    library = list_queries()

    rows = {
        "load (YAML → records)": _median_seconds(load_corpus, args.repeat),
        "build (records → RDF)": _median_seconds(lambda: build_corpus(corpus), args.repeat),
        "validate (claimkg)": _median_seconds(lambda: validate_graph(built.graph), args.repeat),
        "validate (plain pySHACL)": _median_seconds(
            lambda: validate(plain_data, shacl_graph=shapes, advanced=True),
            max(1, args.repeat // 2),
        ),
        "serialise (4 formats + report)": _median_seconds(
            lambda: write_outputs(built, result.report, out), args.repeat
        ),
        "query library (all queries, rdflib)": _median_seconds(
            lambda: [list(run_query(built.graph, q)) for q in library], args.repeat
        ),
        "kg build, cold process": _median_seconds(
            lambda: subprocess.run(
                [sys.executable, "-m", "kg.cli", "build", "--quiet", "--out", str(out)], check=True
            ),
            args.repeat,
        ),
    }
    claims = sum(len(a.claims) for a in corpus.articles)
    print(
        f"Bundled corpus: {claims} claims, {len(built.graph)} triples; "
        f"median of {args.repeat} runs.\n"
    )
    print("| stage | median (s) |")
    print("|---|---:|")
    for stage, seconds in rows.items():
        print(f"| {stage} | {seconds:.3f} |")
    ratio = rows["validate (plain pySHACL)"] / rows["validate (claimkg)"]
    print(f"\nclaimkg validation is {ratio:.1f}× faster than plain pySHACL on the same shapes.")


if __name__ == "__main__":
    main()
