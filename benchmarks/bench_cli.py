"""How long the command line takes to answer ``kg --help``, ``kg query --list`` (issue 13:
under 0.3 s; neither imports an RDF library, tests/test_error_contract.py checks) and
``kg query trial-hazard-ratios`` on an up-to-date build folder's store (issue 15: under
0.3 s; it imports no RDF library nor PyYAML, tests/test_query_startup.py checks).

    .venv/bin/python benchmarks/bench_cli.py [--repeat 10] [--build DIR]

Each command runs ``--repeat`` times in a new process (the installed ``kg`` script of this
venv); printed: the median and the fastest wall time, and the median CPU time (user +
system) of the process, which a loaded machine changes less. The query's build folder
(``--build``, default a temporary one) is brought up to date once before it is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KG = Path(sys.executable).with_name("kg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--build", type=Path, help="build folder of the query (default: a new one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        build = args.build or Path(scratch) / "build"
        subprocess.run([str(KG), "build", "--out", str(build), "-q"], check=True)
        query = ["query", "trial-hazard-ratios", "--build", str(build), "-q"]
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("| command | median wall (s) | fastest wall (s) | median CPU (s) |")
        print("|---|---:|---:|---:|")
        for command in (["--help"], ["query", "--list"], ["--version"], query):
            walls, cpus = [], []
            for _ in range(args.repeat):
                before = os.times()
                clock = time.perf_counter()
                subprocess.run([str(KG), *command], check=True, capture_output=True)
                walls.append(time.perf_counter() - clock)
                after = os.times()
                cpus.append(
                    after.children_user
                    - before.children_user
                    + after.children_system
                    - before.children_system
                )
            shown = " ".join(["kg", *command[:2]])
            print(
                f"| `{shown}` | {statistics.median(walls):.3f} | {min(walls):.3f} "
                f"| {statistics.median(cpus):.3f} |"
            )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
