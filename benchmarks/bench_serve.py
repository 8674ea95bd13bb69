"""Load benchmark of ``kg serve`` on loopback, beside Oxigraph's own time for the same query.

A bounded client (a fixed number of requests per run, each connection a thread with one
keep-alive HTTP connection) measures requests/s and p50/p99 latency of a ``COUNT(*)`` and of
a library question at 1, 4 and 16 connections, then ``ASK {}`` latency while a heavy query
runs. The same ``COUNT(*)`` is timed directly on ``pyoxigraph.Store`` in this process, so the
endpoint's cost is quoted as a ratio, not as an absolute time.

    .venv/bin/python benchmarks/bench_serve.py [--requests 400] [--build DIR]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_serve import HEAVY, start_server, stop_server

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
QUESTION = "/queries/claims-by-type"


def _path(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


def _load(port: int, path: str, connections: int, requests: int) -> tuple[float, list[float]]:
    """Requests/s and every latency (s) for ``requests`` GETs over ``connections``."""
    latencies: list[float] = []
    lock = threading.Lock()
    share = [requests // connections + (i < requests % connections) for i in range(connections)]

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Accept": "application/sparql-results+json"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _direct(store: ox.Store, query: str, repeat: int) -> float:
    """Median seconds of the query on the store itself, its answer read in full."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = store.query(query, use_default_graph_as_union=True)
        assert isinstance(result, ox.QuerySolutions)
        list(result)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per run")
    parser.add_argument("--build", type=Path, default=Path("build/bench-serve"))
    args = parser.parse_args()
    process, port = start_server(args.build, "--timeout", "10")
    try:
        store = ox.Store.read_only(str(args.build / "store"))
        direct = _direct(store, COUNT, 50)
        print(f"COUNT(*) directly on pyoxigraph.Store: median {direct * 1000:.2f} ms")
        print("| request | connections | requests/s | p50 | p99 | p50 ÷ direct |")
        print("|---|---|---|---|---|---|")
        for label, path in (("COUNT(*)", _path(COUNT)), ("claims-by-type", QUESTION)):
            for connections in (1, 4, 16):
                rate, latencies = _load(port, path, connections, args.requests)
                p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
                ratio = f"{p50 / direct:.1f}×" if label == "COUNT(*)" else "—"
                print(f"| {label} | {connections} | {rate:.0f} | {p50 * 1000:.1f} ms | "
                      f"{p99 * 1000:.1f} ms | {ratio} |", flush=True)  # fmt: skip
        heavy = threading.Thread(target=_heavy, args=(port,))
        heavy.start()
        time.sleep(0.5)
        _, latencies = _load(port, _path("ASK {}"), 1, 200)
        heavy.join()
        print(f"ASK {{}} while a heavy query runs: p50 {_percentile(latencies, 0.5) * 1000:.1f} ms,"
              f" p99 {_percentile(latencies, 0.99) * 1000:.1f} ms (200 requests)")  # fmt: skip
    finally:
        stop_server(process)


def _heavy(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", _path(HEAVY))
    status = connection.getresponse().status
    assert status == 503, f"the heavy query should hit the time limit, got {status}"
    connection.close()


if __name__ == "__main__":
    main()
