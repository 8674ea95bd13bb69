"""How long the command line takes to answer ``kg --help`` and ``kg query --list``
(issue 13: under 0.3 s; neither imports an RDF library, tests/test_error_contract.py checks).

    .venv/bin/python benchmarks/bench_cli.py [--repeat 10]

Each command runs ``--repeat`` times in a new process (the installed ``kg`` script of this
venv); printed: the median and the fastest wall time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

KG = Path(sys.executable).with_name("kg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print("| command | median (s) | fastest (s) |")
    print("|---|---:|---:|")
    for command in (["--help"], ["query", "--list"], ["--version"]):
        times = []
        for _ in range(args.repeat):
            clock = time.perf_counter()
            subprocess.run([str(KG), *command], check=True, capture_output=True)
            times.append(time.perf_counter() - clock)
        shown = " ".join(["kg", *command])
        print(f"| `{shown}` | {statistics.median(times):.3f} | {min(times):.3f} |")


if __name__ == "__main__":
    main()
