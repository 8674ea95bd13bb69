"""A real SPARQL server for the tests: Oxigraph's server CLI (PyPI package ``oxigraph``,
installed with the test extras), started on a free loopback port and always stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def oxigraph_binary() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    assert found, "the oxigraph server CLI is missing: make test installs it (pip install oxigraph)"
    return found


@contextmanager
def oxigraph_server(folder: Path, *options: str) -> Iterator[str]:
    """Serve a store in ``folder``; yield the base URL (``/query``, ``/update``, ``/store``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    command = [oxigraph_binary(), "serve", "--location", str(folder / "store"), "--bind", base[7:]]
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen([*command, *options], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (folder / "server.log").read_text()
                assert time.monotonic() < deadline, "oxigraph did not start within 30 s"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
