"""`kg.push` against a fake HTTP server that records every request (protocol details, auth,
retries, refusals) and against a real Oxigraph server (the graphs really land, and a re-push
replaces instead of appending)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg.push import PushError, PushReport, PushTarget, push_graphs

from .servers import oxigraph_server

G1 = "https://w3id.org/claimkg/graph/article-one"
G2 = "https://w3id.org/claimkg/graph/article-two"
FIVE = [f"<http://ex.org/s{i}> <http://ex.org/p> <http://ex.org/o{i}> ." for i in range(5)]


# ---------------------------------------------------------------- a fake server


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Reply:
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeServer(ThreadingHTTPServer):
    """Answers each request with the next queued reply (204 when none is left); with
    ``authorized`` set, answers 401 with ``challenge`` until it accepts the Authorization."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[Seen] = []
        self.replies: list[Reply] = []
        self.challenge = 'Basic realm="x"'
        self.authorized: Callable[[str | None], bool] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and left is part of the test, not an error."""


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        server = cast(FakeServer, self.server)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        server.seen.append(Seen(self.command, self.path, headers, body))
        if server.authorized is not None and not server.authorized(headers.get("authorization")):
            reply = Reply(401, b"who are you?", {"WWW-Authenticate": server.challenge})
        else:
            reply = server.replies.pop(0) if server.replies else Reply()
        time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_PUT = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _nt(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gsp(server: FakeServer, **options: Any) -> PushTarget:
    return PushTarget(endpoint=f"{server.url}/update", graph_store=f"{server.url}/store", **options)


def _update(server: FakeServer, **options: Any) -> PushTarget:
    return PushTarget(endpoint=f"{server.url}/update", **options)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---------------------------------------------------------------- Graph Store Protocol


def test_gsp_put_sends_the_file_to_the_encoded_graph(fake: FakeServer, tmp_path: Path) -> None:
    iri = "https://w3id.org/claimkg/graph/a?b=c&d=é#e"
    path = _nt(tmp_path, "a.nt", ["# a comment", *FIVE[:3], ""])
    report = push_graphs([(iri, path)], _gsp(fake))
    [seen] = fake.seen
    assert seen.method == "PUT"
    assert seen.path == "/store?graph=" + urllib.parse.quote(iri, safe="")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query) == {"graph": [iri]}
    assert seen.headers["content-type"] == "application/n-triples"
    assert seen.body == path.read_bytes()
    assert "authorization" not in seen.headers
    assert report == PushReport(graphs=1, triples=3, bytes=len(seen.body), requests=1, retries=0)


def test_progress_after_each_graph(fake: FakeServer, tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE[:2])), (G2, _nt(tmp_path, "2.nt", FIVE[2:]))]
    report = push_graphs(graphs, _gsp(fake), lambda *call: calls.append(call))
    assert calls == [(1, 2, G1), (2, 2, G2)]
    assert (report.graphs, report.triples, report.requests) == (2, 5, 2)


def test_basic_auth_answers_the_challenge(fake: FakeServer, tmp_path: Path) -> None:
    fake.authorized = lambda header: header == _basic("alice", "s3cret")
    path = _nt(tmp_path, "a.nt", FIVE)
    target = _gsp(fake, user="alice", password="s3cret")
    report = push_graphs([(G1, path)], target)
    first, second = fake.seen
    assert "authorization" not in first.headers  # sent only in answer to a challenge
    assert second.headers["authorization"] == _basic("alice", "s3cret")
    assert second.body == path.read_bytes()
    assert (report.requests, report.retries) == (1, 0)  # the auth round trip is urllib's
    assert "s3cret" not in repr(target)


def test_wrong_password_fails_at_once(fake: FakeServer, tmp_path: Path) -> None:
    fake.authorized = lambda header: header == _basic("alice", "s3cret")
    sleeps: list[float] = []
    target = _gsp(fake, user="alice", password="wrong", retries=3)
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=sleeps.append)
    assert caught.value.status == 401
    assert "HTTP 401" in str(caught.value) and "who are you?" in str(caught.value)
    assert "wrong" not in str(caught.value)
    assert len(fake.seen) == 2 and sleeps == []


def test_digest_auth_answers_a_digest_challenge(fake: FakeServer, tmp_path: Path) -> None:
    """Virtuoso challenges with Digest; the password itself never travels."""
    fake.challenge = 'Digest realm="x", nonce="abc123", qop="auth", algorithm=MD5'
    fake.authorized = lambda header: bool(header and header.startswith("Digest "))
    push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake, user="alice", password="s3cret"))
    answer = fake.seen[-1].headers["authorization"]
    assert 'username="alice"' in answer and 'realm="x"' in answer and "s3cret" not in answer


def test_an_unknown_auth_scheme_fails_at_once(fake: FakeServer, tmp_path: Path) -> None:
    fake.challenge = 'Negotiate realm="x"'
    fake.authorized = lambda header: False
    target = _gsp(fake, user="alice", password="s3cret")
    with pytest.raises(PushError, match=r"cannot send: .*Negotiate") as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=lambda _: None)
    assert len(fake.seen) == 1 and "s3cret" not in str(caught.value)


def test_bearer_token(fake: FakeServer, tmp_path: Path) -> None:
    target = _gsp(fake, token="t0ken")
    push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target)
    assert fake.seen[0].headers["authorization"] == "Bearer t0ken"
    assert "t0ken" not in repr(target)


# ---------------------------------------------------------------- retries and failures


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_passing_failure_is_retried(fake: FakeServer, tmp_path: Path, status: int) -> None:
    fake.replies = [Reply(status, b"busy")]
    sleeps: list[float] = []
    path = _nt(tmp_path, "a.nt", FIVE)
    report = push_graphs([(G1, path)], _gsp(fake), sleep=sleeps.append)
    assert [seen.method for seen in fake.seen] == ["PUT", "PUT"]
    assert fake.seen[0].body == fake.seen[1].body == path.read_bytes()
    assert sleeps == [0.5]
    assert report == PushReport(
        graphs=1, triples=5, bytes=path.stat().st_size, requests=2, retries=1
    )


def test_backoff_doubles_until_the_retries_are_used_up(fake: FakeServer, tmp_path: Path) -> None:
    fake.replies = [Reply(503, b"busy")] * 3
    sleeps: list[float] = []
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake, retries=2), sleep=sleeps.append)
    assert sleeps == [0.5, 1.0] and len(fake.seen) == 3
    assert "HTTP 503 after 3 attempts: busy" in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413])
def test_other_client_errors_fail_at_once(fake: FakeServer, tmp_path: Path, status: int) -> None:
    fake.replies = [Reply(status, b"Parser error at line 1:\n  unexpected '<'", {})]
    sleeps: list[float] = []
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake), sleep=sleeps.append)
    message = str(caught.value)
    assert f"HTTP {status}" in message and G1 in message and f"{fake.url}/store?graph=" in message
    assert "Parser error at line 1: unexpected '<'" in message  # on one line
    assert (caught.value.status, caught.value.graph) == (status, G1)
    assert len(fake.seen) == 1 and sleeps == []


def test_a_redirect_is_reported_not_followed(fake: FakeServer, tmp_path: Path) -> None:
    fake.replies = [Reply(301, headers={"Location": "https://elsewhere.example/store"})]
    with pytest.raises(PushError, match=r"HTTP 301.*https://elsewhere\.example/store"):
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake))
    assert len(fake.seen) == 1


def test_a_timeout_is_retried(fake: FakeServer, tmp_path: Path) -> None:
    fake.replies = [Reply(204, delay=1.0)]
    report = push_graphs(
        [(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake, timeout=0.3), sleep=lambda _: None
    )
    assert (report.requests, report.retries) == (2, 1)


def test_no_server_is_retried_then_reported(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps: list[float] = []
    target = PushTarget(endpoint=f"{url}/update", retries=2, backoff=0.1)
    with pytest.raises(PushError, match="no HTTP answer after 3 attempts") as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=sleeps.append)
    assert caught.value.status is None and sleeps == [0.1, 0.2]


# ---------------------------------------------------------------- refused before sending


@pytest.mark.parametrize(
    "iri", ["graph/article-one", "article-one", "", "https://ex.org/a graph", "https://ex.org/<a>"]
)
@pytest.mark.parametrize("graph_store", [True, False])
def test_a_bad_iri_is_refused_before_any_request(
    fake: FakeServer, tmp_path: Path, iri: str, graph_store: bool
) -> None:
    target = _gsp(fake) if graph_store else _update(fake)
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE)), (iri, _nt(tmp_path, "2.nt", FIVE))]
    with pytest.raises(PushError, match="not an absolute IRI; nothing was sent"):
        push_graphs(graphs, target)
    assert fake.seen == []


@pytest.mark.parametrize("graph_store", [True, False])
def test_a_missing_file_is_refused_before_any_request(
    fake: FakeServer, tmp_path: Path, graph_store: bool
) -> None:
    target = _gsp(fake) if graph_store else _update(fake)
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE)), (G2, tmp_path / "missing.nt")]
    with pytest.raises(PushError, match=f"<{G2}>: no such file .*missing.nt"):
        push_graphs(graphs, target)
    assert fake.seen == []


def test_a_malformed_line_is_refused_before_the_drop(fake: FakeServer, tmp_path: Path) -> None:
    path = _nt(tmp_path, "a.nt", [FIVE[0], "<http://ex.org/s> <http://ex.org/p> oops ."])
    with pytest.raises(PushError, match=r"a\.nt:2 is not an N-Triples triple"):
        push_graphs([(G1, path)], _update(fake))
    assert fake.seen == []


@pytest.mark.parametrize(
    "options",
    [
        {"user": "alice"},
        {"password": "s3cret"},
        {"user": "alice", "password": "s3cret", "token": "t"},
        {"batch_triples": 0},
        {"retries": -1},
        {"endpoint": "ftp://ex.org/update"},
        {"endpoint": "http://ex.org/update", "graph_store": "/store"},
    ],
)
def test_an_inconsistent_target_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PushTarget(**{"endpoint": "http://ex.org/update", **options})


# ---------------------------------------------------------------- SPARQL Update


def _apply(requests: list[Seen]) -> Dataset:
    """Run the recorded updates on an rdflib dataset: they must be valid SPARQL 1.1 Update."""
    dataset = Dataset()
    for seen in requests:
        dataset.update(seen.body.decode("utf-8"))
    return dataset


def _expected(path: Path) -> Graph:
    return Graph().parse(path, format="nt")


def test_update_drops_then_inserts_in_batches(fake: FakeServer, tmp_path: Path) -> None:
    path = _nt(tmp_path, "a.nt", FIVE)
    report = push_graphs([(G1, path)], _update(fake, batch_triples=2))
    assert [(seen.method, seen.path) for seen in fake.seen] == [("POST", "/update")] * 4
    assert {seen.headers["content-type"] for seen in fake.seen} == {"application/sparql-update"}
    drop, *inserts = (seen.body.decode() for seen in fake.seen)
    assert drop == f"DROP SILENT GRAPH <{G1}>"
    assert all(text.startswith(f"INSERT DATA {{ GRAPH <{G1}> {{") for text in inserts)
    assert [text.count("\n<http") for text in inserts] == [2, 2, 1]
    assert set(_apply(fake.seen).graph(URIRef(G1))) == set(_expected(path))
    assert (report.triples, report.requests, report.retries) == (5, 4, 0)
    assert report.bytes == sum(len(seen.body) for seen in fake.seen)


def test_blank_node_triples_travel_together(fake: FakeServer, tmp_path: Path) -> None:
    """``_:b`` in two requests would be two nodes: its triples go in one INSERT DATA."""
    lines = [*FIVE[:2], "_:b <http://ex.org/p> _:c .", "<http://ex.org/s> <http://ex.org/q> _:b ."]
    path = _nt(tmp_path, "a.nt", lines)
    push_graphs([(G1, path)], _update(fake, batch_triples=1))
    assert len(fake.seen) == 1 + 2 + 1
    assert isomorphic(_apply(fake.seen).graph(URIRef(G1)), _expected(path))


def test_unicode_escapes_mean_the_same_in_sparql(fake: FakeServer, tmp_path: Path) -> None:
    line = r'<http://ex.org/s\u00E9> <http://ex.org/p> "say \u0022hi\u0022 \\u0041 \U0001F600" .'
    path = _nt(tmp_path, "a.nt", [line])
    push_graphs([(G1, path)], _update(fake))
    # rdflib expands \u escapes before parsing: the u after the backslash must not start one
    assert r'"say \"hi\" \\\U000000750041 😀"' in fake.seen[1].body.decode("utf-8")
    [triple] = _apply(fake.seen).graph(URIRef(G1))
    assert triple[0] == URIRef("http://ex.org/sé")
    assert triple[2] == Literal('say "hi" \\u0041 😀')
    assert set(_expected(path)) == {triple}


def test_an_empty_file_empties_the_graph(fake: FakeServer, tmp_path: Path) -> None:
    report = push_graphs([(G1, _nt(tmp_path, "a.nt", ["# nothing"]))], _update(fake))
    assert [seen.body for seen in fake.seen] == [f"DROP SILENT GRAPH <{G1}>".encode()]
    assert report.triples == 0


# ---------------------------------------------------------------- a real server: Oxigraph


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as base:
        yield base


def _query(base: str, query: str, accept: str) -> bytes:
    url = f"{base}/query?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        assert isinstance(body, bytes)
        return body


def _graph_in(base: str, iri: str) -> Graph:
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
    return Graph().parse(data=_query(base, query, "application/n-triples"), format="nt")


def _default_graph_is_empty(base: str) -> bool:
    answer = json.loads(_query(base, "ASK { ?s ?p ?o }", "application/sparql-results+json"))
    return answer["boolean"] is False


def _lines(prefix: str, count: int, extra: list[str] | None = None) -> list[str]:
    made = [f'<http://ex.org/{prefix}{i}> <http://ex.org/p> "{prefix} {i}" .' for i in range(count)]
    return made + (extra or [])


def _roundtrip(base: str, target: PushTarget, tmp_path: Path, g1: str, g2: str) -> None:
    """Two graphs in, each with exactly its triples; then g1 again with other content."""
    first = _nt(tmp_path, "first.nt", _lines("a", 2))
    second = _nt(
        tmp_path,
        "second.nt",
        _lines(
            "b",
            3,
            ["_:x <http://ex.org/q> _:y .", r'_:y <http://ex.org/q> "caf\u00E9 \u0022 \\u0041" .'],
        ),
    )
    report = push_graphs([(g1, first), (g2, second)], target)
    assert (report.graphs, report.triples, report.retries) == (2, 7, 0)
    assert set(_graph_in(base, g1)) == set(_expected(first))
    assert isomorphic(_graph_in(base, g2), _expected(second))
    assert _default_graph_is_empty(base)  # no --union-default-graph: the data stay named

    changed = _nt(tmp_path, "changed.nt", _lines("c", 4))
    push_graphs([(g1, changed)], target)
    assert set(_graph_in(base, g1)) == set(_expected(changed))  # replaced, not appended
    assert isomorphic(_graph_in(base, g2), _expected(second))  # the other graph untouched


def test_oxigraph_graph_store_protocol(oxigraph: str, tmp_path: Path) -> None:
    target = PushTarget(endpoint=f"{oxigraph}/update", graph_store=f"{oxigraph}/store")
    _roundtrip(oxigraph, target, tmp_path, f"{G1}/gsp", f"{G2}/gsp")


def test_oxigraph_sparql_update(oxigraph: str, tmp_path: Path) -> None:
    target = PushTarget(endpoint=f"{oxigraph}/update", batch_triples=2)
    _roundtrip(oxigraph, target, tmp_path, f"{G1}/update", f"{G2}/update")


def test_oxigraph_rejection_quotes_the_server(oxigraph: str, tmp_path: Path) -> None:
    target = PushTarget(endpoint=f"{oxigraph}/update", graph_store=f"{oxigraph}/store")
    bad = _nt(tmp_path, "bad.nt", ["this is not N-Triples"])
    with pytest.raises(PushError) as caught:
        push_graphs([(f"{G1}/bad", bad)], target, sleep=lambda _: None)
    assert caught.value.status == 400
    assert f"<{G1}/bad>" in str(caught.value) and "HTTP 400" in str(caught.value)
    assert "error" in str(caught.value).lower()  # the start of Oxigraph's own words
