"""Query-library benchmark (not part of the test suite): every library query at each corpus
size, as ``kg query`` runs it (``kg.queries.run_on_store``, then the table) beside the same
bound SPARQL run directly on ``pyoxigraph.Store`` (the rows consumed, nothing formatted),
with the rows each returns. The queries tagged ``selective`` must answer in under 50 ms at
the largest size and within 2x of Oxigraph's own time; no query may take more than 10x as
long at the largest size as at the one before (10x the claims); one tagged ``corpus-wide``
(its answer has rows from every article that states such a claim) is marked so beside it.
A query whose time grows faster than its rows between sizes is flagged ``grows``.

    .venv/bin/python benchmarks/bench_queries.py [--sizes 1000,10000,100000] [--claims 100]
    .venv/bin/python benchmarks/bench_queries.py --build 10000=build-10k [--build …]
    .venv/bin/python benchmarks/bench_queries.py --build 10000=build-10k --only a,b --queries DIR

``--in-memory`` also times the direct SPARQL on an in-memory ``pyoxigraph.Store`` bulk-loaded
from the folder's ``claimkg.nq``, and its growth: Oxigraph's on-disk store (RocksDB, as
``kg query`` reads it) grows faster than its in-memory one (results-queries.md).

``--build SIZE=DIR`` times an existing build folder's store instead of generating and
building a synthetic corpus of that size (``benchmarks/synthetic_corpus.py``); ``--queries``
times the ``.rq`` files of another folder (an earlier version of the library), ``--only``
some queries by name. Each query runs once to warm up, then ``--repeat`` times (default 3);
the figures are the medians of the wall time and of the process's CPU time (user+sys: the
machine may be loaded by other work), with the load average before and after each size.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from kg.pipeline import STORE, build
from kg.queries import NamedQuery, format_result, list_queries, run_on_store

HERE = Path(__file__).resolve().parent
# A selective question asked of the synthetic corpus about what stays as small at any size:
# a trial (the pool grows with the corpus, each trial keeps about five articles) rather than
# the defaults, lerociclib and CDK4, which every synthetic article mentions (their claims
# grow with the corpus). claim-provenance keeps its default, absent from the synthetic
# corpus (synthetic claim ids repeat in every article): it times finding nothing.
PARAMETERS = {
    "claims-about-entity": {"entity": "LEONARDA-1"},
    "claims-about-external-id": {"external": "http://bio2rdf.org/clinicaltrials:NCT05054751"},
}
Timing = tuple[float, float, float, float, int, float | None]
"""kg's wall and CPU seconds, Oxigraph's wall and CPU seconds, rows, and the CPU seconds of
Oxigraph in memory (None: not measured)."""


def _generate(corpus: Path, claims_total: int, per_article: int) -> None:
    spec = importlib.util.spec_from_file_location("synthetic_corpus", HERE / "synthetic_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_corpus"] = module
    spec.loader.exec_module(module)
    module.generate(corpus, max(1, claims_total // per_article), per_article)


def _median(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` runs after a warm-up."""
    work()  # warm-up: parsing, caches, pages
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def measure(
    store: ox.Store, queries: list[NamedQuery], repeat: int, memory: ox.Store | None = None
) -> dict[str, Timing]:
    """Query name → (kg seconds, Oxigraph seconds, rows, Oxigraph in memory CPU seconds)."""
    found: dict[str, Timing] = {}
    for query in queries:
        given = PARAMETERS.get(query.name, {})
        text = query.bound_text(given)

        def kg_path(query: NamedQuery = query, given: dict[str, str] = given) -> str:
            answer = run_on_store(store, query, given)
            assert answer is not None, query.name
            return format_result(answer)

        def direct(text: str = text, on: ox.Store = store) -> int:
            answer = on.query(text, use_default_graph_as_union=True)
            assert isinstance(answer, ox.QuerySolutions), text[:80]
            return sum(1 for _ in answer)

        rows = direct()
        in_memory = None
        if memory is not None:
            assert direct(on=memory) == rows, query.name  # the same data, the same answer
            in_memory = _median(lambda: direct(on=memory), repeat)[1]
        found[query.name] = (*_median(kg_path, repeat), *_median(direct, repeat), rows, in_memory)
        print(f"  {query.name}: {found[query.name][0] * 1000:.1f} ms", file=sys.stderr, flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--claims", type=int, default=100, help="claims per article")
    parser.add_argument("--build", action="append", default=[], metavar="SIZE=DIR")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", type=Path, default=HERE / "results-queries.md")
    parser.add_argument("--queries", type=Path, help="folder of .rq files (default: the library)")
    parser.add_argument("--only", help="comma-separated query names (default: all)")
    parser.add_argument("--in-memory", action="store_true",
                        help="also time Oxigraph in memory on the folder's claimkg.nq")  # fmt: skip
    args = parser.parse_args()
    queries = list_queries(args.queries)
    if args.only:
        wanted = set(args.only.split(","))
        if unknown := wanted - {q.name for q in queries}:
            parser.error(f"--only: no such queries: {', '.join(sorted(unknown))}")
        queries = [q for q in queries if q.name in wanted]
    selective = {q.name for q in queries if "selective" in q.tags}
    given = {int(s.split("=")[0]): Path(s.split("=", 1)[1]) for s in args.build}
    sizes = sorted(given) if given else [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, Timing]] = {}
    loads: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            print(f"{size:,} claims…", file=sys.stderr, flush=True)
            folder = given.get(size)
            if folder is None:
                corpus, folder = Path(tmp) / f"corpus-{size}", Path(tmp) / f"build-{size}"
                _generate(corpus, size, args.claims)
                build(corpus, folder, formats=("nq",))
            store = ox.Store.read_only(str(folder / STORE))
            memory = None
            if args.in_memory:
                memory = ox.Store()
                memory.bulk_load(path=str(folder / "claimkg.nq"), format=ox.RdfFormat.N_QUADS)
            before = os.getloadavg()[0]
            results[size] = measure(store, queries, args.repeat, memory)
            loads[size] = (before, os.getloadavg()[0])
    lines = _table(queries, sizes, results, selective, _corpus_wide(queries))
    lines += ["", "Cells: kg wall / CPU ms, Oxigraph direct wall / CPU ms (rows); medians of "
              f"{args.repeat} runs after a warm-up; kg = run_on_store + table; in memory: "
              "Oxigraph's CPU ms on an in-memory store of the same quads (--in-memory). Ratio: "
              "kg CPU at the last size over the one before. Load average (1 min) before and "
              "after each "
              "size: " + ", ".join(f"{s:,}: {a:.1f}-{b:.1f}" for s, (a, b) in loads.items())
              + f", on {os.cpu_count()} cores."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    args.results.write_text(text, encoding="utf-8")
    print(text)


def _corpus_wide(queries: list[NamedQuery]) -> set[str]:
    """The queries tagged as answering for every article of the corpus."""
    return {q.name for q in queries if "corpus-wide" in q.tags}


def _table(
    queries: list[NamedQuery],
    sizes: list[int],
    results: dict[int, dict[str, Timing]],
    selective: set[str],
    corpus_wide: set[str],
) -> list[str]:
    """The Markdown table: a column per size, the growth ratio, the verdicts."""
    header = ["query"] + [f"{s:,}: kg / Oxigraph ms (rows)" for s in sizes]
    header += ["ratio"] if len(sizes) > 1 else []
    lines = ["| " + " | ".join([*header, "note"]) + " |", "|" + "---|" * (len(header) + 1)]
    for query in queries:
        cells = []
        for size in sizes:
            wall, cpu, ox_wall, ox_cpu, rows, in_memory = results[size][query.name]
            memory = "" if in_memory is None else f", in memory {in_memory * 1000:.1f}"
            cells.append(
                f"{wall * 1000:.1f} / {cpu * 1000:.1f}, {ox_wall * 1000:.1f} / "
                f"{ox_cpu * 1000:.1f}{memory} ({rows})"
            )
        notes = []
        if len(sizes) > 1:
            _, c0, _, _, r0, m0 = results[sizes[-2]][query.name]
            _, c1, _, _, r1, m1 = results[sizes[-1]][query.name]
            time_growth, row_growth = c1 / max(c0, 1e-4), max(r1, 1) / max(r0, 1)
            cells.append(f"{time_growth:.1f}")
            if time_growth > 2 * row_growth and c1 > 0.01:
                notes.append(f"grows {time_growth:.0f}× for {row_growth:.0f}× rows")
            if time_growth > 10 and c1 > 0.01:
                wide = query.name in corpus_wide
                notes.append("over 10×: MISSES" + (" (corpus-wide)" if wide else ""))
            if m0 is not None and m1 is not None:
                notes.append(f"Oxigraph in memory grows {m1 / max(m0, 1e-4):.1f}×")
        if query.name in selective:
            wall, cpu, ox_wall, ox_cpu, _, _ = results[sizes[-1]][query.name]
            ok = cpu < 0.05 and cpu <= 2 * max(ox_cpu, 1e-3)  # CPU: the machine may be loaded
            notes.append(f"selective: {'ok' if ok else 'MISSES'} (CPU <50 ms, ≤2× Oxigraph's)")
        lines.append(f"| {query.name} | " + " | ".join(cells) + f" | {'; '.join(notes)} |")
    return lines


if __name__ == "__main__":
    main()
