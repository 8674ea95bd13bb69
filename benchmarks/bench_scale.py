"""Scale benchmark (not part of the test suite): synthetic corpora of 1k, 10k and 100k claims.

For each size, in one run: the default ``kg build`` (every format, validation, the Oxigraph
store) cold in a fresh process with its peak memory, and the same build writing N-Quads only;
beside them, Oxigraph's own work on the same quads (``claimkg.nq``): a bulk load into a new
on-disk store, a bulk load into memory, and a parse, each the median of ``--ox-repeat`` runs,
with claimkg's figure as a multiple of each. Then the rebuild after changing one article
(default build, and ``--format none``: the store and the cache alone); serialising the
union (Oxigraph vs rdflib Turtle); loading it (Oxigraph store vs rdflib); and the query
library (median per query: through ``kg query``'s path, directly on ``pyoxigraph.Store``,
and on rdflib's engine). Also a cold ``kg build`` of the
bundled article. Prints a markdown table with the machine's load and writes it to
``benchmarks/results-scale.md``.

    nice .venv/bin/python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--claims 100]

rdflib's side is skipped above ``--rdflib-max`` claims (default 100,000); above
``--warm-up-max`` claims (default 10,000) each query runs once on each engine, because
rdflib's engine takes minutes for some queries of the library at 100k claims.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
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

from kg.queries import NamedQuery, format_result, list_queries, run_on_store, run_query
from kg.store import as_rdflib, open_store

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable

_BUILD = """
import json, os, resource, sys, time
from pathlib import Path
from kg.pipeline import build
start = time.perf_counter()
formats = json.loads(sys.argv[3])  # null: the default, every format
outcome = build(Path(sys.argv[1]), Path(sys.argv[2]),
                **({} if formats is None else {"formats": tuple(formats)}))
assert outcome.conforms, outcome.violations[:3]
wall = time.perf_counter() - start
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
workers = min(os.cpu_count() or 1, len(outcome.rebuilt))
cpu = sum(getattr(resource.getrusage(who), field) for who in
          (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for field in ("ru_utime", "ru_stime"))
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": (own + workers * child) / 1024,
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


def _build(corpus: Path, out: Path, formats: tuple[str, ...] | None = None) -> dict[str, object]:
    """``kg build`` in a fresh process (cold imports), with its peak memory; ``formats``
    None is the default build, every format."""
    done = subprocess.run(
        [PYTHON, "-c", _BUILD, str(corpus), str(out), json.dumps(formats)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _medians(answer: Callable[[NamedQuery], object], warm_up: bool) -> float:
    """The median over the library of ``answer``'s time per query (after one warm-up run
    each, if asked: parsing, caches)."""
    times = []
    for query in list_queries():
        if warm_up:
            answer(query)
        start = time.perf_counter()
        answer(query)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _library_medians(graph: Graph, warm_up: bool) -> float:
    """rdflib's engine on ``graph``, every row consumed."""
    return _medians(lambda query: list(run_query(graph, query)), warm_up)


def _kg_query_medians(store: ox.Store, warm_up: bool) -> float:
    """As ``kg query`` answers: on Oxigraph alone where it can (``run_on_store``), else
    rdflib's engine over the store; the table formatted."""
    graph = as_rdflib(store)

    def answer(query: NamedQuery) -> str:
        direct = run_on_store(store, query)
        return format_result(direct if direct is not None else run_query(graph, query))

    return _medians(answer, warm_up)


def _direct_medians(store: ox.Store, warm_up: bool) -> float:
    """Each query's text on ``pyoxigraph.Store`` itself (the default graph as the union of
    the named graphs, as ``kg query`` sees it), every row consumed."""

    def answer(query: NamedQuery) -> None:
        _drain(store.query(query.bound_text(), use_default_graph_as_union=True))

    return _medians(answer, warm_up)


def _drain(result: object) -> None:
    if isinstance(result, ox.QuerySolutions | ox.QueryTriples):
        for _ in result:
            pass


def _median_seconds(work: Callable[[], object], repeat: int) -> float:
    return statistics.median(_seconds(work) for _ in range(repeat))


def _disk_bulk_load(nquads: Path, folder: Path) -> None:
    """Oxigraph's own load of the quads into a new on-disk store (RocksDB), flushed."""
    shutil.rmtree(folder, ignore_errors=True)
    store = ox.Store(str(folder))
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    store.flush()
    del store


def _parse(nquads: Path) -> int:
    return sum(1 for _ in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS))


def _times(seconds: float, *others: tuple[str, float]) -> str:
    """``seconds`` with its multiple of each other figure: ``52.1 (7.1× bulk load)``."""
    ratios = ", ".join(f"{seconds / other:.1f}× {name}" for name, other in others if other > 0)
    return f"{seconds:.1f} ({ratios})" if ratios else f"{seconds:.1f}"


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _touch_one_article(corpus: Path) -> None:
    article = sorted(corpus.glob("synthetic-*/claims/*.yaml"))[0]
    article.write_text(article.read_text("utf-8") + "# edited\n", encoding="utf-8")


def measure(
    size: int,
    claims: int,
    work: Path,
    rdflib_max: int,
    warm_up_max: int,
    ox_repeat: int,
    queries_max: int | None = None,
) -> dict[str, str]:
    articles = max(1, size // claims)
    corpus = work / f"corpus-{size}"
    _generator()(corpus, articles, claims)
    load_before = _load()
    out, out_nq = work / f"build-{size}", work / f"build-{size}-nq"
    cold = _build(corpus, out)
    cold_nq = _build(corpus, out_nq, ("nq",))
    nquads = out / "claimkg.nq"
    disk = _median_seconds(lambda: _disk_bulk_load(nquads, work / "ox-store"), ox_repeat)
    memory = _median_seconds(
        lambda: ox.Store().bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS), ox_repeat
    )
    parse = _median_seconds(lambda: _parse(nquads), ox_repeat)
    shutil.rmtree(work / "ox-store", ignore_errors=True)
    wall, wall_nq = float(cold["wall"]), float(cold_nq["wall"])  # type: ignore[arg-type]
    oxigraph = (("bulk load", disk), ("in-memory load", memory), ("parse", parse))
    _touch_one_article(corpus)
    again = _build(corpus, out)
    unchanged = _build(corpus, out)
    _build(corpus, out_nq, ())  # the N-Quads folder to the store alone (its file removed)
    _touch_one_article(corpus)
    store_only = _build(corpus, out_nq, ())
    row = {
        "claims": f"{articles * claims:,}",
        "triples": f"{cold['triples']:,}",
        "kg build, default: every format, validation, store (s)": _times(wall, *oxigraph),
        "kg build, N-Quads only (s)": _times(wall_nq, *oxigraph),
        "Oxigraph: bulk load on disk / in memory / parse (s)":
            f"{disk:.1f} / {memory:.1f} / {parse:.1f}",
        "peak memory, default / N-Quads (MB)":
            f"{cold['peak_mb']:.0f} / {cold_nq['peak_mb']:.0f}",
        "rebuild one article, default: wall of the build / CPU of the process (s)":
            f"{again['wall']:.2f} / {again['cpu']:.2f} ({again['rebuilt']} unit)",
        "rebuild one article, --format none (the store): wall / CPU (s)":
            f"{store_only['wall']:.2f} / {store_only['cpu']:.2f} ({store_only['rebuilt']} unit)",
        "build with nothing changed: wall of the build / CPU of the process (s)":
            f"{unchanged['wall']:.2f} / {unchanged['cpu']:.2f} ({unchanged['rebuilt']} units)",
    }  # fmt: skip
    store = ox.Store()
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    turtle = work / "out.ttl"
    ox_write = _seconds(
        lambda: ox.serialize(
            (q.triple for q in store.quads_for_pattern(None, None, None)), str(turtle),
            ox.RdfFormat.TURTLE,
        )
    )  # fmt: skip
    warm_up = articles * claims <= warm_up_max
    row["write Turtle: Oxigraph (s)"] = f"{ox_write:.1f}"
    if queries_max is None or articles * claims <= queries_max:
        ox_median = _kg_query_medians(open_store(out / "store", read_only=True), warm_up)
        direct = _direct_medians(ox.Store.read_only(str(out / "store")), warm_up)
        row |= {
            "query median: kg query's path (ms)":
                f"{ox_median * 1000:.1f} ({ox_median / direct:.1f}× direct)",
            "query median: pyoxigraph.Store direct (ms)": f"{direct * 1000:.1f}",
        }  # fmt: skip
    else:  # benchmarks/bench_queries.py times each query at this size
        row |= {k: "not run" for k in ("query median: kg query's path (ms)",
                                        "query median: pyoxigraph.Store direct (ms)")}  # fmt: skip
    if articles * claims <= rdflib_max:
        dataset = Dataset()
        rdf_load = _seconds(lambda: dataset.parse(nquads, format="nquads"))
        union = Graph()
        for quad in dataset.quads():
            union.add(quad[:3])
        rdf_write = _seconds(lambda: union.serialize(turtle, format="turtle"))
        rdf_median = _library_medians(union, warm_up)
        row |= {
            "load: rdflib (s)": f"{rdf_load:.1f} ({rdf_load / memory:.0f}× Oxigraph in memory)",
            "write Turtle: rdflib (s)": f"{rdf_write:.1f} ({rdf_write / ox_write:.0f}×)",
            "query median: rdflib (ms)": f"{rdf_median * 1000:.1f} ({rdf_median / direct:.0f}×)",
        }
    else:
        row |= {k: "not run" for k in ("load: rdflib (s)", "write Turtle: rdflib (s)",
                                        "query median: rdflib (ms)")}  # fmt: skip
    row["load average before / after (1/5/15 min)"] = f"{load_before} / {_load()}"
    shutil.rmtree(corpus)
    shutil.rmtree(out)
    shutil.rmtree(out_nq)
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
    parser.add_argument(
        "--results", type=Path, default=HERE / "results-scale.md", help="where the table goes"
    )
    parser.add_argument(
        "--queries-max",
        type=int,
        default=None,
        help="skip the query-library medians above this many claims (bench_queries.py times "
        "each query)",
    )
    parser.add_argument("--bundled-repeat", type=int, default=5, help="bundled builds (median)")
    parser.add_argument(
        "--ox-repeat", type=int, default=3, help="runs of each Oxigraph figure (the median)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cold, warm = bundled_cold_build(work, args.bundled_repeat)
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"measuring {size:,} claims…", file=sys.stderr, flush=True)
            rows.append(
                measure(
                    size,
                    args.claims,
                    work,
                    args.rdflib_max,
                    args.warm_up_max,
                    args.ox_repeat,
                    args.queries_max,
                )
            )
            print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    header = list(rows[0])
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row[h] for h in header) + " |" for row in rows),
        "",
        f"Bundled article, `kg build` (all formats) in a new process, median of "
        f"{args.bundled_repeat}: {cold:.2f} s with an empty build folder, {warm:.2f} s when "
        "nothing changed.",
        f"Articles of {args.claims} claims. Each build is one cold run in a new process; "
        f"Oxigraph's figures are medians of {args.ox_repeat} runs on the default build's "
        "claimkg.nq, and a build's multiples of them are from the same run. Query medians over "
        f"the {len(list_queries())} library queries (one warm-up run each up to "
        f"{args.warm_up_max:,} claims, a single run above): kg query's path is what "
        "`kg query` runs (Oxigraph alone, the table formatted), 'direct' the same text on "
        "pyoxigraph.Store, rows consumed; rdflib's multiples are "
        "of the direct figure, its load's of Oxigraph's in-memory load. Peak memory: the main "
        "process plus each build worker at the largest worker's peak (an upper bound).",
        f"Command: `nice .venv/bin/python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}`.",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    args.results.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
