"""SPARQL servers for the tests, on loopback, always stopped: a fake one (an rdflib Dataset
behind the SPARQL 1.1 protocols, which records and can fail every request), Oxigraph's server
(PyPI package ``oxigraph``, a test extra) and Virtuoso 7 (Debian's ``virtuoso-opensource``,
installed by the test setup when missing)."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from rdflib import Dataset, Graph, URIRef

# ---------------------------------------------------------------- a fake SPARQL server


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def text(self) -> str:
        """The update, the query, or the uploaded N-Triples."""
        if self.headers.get("content-type") == "application/x-www-form-urlencoded":
            return urllib.parse.parse_qs(self.body.decode())["query"][0]
        return self.body.decode("utf-8")

    @property
    def graph(self) -> str | None:
        """The ``?graph=`` of a Graph Store request."""
        found = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("graph")
        return found[0] if found else None


@dataclass
class Reply:
    status: int = 500
    body: bytes = b"failed on purpose"
    headers: dict[str, str] = field(default_factory=dict)


CUT = "cut"  # a fault that closes the connection without an answer
APPLY_THEN_CUT = "apply then cut"  # the request takes effect, its answer is lost

Fault = Callable[[Seen], Reply | str | None]


class FakeStore(ThreadingHTTPServer):
    """SPARQL 1.1 on loopback: ``/update`` (Update), ``/query`` (form-encoded queries, JSON
    results), ``/store?graph=`` (Graph Store PUT/POST/HEAD), backed by one rdflib Dataset.

    ``fault(seen)`` may answer a request instead (a Reply), or cut the connection (CUT,
    APPLY_THEN_CUT). With ``authorized`` set, requests whose Authorization it refuses get a
    401 with ``challenge``, answered without reading a body (as Virtuoso does). ``states``
    holds every graph's triples after each request: what readers could see.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dataset = Dataset()
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.states: list[dict[str, frozenset[Any]]] = []
        self.fault: Fault | None = None
        self.challenge = 'Basic realm="x"'
        self.authorized: Callable[[str | None], bool] | None = None
        self.drip: float | None = None  # seconds between the bytes of every answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and left is part of the test, not an error."""

    def load(self, iri: str, lines: list[str]) -> None:
        self.dataset.graph(URIRef(iri)).parse(data="\n".join(lines) + "\n", format="nt")

    def triples(self, iri: str) -> Graph:
        graph = Graph()
        for triple in self.dataset.graph(URIRef(iri)):
            graph.add(triple)
        return graph

    def graph_names(self) -> set[str]:
        names = {str(g.identifier) for g in self.dataset.graphs() if len(g)}
        return names - {"urn:x-rdflib:default"}

    def snapshot(self) -> None:
        self.states.append({name: frozenset(self.triples(name)) for name in self.graph_names()})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        server = cast(FakeStore, self.server)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if server.authorized is not None and not server.authorized(headers.get("authorization")):
            # like Virtuoso: the challenge goes out before the body is read, and the
            # connection is closed (a client still sending gets a broken pipe)
            server.seen.append(Seen(self.command, self.path, headers, b""))
            self._send(401, b"who are you?", {"WWW-Authenticate": server.challenge}, close=True)
            return
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        seen = Seen(self.command, self.path, headers, body)
        server.seen.append(seen)
        fault = server.fault(seen) if server.fault is not None else None
        if fault == CUT:
            self._cut()
            return
        if isinstance(fault, Reply):
            self._send(fault.status, fault.body, fault.headers)
            return
        with server.lock:
            status, answer, content_type = _serve(server, seen)
            server.snapshot()
        if fault == APPLY_THEN_CUT:
            self._cut()
            return
        self._send(status, answer, {"Content-Type": content_type} if content_type else {})

    def _send(self, status: int, body: bytes, headers: dict[str, str], close: bool = False) -> None:
        server = cast(FakeStore, self.server)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if server.drip is None or not body:
            self.wfile.write(body)
            return
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(server.drip)

    def _cut(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    do_PUT = _answer
    do_POST = _answer
    do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: FakeStore, seen: Seen) -> tuple[int, bytes, str]:
    """What a real store would do with the request."""
    dataset = server.dataset
    path = urllib.parse.urlsplit(seen.path).path
    try:
        if seen.method == "HEAD":
            return 200, b"", ""
        if path == "/update" and seen.method == "POST":
            dataset.update(seen.text)
            return 204, b"", ""
        if path == "/query" and seen.method == "POST":
            result = dataset.query(seen.text).serialize(format="json")
            return 200, cast(bytes, result), "application/sparql-results+json"
        if path == "/store" and seen.graph is not None and seen.method in ("PUT", "POST"):
            graph = dataset.graph(URIRef(seen.graph))
            if seen.method == "PUT":
                graph.remove((None, None, None))
            graph.parse(data=seen.text, format="nt")
            return 204, b"", ""
    except Exception as error:  # the server's own words, as a real one would answer
        return 400, f"Parse error: {error}".encode(), "text/plain"
    return 405, b"no such service", "text/plain"


_Server = TypeVar("_Server", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: _Server) -> Iterator[_Server]:
    """Run ``server`` in a thread; shut it down on the way out."""
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------- Oxigraph


def oxigraph_binary() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    assert found, "the oxigraph server CLI is missing: make test installs it (pip install oxigraph)"
    return found


@contextmanager
def oxigraph_server(folder: Path, *options: str) -> Iterator[str]:
    """Serve a store in ``folder``; yield the base URL (``/query``, ``/update``, ``/store``)."""
    base = f"http://127.0.0.1:{free_port()}"
    command = [oxigraph_binary(), "serve", "--location", str(folder / "store"), "--bind", base[7:]]
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen([*command, *options], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(f"{base}/", server, folder / "server.log", "oxigraph", 30)
        yield base
    finally:
        _stop(server, grace=10)


# ---------------------------------------------------------------- Virtuoso

VIRTUOSO_PACKAGE = "virtuoso-opensource"
_install: list[str] = []  # the outcome of this session's one install attempt ("" = installed)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def virtuoso_binary() -> str:
    """Debian's ``virtuoso-t``, installed with apt-get (once per session) when missing; the
    test is skipped, saying why, only when it cannot be installed."""
    found = shutil.which("virtuoso-t")
    if found:
        return found
    if not _install:
        _install.append(apt_install(VIRTUOSO_PACKAGE))
    found = shutil.which("virtuoso-t")
    if not found:
        pytest.skip(f"Virtuoso is not installed and could not be: {_install[0]}")
    return found


def apt_install(package: str) -> str:
    """Install a Debian package; what went wrong, or "" when it is installed."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this system"
    if os.geteuid() != 0:
        return f"installing {package} needs root (apt-get install -y {package})"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # pytest-xdist runs test files in parallel: two installs at once would fight over
    # dpkg's lock, so they take turns on one of ours.
    with open(Path(tempfile.gettempdir()) / "claimkg-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
            try:
                done = subprocess.run(
                    command, env=environment, capture_output=True, text=True, timeout=900
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return f"{' '.join(command)}: {error}"
            if done.returncode != 0:
                return f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}"
    return ""


@dataclass(frozen=True)
class Virtuoso:
    """A running Virtuoso: SPARQL Update and queries at ``/sparql-auth``, the Graph Store at
    ``/sparql-graph-crud-auth`` (both Digest, dba/dba), anonymous queries at ``/sparql``."""

    base: str
    user: str = "dba"
    password: str = "dba"

    @property
    def update(self) -> str:
        return f"{self.base}/sparql-auth"

    @property
    def graph_store(self) -> str:
        return f"{self.base}/sparql-graph-crud-auth"

    @property
    def query(self) -> str:
        return f"{self.base}/sparql"


_VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = .
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}/www
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
"""


@contextmanager
def virtuoso_server(folder: Path) -> Iterator[Virtuoso]:
    """Virtuoso from a private ``virtuoso.ini`` in ``folder``: its database there, both of
    its ports on 127.0.0.1. It takes ~15 s to create its database on the first start."""
    binary = virtuoso_binary()
    (folder / "www").mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        _VIRTUOSO_INI.format(folder=folder, sql_port=free_port(), http_port=http_port),
        encoding="utf-8",
    )
    server = Virtuoso(f"http://127.0.0.1:{http_port}")
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "+foreground", "+configfile", str(ini)],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ask = f"{server.query}?" + urllib.parse.urlencode({"query": "ASK {}"})
        _wait_until_answering(ask, process, folder / "server.log", "Virtuoso", 180)
        yield server
    finally:
        _stop(process, grace=30)


def _wait_until_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, name: str, seconds: float
) -> None:
    """Poll ``url`` until the server answers; fail with its log if it dies or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{name} did not start within {seconds:g} s"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
