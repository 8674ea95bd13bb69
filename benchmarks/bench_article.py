"""One article of growing size: does its cost grow linearly with its claims? (issue 13)

    .venv/bin/python benchmarks/bench_article.py [--claims 1000,10000] [--runs 3,2] [--jobs 2]

For each size, ``benchmarks/synthetic_corpus.py`` writes a corpus of one article of that
many claims, and ``kg build`` builds it into an empty folder in a new process (``--runs``
times: one count for every size, or one per size; each column is then the median).
Printed: a Markdown row per size with the wall time, the CPU time of ``kg build`` and its
workers, and the stages the build reports (load, graph, validation, cache, files), then
each measure's ratio to the first size's (10× the claims should cost at most about 10×),
and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = {
    "load": r": loaded [\d,]+ claims \(([\d.]+) s\)",
    "graph": r": built [\d,]+ triples \(([\d.]+) s\)",
    "validate": r": validated \(([\d.]+) s\)",
    "cache": r": cached \(([\d.]+) s\)",
    "files": r"(?:wrote \S+|rendered [^(]+) \(([\d.]+) s\)",
}


def measure(claims: int, jobs: int, work: Path, run: int = 0) -> dict[str, float]:
    corpus, out = work / f"corpus-{claims}", work / f"build-{claims}-{run}"
    if not corpus.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "synthetic_corpus.py"), str(corpus),
             "--articles", "1", "--claims", str(claims)],
            check=True, capture_output=True,
        )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "build", "--corpus", str(corpus), "--out", str(out),
         "--jobs", str(jobs)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"kg build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    row = {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    }
    for stage, pattern in STAGES.items():
        row[stage] = sum(float(m) for m in re.findall(pattern, done.stderr))
    triples = re.search(r"(\d+) triples \(rebuilt", done.stdout)
    row["triples"] = float(triples[1]) if triples else 0.0
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", default="1000,10000", help="sizes, comma-separated")
    parser.add_argument("--runs", default="1", help="runs per size (one count, or one per size)")
    parser.add_argument("--jobs", type=int, default=2, help="kg build --jobs (default 2)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.claims.split(",")]
    runs = [int(n) for n in args.runs.split(",")]
    runs = runs * len(sizes) if len(runs) == 1 else runs
    if len(runs) != len(sizes):
        parser.error("--runs: give one count, or one per size")
    load = os.getloadavg()
    columns = ["wall", "cpu", *STAGES]
    print("| claims | triples | " + " | ".join(f"{c} (s)" for c in columns) + " |")
    print("|---:|---:|" + "---:|" * len(columns))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-article-") as work:
        for claims, count in zip(sizes, runs, strict=True):
            each = [measure(claims, args.jobs, Path(work), n) for n in range(count)]
            row = {c: statistics.median(r[c] for r in each) for c in each[0]}
            rows.append(row)
            cells = " | ".join(f"{row[c]:.1f}" for c in columns)
            print(f"| {claims:,} | {int(row['triples']):,} | {cells} |", flush=True)
    first = rows[0]
    for claims, row in zip(sizes[1:], rows[1:], strict=True):
        ratios = " | ".join(f"{row[c] / first[c]:.1f}×" if first[c] else "—" for c in columns)
        print(f"| {claims:,} ÷ {sizes[0]:,} | | {ratios} |")
    runs_text = ", ".join(f"{n} at {c:,}" for c, n in zip(sizes, runs, strict=True))
    before, after = (" ".join(f"{x:.1f}" for x in avg) for avg in (load, os.getloadavg()))
    print(f"\nMedians of {runs_text} claims; load average (1, 5, 15 min):", end=" ")
    print(f"{before} before, {after} after.")


if __name__ == "__main__":
    main()
