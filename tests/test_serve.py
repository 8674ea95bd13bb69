"""`kg serve` as clients and attackers meet it: a real server process on a free loopback port,
queried over HTTP, its answers compared with Oxigraph's own on the same store, and every
attack of the endpoint issue (outbound requests, file reads, frozen server, unbounded
queries, malformed input) tried against it."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

PREFIXES = "PREFIX ckg: <https://w3id.org/claimkg/vocab/>\n"
CLAIM_COUNT = PREFIXES + "SELECT (COUNT(?c) AS ?n) WHERE { ?c a ckg:Claim }"
HAS_CLAIM = PREFIXES + "ASK { ?c a ckg:Claim }"
CONSTRUCT_TYPES = PREFIXES + "CONSTRUCT { ?c a ckg:Claim } WHERE { ?c a ckg:Claim }"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TIMEOUT = 3.0
MAX_ROWS = 1000
MAX_BODY = 65536


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    store: ox.Store  # the same data, opened directly: the reference for every answer

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def get(
        self, query: str, accept: str = "application/sparql-results+json"
    ) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                            headers={"Accept": accept})  # fmt: skip

    def direct(self, query: str) -> list[dict[str, str]]:
        """Oxigraph's own answer, as {variable: lexical value} rows."""
        solutions = self.store.query(query, use_default_graph_as_union=True)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]


def start_server(build: Path, *options: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--build", str(build),
         *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"kg serve exited {process.returncode}:\n{output}") from None
            assert time.monotonic() < deadline, "kg serve did not start within 120 s"
            time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    assert process.wait(timeout=20) is not None  # stops on SIGTERM, workers included
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    build = tmp_path_factory.mktemp("serve-build")
    process, port = start_server(
        build, "--timeout", str(TIMEOUT), "--max-rows", str(MAX_ROWS),
        "--max-body", str(MAX_BODY), "--workers", "2",
    )  # fmt: skip
    try:
        yield Server(f"http://127.0.0.1:{port}", port, process,
                     ox.Store.read_only(str(build / "store")))  # fmt: skip
    finally:
        stop_server(process)


class Listener:
    """A loopback TCP port that records every connection made to it (an outbound request)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.2)
        self.port = int(self.socket.getsockname()[1])
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    probe = Listener()
    try:
        yield probe
    finally:
        probe.close()


def worker_cpu_seconds(server_pid: int) -> float:
    """CPU time used so far by the server's child processes (its query workers)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server_pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def workers_idle(server_pid: int, within: float = 10.0) -> bool:
    """True once the workers burn (almost) no CPU over half a second."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = worker_cpu_seconds(server_pid)
        time.sleep(0.5)
        if worker_cpu_seconds(server_pid) - before < 0.15:
            return True
    return False


# ------------------------------------------------------------------ the protocol


def _wrapper(server: Server, query: str, output: str, method: str = "GET") -> bytes:
    client = SPARQLWrapper(f"{server.base}/sparql")
    client.setQuery(query)
    client.setReturnFormat(output)
    client.setMethod(method)
    body = client.query().response.read()
    assert isinstance(body, bytes)
    return body


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_in_every_result_format(server: Server, method: str) -> None:
    [expected] = server.direct(CLAIM_COUNT)
    assert int(expected["n"]) > 0
    as_json = json.loads(_wrapper(server, CLAIM_COUNT, JSON, method))
    assert as_json["results"]["bindings"][0]["n"]["value"] == expected["n"]
    assert f">{expected['n']}</literal>".encode() in _wrapper(server, CLAIM_COUNT, XML, method)
    as_csv = _wrapper(server, CLAIM_COUNT, CSV, method).decode()
    assert list(csv.reader(io.StringIO(as_csv))) == [["n"], [expected["n"]]]
    tsv = _wrapper(server, CLAIM_COUNT, TSV, method).decode().splitlines()
    assert tsv[0] == "?n" and tsv[1].startswith(f'"{expected["n"]}"^^')


def test_ask_in_json_and_xml(server: Server) -> None:
    assert json.loads(_wrapper(server, HAS_CLAIM, JSON))["boolean"] is True
    assert b"<boolean>true</boolean>" in _wrapper(server, HAS_CLAIM, XML)


@pytest.mark.parametrize(
    ("accept", "rdf_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
    ],
)
def test_construct_in_rdf_formats(server: Server, accept: str, rdf_format: str) -> None:
    expected = {r["c"] for r in server.direct(PREFIXES + "SELECT ?c WHERE { ?c a ckg:Claim }")}
    status, headers, body = server.get(CONSTRUCT_TYPES, accept)
    assert status == 200 and headers["content-type"].startswith(accept)
    graph = Graph().parse(data=body, format=rdf_format)
    assert {str(s) for s in graph.subjects()} == expected


def test_describe_is_served_as_rdf(server: Server) -> None:
    [claim] = server.direct(PREFIXES + "SELECT ?c WHERE { ?c a ckg:Claim } LIMIT 1")
    status, headers, body = server.get(f"DESCRIBE <{claim['c']}>", "*/*")
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    assert len(Graph().parse(data=body, format="turtle")) > 0


def test_rdflib_sparqlstore_reads_the_endpoint(server: Server) -> None:
    store = SPARQLStore(f"{server.base}/sparql")
    [(count,)] = list(store.query(CLAIM_COUNT))  # type: ignore[misc]
    assert str(count) == server.direct(CLAIM_COUNT)[0]["n"]
    assert store.query(HAS_CLAIM).askAnswer is True


def test_query_body_and_form_posts(server: Server) -> None:
    expected = server.direct(CLAIM_COUNT)[0]["n"]
    for body, media_type in (
        (CLAIM_COUNT.encode(), "application/sparql-query"),
        (
            urllib.parse.urlencode({"query": CLAIM_COUNT}).encode(),
            "application/x-www-form-urlencoded",
        ),
    ):
        headers = {"Content-Type": media_type, "Accept": "text/csv"}
        status, _, answer = server.request("POST", "/sparql", body, headers)
        assert status == 200 and answer.decode().split() == ["n", expected]


def test_form_bodies_are_decoded_once(server: Server) -> None:
    query = 'SELECT ?x WHERE { BIND("a%2Bb+c" AS ?x) }'
    body = urllib.parse.urlencode({"query": query}).encode()
    status, _, answer = server.request("POST", "/sparql", body,
        {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 200
    assert json.loads(answer)["results"]["bindings"][0]["x"]["value"] == "a%2Bb+c"


def test_every_query_runs_on_oxigraph(server: Server) -> None:
    # Oxigraph keeps decimals as values ("0.50" becomes "0.5"), rdflib keeps the lexical form:
    # the endpoint answers as Oxigraph does.
    status, _, answer = server.get(
        'SELECT ?x WHERE { BIND("0.50"^^<http://www.w3.org/2001/XMLSchema#decimal> AS ?x) }'
    )
    assert status == 200
    assert json.loads(answer)["results"]["bindings"][0]["x"]["value"] == "0.5"


# ------------------------------------------------------------------ outbound requests


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
        "PREFIX r: <http://127.0.0.1:{port}/> SELECT * WHERE {{ service r:x {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/\\u0041> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ VALUES ?u {{ <http://127.0.0.1:{port}/> }} SERVICE ?u {{ ?s ?p ?o }} }}",
        "SELECT * FROM <http://127.0.0.1:{port}/data.ttl> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <http://127.0.0.1:{port}/d.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "ASK FROM <http://127.0.0.1:{port}/x> {{ ?s ?p ?o }}",
    ],
)
def test_no_query_makes_the_endpoint_fetch_a_url(
    server: Server, listener: Listener, template: str
) -> None:
    status, _, body = server.get(template.format(port=listener.port))
    time.sleep(0.3)
    assert status == 400, body
    assert listener.connections == 0


def test_files_are_never_read(server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ttl"
    secret.write_text("<urn:a> <urn:b> 'the secret' .\n")
    secret.chmod(0o600)
    answers = [
        server.get(f"SELECT * FROM <file://{path}> WHERE {{ ?s ?p ?o }}")
        for path in (secret, tmp_path / "missing.ttl")
    ]
    assert [status for status, _, _ in answers] == [400, 400]
    assert b"the secret" not in answers[0][2]
    # The two refusals read the same: nothing tells whether the file exists.
    assert answers[0][2].replace(str(secret).encode(), b"X") == answers[1][2].replace(
        str(tmp_path / "missing.ttl").encode(), b"X"
    )


def test_a_service_pointing_back_at_the_endpoint_is_refused(server: Server) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{server.base}/sparql> {{ ?s ?p ?o }} }}"
    started = time.monotonic()
    status, _, _ = server.get(query)
    assert status == 400 and time.monotonic() - started < 2
    assert server.get(HAS_CLAIM)[0] == 200


def test_from_may_name_the_datasets_own_graphs(server: Server) -> None:
    graphs = json.loads(server.request("GET", "/graphs")[2])["graphs"]
    article = next(g for g in graphs if "/graph/article/" in g)
    query = PREFIXES + f"SELECT (COUNT(?c) AS ?n) FROM <{article}> WHERE {{ ?c a ckg:Claim }}"
    status, _, body = server.get(query)
    expected = server.direct(
        PREFIXES + f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{article}> {{ ?c a ckg:Claim }} }}"
    )
    assert status == 200
    assert json.loads(body)["results"]["bindings"][0]["n"]["value"] == expected[0]["n"]


# ------------------------------------------------------------------ bounded queries


def test_a_heavy_query_is_stopped_and_others_are_served_meanwhile(server: Server) -> None:
    outcome: dict[str, object] = {}

    def heavy() -> None:
        started = time.monotonic()
        outcome["status"] = server.get(HEAVY)[0]
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.5)
    latencies = []
    for _ in range(10):
        started = time.monotonic()
        assert server.get("ASK {}")[0] == 200
        assert server.request("GET", "/queries")[0] == 200
        latencies.append(time.monotonic() - started)
    thread.join(timeout=TIMEOUT + 15)
    assert outcome["status"] == 503
    assert TIMEOUT - 0.5 < float(str(outcome["seconds"])) < TIMEOUT + 5
    assert max(latencies) < 1.5, latencies
    assert workers_idle(server.process.pid), "a stopped query still burns CPU"
    assert server.get(HAS_CLAIM)[0] == 200  # a fresh worker took the killed one's place


def test_a_query_stops_when_its_client_goes_away(tmp_path: Path) -> None:
    process, port = start_server(tmp_path / "build", "--timeout", "60", "--workers", "1")
    try:
        request = f"GET /sparql?{urllib.parse.urlencode({'query': HEAVY})} HTTP/1.1\r\n"
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(f"{request}Host: 127.0.0.1\r\n\r\n".encode())
            time.sleep(1.0)
            assert worker_cpu_seconds(process.pid) > 0
        assert workers_idle(process.pid), "the query ran on after its client left"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request("GET", "/sparql?query=ASK%7B%7D")
        assert connection.getresponse().status == 200  # the only worker was replaced
        connection.close()
    finally:
        stop_server(process)


def test_answers_are_capped_and_the_cap_is_reported(server: Server) -> None:
    status, headers, body = server.get("SELECT * WHERE { ?s ?p ?o }")
    assert status == 200
    assert len(json.loads(body)["results"]["bindings"]) == MAX_ROWS
    assert "x-claimkg-truncated" in headers and headers["x-claimkg-rows"] == str(MAX_ROWS)
    status, headers, body = server.get(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "application/n-triples"
    )
    assert status == 200 and len(body.splitlines()) == MAX_ROWS and "x-claimkg-truncated" in headers
    status, headers, _ = server.get(HAS_CLAIM)
    assert status == 200 and "x-claimkg-truncated" not in headers


def test_request_bodies_are_capped(server: Server) -> None:
    padding = b"#" + b"x" * (MAX_BODY + 10) + b"\n"
    status, _, _ = server.request("POST", "/sparql", padding + HAS_CLAIM.encode(),
                                  {"Content-Type": "application/sparql-query"})  # fmt: skip
    assert status == 413
    assert server.get(HAS_CLAIM)[0] == 200


# ------------------------------------------------------------------ honest HTTP


@pytest.mark.parametrize(
    ("path", "body", "headers", "expected"),
    [
        ("/sparql?query=%FF%FE", None, {}, 400),  # not UTF-8
        ("/sparql?query=SELEC", None, {}, 400),  # a syntax error
        ("/sparql", None, {}, 400),  # no query
        ("/sparql", b"ASK {}", {"Content-Type": "text/plain"}, 415),
        ("/sparql", b"\xff\xfe", {"Content-Type": "application/sparql-query"}, 400),
        ("/sparql?query=ASK%7B%7D", None, {"Accept": "image/png"}, 406),
        ("/sparql?query=ASK%7B%7D&query=ASK%7B%7D", None, {}, 400),
        ("/sparql?update=CLEAR%20ALL", None, {}, 403),
        ("/sparql?query=CLEAR%20ALL", None, {}, 403),
        (
            "/sparql",
            b"update=DROP%20ALL",
            {"Content-Type": "application/x-www-form-urlencoded"},
            403,
        ),
        ("/sparql", b"DROP ALL", {"Content-Type": "application/sparql-update"}, 403),
        ("/queries/claims-about-external-id?external=not%20an%20iri", None, {}, 400),
        ("/queries/claims-about-external-id?external=%3E%20%7D%20DROP", None, {}, 400),
        ("/queries/claims-about-external-id?nope=1", None, {}, 400),
        ("/queries/no-such-question", None, {}, 404),
    ],
)
def test_malformed_requests_get_4xx_naming_no_server_path(
    server: Server, path: str, body: bytes | None, headers: dict[str, str], expected: int
) -> None:
    status, _, answer = server.request("POST" if body else "GET", path, body, headers)
    assert status == expected, answer
    assert b"/tmp" not in answer and str(Path.cwd()).encode() not in answer


def test_a_five_thousand_digit_integer_is_not_a_server_error(server: Server) -> None:
    library = json.loads(server.request("GET", "/queries")[2])
    integer_params = [
        (q["name"], p["name"])
        for q in library
        for p in q["parameters"]
        if p["type"] == "xsd:integer"
    ]
    assert integer_params, "the library has a question with an integer parameter"
    name, param = integer_params[0]
    status, _, _ = server.request("GET", f"/queries/{name}?{param}={'9' * 5000}")
    assert status in (200, 400)


def test_unknown_host_headers_are_refused(server: Server) -> None:
    assert server.request("GET", "/graphs", headers={"Host": "evil.example"})[0] == 400
    assert server.request("GET", "/graphs", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_non_loopback_binding_needs_an_explicit_flag(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--host", "0.0.0.0", "--build", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "--expose" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_busy_port_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    busy = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(server.port),
         "--build", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert busy.returncode == 2 and "cannot listen" in busy.stderr
    assert "serving" not in busy.stderr and "Traceback" not in busy.stderr


# ------------------------------------------------------------------ the library and the page


def test_named_queries_as_plain_http_resources(server: Server) -> None:
    from kg.queries import find_query

    library = json.loads(server.request("GET", "/queries")[2])
    assert {q["name"] for q in library} >= {"claims-by-type", "ic50-by-target"}
    assert all(q["summary"] for q in library)
    question = find_query("claims-by-type")
    expected = server.direct(question.bound_text())
    status, _, body = server.request("GET", "/queries/claims-by-type")
    assert status == 200
    rows = [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]
    assert sorted(map(str, rows)) == sorted(map(str, expected))
    status, headers, body = server.request(
        "GET", "/queries/claims-by-type", headers={"Accept": "text/csv"}
    )
    assert status == 200 and headers["content-type"].startswith("text/csv")


def test_the_query_page_loads_nothing_from_elsewhere(server: Server) -> None:
    status, headers, page = server.request("GET", "/sparql", headers={"Accept": "text/html"})
    assert status == 200 and headers["content-type"].startswith("text/html")
    text = page.decode()
    assert 'src="/static/yasgui/yasgui.min.js"' in text
    assert "http://" not in text.split("<body>")[0] and "https://" not in text
    for asset in ("/static/yasgui/yasgui.min.js", "/static/yasgui/yasgui.min.css"):
        status, _, body = server.request("GET", asset)
        assert status == 200 and len(body) > 10_000


# ------------------------------------------------------------------ federation, opt-in


def test_federation_reaches_only_the_allowed_endpoint(tmp_path: Path, listener: Listener) -> None:
    from tests.servers import oxigraph_server

    remote_folder = tmp_path / "remote"
    remote_folder.mkdir()
    with oxigraph_server(remote_folder) as remote:
        loaded = urllib.request.Request(
            f"{remote}/store?default", data=b"<urn:x:drug> <urn:x:label> 'from afar' .\n",
            headers={"Content-Type": "text/turtle"}, method="POST",
        )  # fmt: skip
        urllib.request.urlopen(loaded, timeout=10).close()
        allowed = f"{remote}/query"
        process, port = start_server(
            tmp_path / "build", "--allow-service", allowed, "--timeout", "5", "--workers", "1"
        )
        try:
            server = Server(f"http://127.0.0.1:{port}", port, process, ox.Store())
            status, _, body = server.get(
                f"SELECT ?l WHERE {{ SERVICE <{allowed}> {{ ?d <urn:x:label> ?l }} }}"
            )
            assert status == 200, body
            assert json.loads(body)["results"]["bindings"] == [
                {"l": {"type": "literal", "value": "from afar"}}
            ]
            elsewhere = f"http://127.0.0.1:{listener.port}/query"
            status, _, body = server.get(f"ASK {{ SERVICE <{elsewhere}> {{ ?s ?p ?o }} }}")
            assert status == 400 and b"not allowed" in body and listener.connections == 0
        finally:
            stop_server(process)


def test_a_remote_call_that_never_answers_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections into its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        remote = f"http://127.0.0.1:{silent.getsockname()[1]}/sparql"
        process, port = start_server(tmp_path / "build", "--allow-service", remote,
                                     "--timeout", "2", "--workers", "1")  # fmt: skip
        try:
            server = Server(f"http://127.0.0.1:{port}", port, process, ox.Store())
            started = time.monotonic()
            status, _, _ = server.get(f"ASK {{ SERVICE <{remote}> {{ ?s ?p ?o }} }}")
            assert status == 503 and time.monotonic() - started < 8
            assert server.get("ASK {}")[0] == 200
        finally:
            stop_server(process)


def test_no_worker_outlives_the_server(tmp_path: Path) -> None:
    process, port = start_server(tmp_path / "build", "--workers", "2", "--timeout", "60")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": HEAVY}))
    time.sleep(1.0)  # one worker is now deep in a query that would run for a minute
    workers = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent_of(entry) == process.pid
    ]
    assert len(workers) >= 2
    process.kill()  # no chance to clean up: the kernel must take the workers with it
    process.wait(timeout=10)
    connection.close()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)], "a query worker outlived its server"


def _parent_of(entry: Path) -> int:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
