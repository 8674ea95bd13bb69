"""Query-library benchmark (not part of the test suite): every library query at each corpus
size, as ``kg query`` runs it (``kg.queries.run_on_store``, then the table) beside the same
bound SPARQL run directly on ``pyoxigraph.Store`` (the rows consumed, nothing formatted),
with the rows each returns. A query whose time grows faster than its rows between sizes is
flagged ``grows``; the queries tagged ``selective`` must answer in under 50 ms at 100k
claims and within 2x of Oxigraph's own time.

    .venv/bin/python benchmarks/bench_queries.py [--sizes 1000,10000,100000] [--claims 100]
    .venv/bin/python benchmarks/bench_queries.py --build 10000=build-10k [--build …]

``--build SIZE=DIR`` times an existing build folder's store instead of generating and
building a synthetic corpus of that size (``benchmarks/synthetic_corpus.py``). Each query
runs once to warm up, then ``--repeat`` times (default 3); the figure is the median.
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
Timing = tuple[float, float, int]
"""kg's seconds, Oxigraph's seconds, rows."""


def _generate(corpus: Path, claims_total: int, per_article: int) -> None:
    spec = importlib.util.spec_from_file_location("synthetic_corpus", HERE / "synthetic_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_corpus"] = module
    spec.loader.exec_module(module)
    module.generate(corpus, max(1, claims_total // per_article), per_article)


def _median(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up: parsing, caches, pages
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(store: ox.Store, queries: list[NamedQuery], repeat: int) -> dict[str, Timing]:
    """Query name → (kg seconds, Oxigraph seconds, rows)."""
    found = {}
    for query in queries:
        text = query.bound_text()

        def kg_path(query: NamedQuery = query) -> str:
            answer = run_on_store(store, query)
            assert answer is not None, query.name
            return format_result(answer)

        def direct(text: str = text) -> int:
            answer = store.query(text, use_default_graph_as_union=True)
            assert isinstance(answer, ox.QuerySolutions), text[:80]
            return sum(1 for _ in answer)

        rows = direct()
        found[query.name] = (_median(kg_path, repeat), _median(direct, repeat), rows)
        print(f"  {query.name}: {found[query.name][0] * 1000:.1f} ms", file=sys.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--claims", type=int, default=100, help="claims per article")
    parser.add_argument("--build", action="append", default=[], metavar="SIZE=DIR")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", type=Path, default=HERE / "results-queries.md")
    args = parser.parse_args()
    queries = list_queries()
    selective = {q.name for q in queries if "selective" in q.tags}
    given = {int(s.split("=")[0]): Path(s.split("=", 1)[1]) for s in args.build}
    sizes = sorted(given) if given else [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, Timing]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            print(f"{size:,} claims…", file=sys.stderr, flush=True)
            folder = given.get(size)
            if folder is None:
                corpus, folder = Path(tmp) / f"corpus-{size}", Path(tmp) / f"build-{size}"
                _generate(corpus, size, args.claims)
                build(corpus, folder, formats=("nq",))
            store = ox.Store.read_only(str(folder / STORE))
            results[size] = measure(store, queries, args.repeat)
    header = ["query"] + [f"{s:,}: kg / Oxigraph ms (rows)" for s in sizes] + ["note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for query in queries:
        cells = []
        for size in sizes:
            ours, theirs, rows = results[size][query.name]
            cells.append(f"{ours * 1000:.1f} / {theirs * 1000:.1f} ({rows})")
        notes = []
        if len(sizes) > 1:
            t0, _, r0 = results[sizes[-2]][query.name]
            t1, _, r1 = results[sizes[-1]][query.name]
            time_growth, row_growth = t1 / max(t0, 1e-4), max(r1, 1) / max(r0, 1)
            if time_growth > 2 * row_growth and t1 > 0.01:
                notes.append(f"grows {time_growth:.0f}× for {row_growth:.0f}× rows")
        if query.name in selective:
            ours, theirs, _ = results[sizes[-1]][query.name]
            verdict = "ok" if ours < 0.05 and ours <= 2 * theirs else "MISSES"
            notes.append(f"selective: {verdict} (<50 ms, ≤2× Oxigraph)")
        lines.append(f"| {query.name} | " + " | ".join(cells) + f" | {'; '.join(notes)} |")
    load = os.getloadavg()[0]
    lines += ["", f"Load average at the end: {load:.1f} on {os.cpu_count()} cores; median of "
              f"{args.repeat} runs after a warm-up; kg = run_on_store + table."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    args.results.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
