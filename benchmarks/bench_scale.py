"""Scale benchmark (not part of the test suite): synthetic corpora of 1k, 10k and 100k claims.

For each size, in one run: a cold ``kg build`` (load, build, validate per article on every
core, write N-Quads, load the Oxigraph store) in a fresh process with its peak memory; the
rebuild after changing one article; serialising the union (Oxigraph vs rdflib Turtle);
loading it (Oxigraph store vs rdflib); and the query library (median per query, Oxigraph
store vs rdflib's engine on the same graph). Also a cold ``kg build`` of the bundled
article. Prints a markdown table and writes it to ``benchmarks/results-scale.md``.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--claims 100]

rdflib's side is skipped above ``--rdflib-max`` claims (default 100,000); above
``--warm-up-max`` claims (default 10,000) each query runs once on each engine, because
rdflib's engine takes minutes for some queries of the library at 100k claims.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph

from kg.queries import list_queries, run_query
from kg.store import as_rdflib, open_store

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable

_BUILD = """
import json, os, resource, sys, time
from pathlib import Path
from kg.pipeline import build
start = time.perf_counter()
outcome = build(Path(sys.argv[1]), Path(sys.argv[2]), formats=("nq",))
assert outcome.conforms, outcome.violations[:3]
wall = time.perf_counter() - start
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
workers = min(os.cpu_count() or 1, len(outcome.rebuilt))
print(json.dumps({"wall": wall, "peak_mb": (own + workers * child) / 1024,
                  "timings": outcome.timings,
                  "rebuilt": len(outcome.rebuilt),
                  "triples": sum(r.triples for r in outcome.records.values())}))
"""


def _generator() -> Callable[..., object]:
    spec = importlib.util.spec_from_file_location("synthetic_corpus", HERE / "synthetic_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_corpus"] = module
    spec.loader.exec_module(module)
    generate: Callable[..., object] = module.generate
    return generate


def _build(corpus: Path, out: Path) -> dict[str, object]:
    """``kg build`` in a fresh process (cold imports), with its peak memory."""
    done = subprocess.run(
        [PYTHON, "-c", _BUILD, str(corpus), str(out)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _library_medians(graph: Graph, warm_up: bool) -> float:
    """The median over the library of each query's time (after one warm-up run, if asked)."""
    times = []
    for query in list_queries():
        if warm_up:
            list(graph.query(query.bound_text()))  # parsing, caches
        start = time.perf_counter()
        list(run_query(graph, query))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _touch_one_article(corpus: Path) -> None:
    article = sorted(corpus.glob("synthetic-*/claims/*.yaml"))[0]
    article.write_text(article.read_text("utf-8") + "# edited\n", encoding="utf-8")


def measure(
    size: int, claims: int, work: Path, rdflib_max: int, warm_up_max: int
) -> dict[str, str]:
    articles = max(1, size // claims)
    corpus = work / f"corpus-{size}"
    _generator()(corpus, articles, claims)
    out = work / f"build-{size}"
    cold = _build(corpus, out)
    _touch_one_article(corpus)
    again = _build(corpus, out)
    nquads = out / "claimkg.nq"
    row = {
        "claims": f"{articles * claims:,}",
        "triples": f"{cold['triples']:,}",
        "build+validate+load (s)": f"{cold['wall']:.1f}",
        "peak memory (MB)": f"{cold['peak_mb']:.0f}",
        "rebuild one article (s)": f"{again['wall']:.2f} ({again['rebuilt']} unit)",
    }
    store = ox.Store()
    ox_load = _seconds(lambda: store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS))
    turtle = work / "out.ttl"
    ox_write = _seconds(
        lambda: ox.serialize(
            (q.triple for q in store.quads_for_pattern(None, None, None)), str(turtle),
            ox.RdfFormat.TURTLE,
        )
    )  # fmt: skip
    warm_up = articles * claims <= warm_up_max
    ox_median = _library_medians(as_rdflib(open_store(out / "store", read_only=True)), warm_up)
    row |= {
        "load: Oxigraph (s)": f"{ox_load:.1f}",
        "write Turtle: Oxigraph (s)": f"{ox_write:.1f}",
        "query median: Oxigraph (ms)": f"{ox_median * 1000:.1f}",
    }
    if articles * claims <= rdflib_max:
        dataset = Dataset()
        rdf_load = _seconds(lambda: dataset.parse(nquads, format="nquads"))
        union = Graph()
        for quad in dataset.quads():
            union.add(quad[:3])
        rdf_write = _seconds(lambda: union.serialize(turtle, format="turtle"))
        rdf_median = _library_medians(union, warm_up)
        row |= {
            "load: rdflib (s)": f"{rdf_load:.1f} ({rdf_load / ox_load:.0f}×)",
            "write Turtle: rdflib (s)": f"{rdf_write:.1f} ({rdf_write / ox_write:.0f}×)",
            "query median: rdflib (ms)": f"{rdf_median * 1000:.1f} ({rdf_median / ox_median:.0f}×)",
        }
    else:
        row |= {k: "not run" for k in ("load: rdflib (s)", "write Turtle: rdflib (s)",
                                        "query median: rdflib (ms)")}  # fmt: skip
    shutil.rmtree(corpus)
    shutil.rmtree(out)
    return row


def bundled_cold_build(work: Path, repeat: int = 5) -> tuple[float, float]:
    """Median ``kg build`` of the bundled article in a new process: with an empty build
    folder, then with nothing changed."""
    out = work / "bundled"
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        for times in (cold, warm):
            start = time.perf_counter()
            subprocess.run([PYTHON, "-m", "kg.cli", "build", "--out", str(out), "-q"], check=True)
            times.append(time.perf_counter() - start)
    return statistics.median(cold), statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--claims", type=int, default=100, help="claims per article")
    parser.add_argument(
        "--rdflib-max", type=int, default=100_000, help="skip rdflib's side above this many claims"
    )
    parser.add_argument(
        "--warm-up-max",
        type=int,
        default=10_000,
        help="above this many claims, each query runs once (no warm-up run)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cold, warm = bundled_cold_build(work)
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"measuring {size:,} claims…", file=sys.stderr, flush=True)
            rows.append(measure(size, args.claims, work, args.rdflib_max, args.warm_up_max))
            print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    header = list(rows[0])
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row[h] for h in header) + " |" for row in rows),
        "",
        f"Bundled article, `kg build` (all formats) in a new process, median of 5: {cold:.2f} s "
        f"with an empty build folder, {warm:.2f} s when nothing changed.",
        f"Articles of {args.claims} claims; query medians over the "
        f"{len(list_queries())} library queries (one warm-up run each up to "
        f"{args.warm_up_max:,} claims, a single run above); ratios are rdflib ÷ Oxigraph in "
        "the same run. Peak memory: the main process plus each build worker at the largest "
        "worker's peak (an upper bound).",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    (HERE / "results-scale.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
