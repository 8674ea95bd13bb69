"""`kg.push` against a fake SPARQL server on loopback (``tests/servers.py``: an rdflib Dataset
behind the SPARQL 1.1 Update, Query and Graph Store protocols, which records every request and
can be told to fail any of them): the protocol step by step, auth, retries, timeouts and the
deadline, what is refused before sending, batches too large. ``test_push_atomic.py`` has the
atomic replacement, the prune, the counts and ``kg push`` itself.

The tests marked "issue 11" are regression tests of the push failures the issue lists; each
failed on the push of before the fix (whole-request timeouts, batch halving, the Digest
preflight, credentials in URLs).
"""

from __future__ import annotations

import base64
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg.push import PushError, PushTarget, push_graphs

from .servers import CUT, FakeStore, Fault, Reply, Seen, serving

NS = "https://w3id.org/claimkg/id/graph/"
G1 = NS + "article/one"
G2 = NS + "article/two"
OUTSIDE = "https://example.org/someone-elses-graph"
FIVE = [f"<http://ex.org/s{i}> <http://ex.org/p> <http://ex.org/o{i}> ." for i in range(5)]


@pytest.fixture
def fake() -> Iterator[FakeStore]:
    with serving(FakeStore()) as server:
        yield server


def _nt(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gsp(server: FakeStore, **options: Any) -> PushTarget:
    return PushTarget(endpoint=f"{server.url}/update", graph_store=f"{server.url}/store", **options)


def _update(server: FakeStore, **options: Any) -> PushTarget:
    return PushTarget(endpoint=f"{server.url}/update", **options)


PATHS = {"graph store": _gsp, "update": _update}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _expected(path: Path) -> Graph:
    return Graph().parse(path, format="nt")


def _lines(prefix: str, count: int) -> list[str]:
    return [f'<http://ex.org/{prefix}{i}> <http://ex.org/p> "{prefix} {i}" .' for i in range(count)]


def _loads(server: FakeStore) -> list[Seen]:
    """The requests that loaded triples into a staging graph."""
    return [
        s
        for s in server.seen
        if s.method != "HEAD" and (s.graph or s.text.split(";")[-1].lstrip().startswith("INSERT"))
    ]


def _staging_left(server: FakeStore) -> set[str]:
    return {name for name in server.graph_names() if "kg-push-staging" in name}


# ---------------------------------------------------------------- the protocol, step by step


def test_graph_store_path_stages_checks_then_swaps(fake: FakeStore, tmp_path: Path) -> None:
    iri = NS + "a?b=c&d=é#e"
    path = _nt(tmp_path, "a.nt", ["# a comment", *FIVE[:3], ""])
    report = push_graphs([(iri, path)], _gsp(fake))
    put, count, swap, final = fake.seen
    assert put.method == "PUT" and put.graph is not None
    assert put.graph.startswith(iri + "/kg-push-staging-")
    assert put.path == "/store?graph=" + urllib.parse.quote(put.graph, safe="")
    assert put.headers["content-type"] == "application/n-triples"
    assert set(Graph().parse(data=put.text, format="nt")) == set(_expected(path))
    assert "COUNT" in count.text and f"<{put.graph}>" in count.text
    assert swap.path == "/update" and f"DROP SILENT GRAPH <{put.graph}>" in swap.text
    assert "COUNT" in final.text and f"<{iri}>" in final.text
    assert set(fake.triples(iri)) == set(_expected(path)) and _staging_left(fake) == set()
    assert (report.graphs, report.triples, report.requests, report.retries) == (1, 3, 4, 0)
    assert report.bytes == sum(len(seen.body) for seen in fake.seen)
    assert report.mismatches == () and report.pruned == ()


def test_update_path_inserts_batches_into_the_staging_graph(
    fake: FakeStore, tmp_path: Path
) -> None:
    path = _nt(tmp_path, "a.nt", FIVE)
    report = push_graphs([(G1, path)], _update(fake, batch_triples=2))
    inserts = [s.text for s in _loads(fake)]
    assert [text.count("\n<http") for text in inserts] == [2, 2, 1]
    staging = inserts[0].split("GRAPH <")[1].split(">")[0]
    assert inserts[0].startswith(f"DROP SILENT GRAPH <{staging}> ;")  # a leftover is replaced
    assert all(f"INSERT DATA {{ GRAPH <{staging}> {{" in text for text in inserts)
    assert {s.headers["content-type"] for s in fake.seen if s.path == "/update"} == {
        "application/sparql-update"
    }
    assert set(fake.triples(G1)) == set(_expected(path)) and _staging_left(fake) == set()
    assert (report.triples, report.batch_triples) == (5, 2)


@pytest.mark.parametrize("way", PATHS)
def test_progress_after_each_graph(fake: FakeStore, tmp_path: Path, way: str) -> None:
    calls: list[tuple[int, int, str]] = []
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE[:2])), (G2, _nt(tmp_path, "2.nt", FIVE[2:]))]
    report = push_graphs(graphs, PATHS[way](fake), lambda *call: calls.append(call))
    assert calls == [(1, 2, G1), (2, 2, G2)]
    assert (report.graphs, report.triples) == (2, 5)


@pytest.mark.parametrize("way", PATHS)
def test_blank_node_triples_travel_together(fake: FakeStore, tmp_path: Path, way: str) -> None:
    """``_:b`` in two requests would be two nodes: its triples go in one request (for Update
    an INSERT … WHERE {}, since Virtuoso refuses blank nodes in INSERT DATA)."""
    lines = [*FIVE[:2], "_:b <http://ex.org/p> _:c .", "<http://ex.org/s> <http://ex.org/q> _:b ."]
    path = _nt(tmp_path, "a.nt", lines)
    push_graphs([(G1, path)], PATHS[way](fake, batch_triples=1))
    loads = _loads(fake)
    assert len(loads) == 3 and "_:b" in loads[-1].text and "_:c" in loads[-1].text
    assert way == "graph store" or "} } WHERE {}" in loads[-1].text
    assert isomorphic(fake.triples(G1), _expected(path))


def test_unicode_escapes_mean_the_same_in_sparql(fake: FakeStore, tmp_path: Path) -> None:
    line = r'<http://ex.org/s\u00E9> <http://ex.org/p> "say \u0022hi\u0022 \\u0041 \U0001F600" .'
    path = _nt(tmp_path, "a.nt", [line])
    push_graphs([(G1, path)], _update(fake))
    # rdflib expands \u escapes before parsing: the u after the backslash must not start one
    assert r'"say \"hi\" \\\U000000750041 😀"' in fake.seen[0].text
    [triple] = fake.triples(G1)
    assert triple[0] == URIRef("http://ex.org/sé")
    assert triple[2] == Literal('say "hi" \\u0041 😀')
    assert set(_expected(path)) == {triple}


@pytest.mark.parametrize("way", PATHS)
def test_an_empty_file_empties_the_graph(fake: FakeStore, tmp_path: Path, way: str) -> None:
    fake.load(G1, FIVE)
    report = push_graphs([(G1, _nt(tmp_path, "a.nt", ["# nothing"]))], PATHS[way](fake))
    assert f"DROP SILENT GRAPH <{G1}>" in fake.seen[0].text
    assert len(fake.triples(G1)) == 0 and report.triples == 0 and report.mismatches == ()


@pytest.mark.parametrize("way", PATHS)
def test_duplicate_lines_count_once(fake: FakeStore, tmp_path: Path, way: str) -> None:
    report = push_graphs([(G1, _nt(tmp_path, "a.nt", [*FIVE, *FIVE]))], PATHS[way](fake))
    assert report.triples == 5 and report.mismatches == ()


# ---------------------------------------------------------------- auth


def test_basic_auth_gets_its_challenge_before_the_body(fake: FakeStore, tmp_path: Path) -> None:
    fake.authorized = lambda header: header == _basic("alice", "s3cret")
    path = _nt(tmp_path, "a.nt", FIVE)
    target = _gsp(fake, user="alice", password="s3cret")
    report = push_graphs([(G1, path)], target)
    head, put = fake.seen[:2]
    assert (head.method, head.body, "authorization" in head.headers) == ("HEAD", b"", False)
    assert put.method == "PUT" and put.headers["authorization"] == _basic("alice", "s3cret")
    unauthenticated = [
        (s.method, s.path.split("?")[0]) for s in fake.seen if "authorization" not in s.headers
    ]
    assert unauthenticated == [("HEAD", "/store"), ("HEAD", "/query"), ("HEAD", "/update")]
    assert set(fake.triples(G1)) == set(_expected(path)) and report.mismatches == ()
    assert "s3cret" not in repr(target)


def _digest_ok(header: str | None) -> bool:
    return bool(header and header.startswith("Digest ") and 'username="alice"' in header)


@pytest.mark.parametrize("way", PATHS)
def test_digest_auth_is_answered_before_any_body_travels(
    fake: FakeStore, tmp_path: Path, way: str
) -> None:
    """Issue 11: Virtuoso answers an unauthenticated upload with a 401 before reading it and
    closes the connection; the push sent each body unauthenticated first and got a broken
    pipe (6 MB graphs always failed). Now no body travels without its Authorization."""
    fake.challenge = 'Digest realm="x", nonce="abc123", qop="auth", algorithm=MD5, opaque="o"'
    fake.authorized = _digest_ok
    path = _nt(tmp_path, "big.nt", _lines("big", 600))  # the Virtuoso test sends 6 MB
    report = push_graphs([(G1, path)], PATHS[way](fake, user="alice", password="s3cret"))
    unauthenticated = [s for s in fake.seen if "authorization" not in s.headers]
    assert {(s.method, s.body) for s in unauthenticated} == {("HEAD", b"")}  # one per URL
    answer = fake.seen[-1].headers["authorization"]
    assert 'realm="x"' in answer and 'nonce="abc123"' in answer and "s3cret" not in answer
    assert "nc=00000001" in fake.seen[1].headers["authorization"]
    assert len(fake.triples(G1)) == 600 and report.mismatches == ()


def test_a_stale_digest_nonce_is_renewed(fake: FakeStore, tmp_path: Path) -> None:
    fake.challenge = 'Digest realm="x", nonce="n1", qop="auth"'

    def authorized(header: str | None) -> bool:
        if header and 'nonce="n1"' in header:  # the first nonce expires once it is used
            fake.challenge = 'Digest realm="x", nonce="n2", qop="auth", stale=true'
        return bool(header and 'nonce="n2"' in header)

    fake.authorized = authorized
    path = _nt(tmp_path, "a.nt", FIVE)
    report = push_graphs([(G1, path)], _gsp(fake, user="a", password="b"))
    assert [s.method for s in fake.seen[:3]] == ["HEAD", "PUT", "PUT"]
    assert set(fake.triples(G1)) == set(_expected(path)) and report.retries == 0


def test_wrong_password_fails_at_once(fake: FakeStore, tmp_path: Path) -> None:
    fake.authorized = lambda header: header == _basic("alice", "s3cret")
    sleeps: list[float] = []
    target = _gsp(fake, user="alice", password="wrong", retries=3)
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=sleeps.append)
    assert caught.value.status == 401
    message = str(caught.value)
    assert "HTTP 401" in message and "refused the credentials" in message and "wrong" not in message
    assert "no graph on the server was changed" in message
    assert [s.method for s in fake.seen] == ["HEAD", "PUT"] and sleeps == []


def test_an_unknown_auth_scheme_fails_at_once(fake: FakeStore, tmp_path: Path) -> None:
    fake.challenge = 'Negotiate realm="x"'
    fake.authorized = lambda header: False
    target = _gsp(fake, user="alice", password="s3cret")
    with pytest.raises(PushError, match=r"neither Basic nor Digest.*Negotiate") as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=lambda _: None)
    assert len(fake.seen) == 1 and "s3cret" not in str(caught.value)


def test_credentials_wanted_but_none_given(fake: FakeStore, tmp_path: Path) -> None:
    fake.authorized = lambda header: False
    with pytest.raises(PushError, match=r"HTTP 401: the server wants credentials \(--user\)"):
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake))


def test_bearer_token(fake: FakeStore, tmp_path: Path) -> None:
    fake.authorized = lambda header: header == "Bearer t0ken"
    target = _gsp(fake, token="t0ken")
    push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target)
    assert all(s.headers["authorization"] == "Bearer t0ken" for s in fake.seen)
    assert "t0ken" not in repr(target) and len(fake.triples(G1)) == 5


# ---------------------------------------------------------------- retries and failures


def _once(fault: Reply | str, when: Callable[[Seen], bool] = lambda seen: True) -> Fault:
    """A fault for the first request that ``when`` picks, none after."""
    done: list[bool] = []

    def pick(seen: Seen) -> Reply | str | None:
        if done or not when(seen):
            return None
        done.append(True)
        return fault

    return pick


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_passing_failure_is_retried(fake: FakeStore, tmp_path: Path, status: int) -> None:
    fake.fault = _once(Reply(status, b"busy"))
    sleeps: list[float] = []
    path = _nt(tmp_path, "a.nt", FIVE)
    report = push_graphs([(G1, path)], _gsp(fake), sleep=sleeps.append)
    assert [seen.method for seen in fake.seen[:2]] == ["PUT", "PUT"]
    assert fake.seen[0].body == fake.seen[1].body
    assert sleeps == [0.5] and (report.requests, report.retries) == (5, 1)
    assert set(fake.triples(G1)) == set(_expected(path))


def test_backoff_doubles_until_the_retries_are_used_up(fake: FakeStore, tmp_path: Path) -> None:
    fake.fault = lambda seen: Reply(503, b"busy")
    sleeps: list[float] = []
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake, retries=2), sleep=sleeps.append)
    assert sleeps == [0.5, 1.0] and [s.method for s in fake.seen[:3]] == ["PUT"] * 3
    assert fake.seen[3].text.startswith("DROP SILENT GRAPH <")  # a 5xx may have loaded part
    assert "HTTP 503 after 3 attempts: busy" in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
def test_other_client_errors_fail_at_once(fake: FakeStore, tmp_path: Path, status: int) -> None:
    fake.fault = lambda seen: Reply(status, b"Parser error at line 1:\n  unexpected '<'")
    sleeps: list[float] = []
    with pytest.raises(PushError) as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake), sleep=sleeps.append)
    message = str(caught.value)
    assert f"HTTP {status}" in message and G1 in message and f"{fake.url}/store?graph=" in message
    assert "Parser error at line 1: unexpected '<'" in message  # on one line
    assert (caught.value.status, caught.value.graph) == (status, G1)
    assert len([s for s in fake.seen if s.method == "PUT"]) == 1 and sleeps == []


def test_a_redirect_is_reported_not_followed(fake: FakeStore, tmp_path: Path) -> None:
    fake.fault = lambda seen: Reply(301, b"", {"Location": "https://elsewhere.example/store"})
    with pytest.raises(PushError, match=r"HTTP 301"):
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake))
    assert len([s for s in fake.seen if s.method == "PUT"]) == 1


def test_a_lost_connection_is_retried(fake: FakeStore, tmp_path: Path) -> None:
    fake.fault = _once(CUT)
    report = push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake), sleep=lambda _: None)
    assert report.retries == 1 and len(fake.triples(G1)) == 5


def test_no_server_is_retried_then_reported(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps: list[float] = []
    target = PushTarget(endpoint=f"{url}/update", retries=2, backoff=0.1)
    with pytest.raises(PushError, match="no HTTP answer after 3 attempts") as caught:
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], target, sleep=sleeps.append)
    assert caught.value.status is None and sleeps == [0.1, 0.2]


def test_a_server_dripping_bytes_is_cut_at_the_timeout(fake: FakeStore, tmp_path: Path) -> None:
    """Issue 11: --timeout bounded each socket read, so a server sending a byte every 1.5 s
    held a `--timeout 2` push for 93 s and was reported as success. Now it bounds the whole
    request: this answer would take 4 s, a byte every 0.5 s, and the limit is 1 s."""
    fake.fault = lambda seen: Reply(200, b"12345678")
    fake.drip = 0.5
    started = time.monotonic()
    with pytest.raises(PushError, match=r"no complete answer within 1 s"):
        push_graphs([(G1, _nt(tmp_path, "a.nt", FIVE))], _gsp(fake, timeout=1, retries=0))
    assert time.monotonic() - started < 2.5


def test_the_deadline_bounds_the_whole_push(fake: FakeStore, tmp_path: Path) -> None:
    """Each request answers in time, but ten graphs do not fit in the deadline: the push
    stops there, and every graph is old or new."""
    old = {NS + f"g{i}": _lines(f"old{i}-", 3) for i in range(10)}
    new = {iri: _lines(f"new{iri[-1]}-", 3) for iri in old}
    for iri, lines in old.items():
        fake.load(iri, lines)
    fake.drip = 0.03  # ~0.1 s for a short answer
    graphs = [(iri, _nt(tmp_path, f"{iri[-2:]}.nt", lines)) for iri, lines in new.items()]
    started = time.monotonic()
    with pytest.raises(PushError, match=r"deadline of 1.5 s"):
        push_graphs(graphs, _update(fake, deadline=1.5, timeout=10))
    assert time.monotonic() - started < 1.5 + 5  # + one quick cleanup of the staging graph
    for iri in old:
        now = set(fake.triples(iri))
        assert now in (_set(old[iri]), _set(new[iri])), iri


def _set(lines: list[str]) -> set[Any]:
    return set(Graph().parse(data="\n".join(lines), format="nt"))


# ---------------------------------------------------------------- refused before sending


@pytest.mark.parametrize(
    "iri", ["graph/article-one", "article-one", "", "https://ex.org/a graph", "https://ex.org/<a>"]
)
@pytest.mark.parametrize("way", PATHS)
def test_a_bad_iri_is_refused_before_any_request(
    fake: FakeStore, tmp_path: Path, iri: str, way: str
) -> None:
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE)), (iri, _nt(tmp_path, "2.nt", FIVE))]
    with pytest.raises(PushError, match="not an absolute IRI; nothing was sent"):
        push_graphs(graphs, PATHS[way](fake))
    assert fake.seen == []


@pytest.mark.parametrize("way", PATHS)
def test_a_missing_file_is_refused_before_any_request(
    fake: FakeStore, tmp_path: Path, way: str
) -> None:
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE)), (G2, tmp_path / "missing.nt")]
    with pytest.raises(PushError, match=f"<{G2}>: no such file .*missing.nt"):
        push_graphs(graphs, PATHS[way](fake))
    assert fake.seen == []


@pytest.mark.parametrize("way", PATHS)
def test_a_malformed_line_is_refused_before_any_request(
    fake: FakeStore, tmp_path: Path, way: str
) -> None:
    good = _nt(tmp_path, "1.nt", FIVE)
    bad = _nt(tmp_path, "2.nt", [FIVE[0], "<http://ex.org/s> <http://ex.org/p> oops ."])
    with pytest.raises(PushError, match=r"2\.nt:2 is not an N-Triples triple; nothing was sent"):
        push_graphs([(G1, good), (G2, bad)], PATHS[way](fake))
    assert fake.seen == []


def test_a_graph_named_twice_is_refused(fake: FakeStore, tmp_path: Path) -> None:
    graphs = [(G1, _nt(tmp_path, "1.nt", FIVE)), (G1, _nt(tmp_path, "2.nt", FIVE))]
    with pytest.raises(PushError, match="given twice"):
        push_graphs(graphs, _gsp(fake))
    assert fake.seen == []


@pytest.mark.parametrize(
    "options",
    [
        {"user": "alice"},
        {"password": "s3cret"},
        {"user": "alice", "password": "s3cret", "token": "t"},
        {"batch_triples": 0},
        {"retries": -1},
        {"deadline": 0},
        {"endpoint": "ftp://ex.org/update"},
        {"endpoint": "http://ex.org/update", "graph_store": "/store"},
        {"endpoint": "http://alice:s3cret@ex.org/update"},
        {"graph_store": "http://alice@ex.org/store"},
        {"query_endpoint": "http://:pw@ex.org/query"},
    ],
)
def test_an_inconsistent_target_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as caught:
        PushTarget(**{"endpoint": "http://ex.org/update", **options})
    assert "s3cret" not in str(caught.value)


def test_the_query_endpoint_defaults_to_the_sibling_of_update() -> None:
    assert PushTarget("http://h:7878/update").query_url == "http://h:7878/query"
    assert PushTarget("http://h/ds/update?x=1").query_url == "http://h/ds/query?x=1"
    assert PushTarget("http://h:8890/sparql-auth").query_url == "http://h:8890/sparql-auth"
    given = PushTarget("http://h/update", query_endpoint="http://h/sparql")
    assert given.query_url == "http://h/sparql"


# ---------------------------------------------------------------- batches too large


def _refuse_over(limit: int, reply: Reply) -> Fault:
    """A server that refuses any load of more than ``limit`` triples, as Virtuoso does."""

    def fault(seen: Seen) -> Reply | None:
        loading = seen.method != "HEAD" and (seen.graph or "INSERT DATA" in seen.text)
        if (loading or "} } WHERE {}" in seen.text) and seen.text.count("ex.org/p>") > limit:
            return reply
        return None

    return fault


SP031 = Reply(
    400,
    b"Virtuoso 37000 Error SP031: SPARQL: Internal error: The length of generated SQL text "
    b"has exceeded 10000 lines of code",
)


def test_batches_refused_as_too_large_are_halved(fake: FakeStore, tmp_path: Path) -> None:
    """Issue 11: Virtuoso refused the push's 50,000-triple INSERT DATA (SP031) and the push
    failed; now the batch is halved until the server takes it, and stays that size."""
    fake.fault = _refuse_over(120, SP031)
    old, new = _lines("old", 50), _lines("new", 400)
    fake.load(G2, old)
    graphs = [(G1, _nt(tmp_path, "1.nt", new)), (G2, _nt(tmp_path, "2.nt", _lines("two", 300)))]
    report = push_graphs(graphs, _update(fake, batch_triples=50_000), sleep=lambda _: None)
    assert report.batch_triples is not None and report.batch_triples <= 120
    assert set(fake.triples(G1)) == _set(new) and set(fake.triples(G2)) == _set(_lines("two", 300))
    refused = [s for s in _loads(fake) if s.text.count("\n<") > 120]
    assert len(refused) == 2  # 400 and 200 refused; 100 kept for the second graph
    assert report.retries == 0 and report.mismatches == ()


def test_a_graph_store_put_too_large_is_split(fake: FakeStore, tmp_path: Path) -> None:
    fake.fault = _refuse_over(400, Reply(413, b"Payload Too Large"))
    path = _nt(tmp_path, "a.nt", _lines("x", 1000))
    report = push_graphs([(G1, path)], _gsp(fake))
    loads = [(s.method, s.text.count("\n")) for s in fake.seen if s.graph]
    assert loads[0] == ("PUT", 1000) and ("POST", 250) in loads
    assert set(fake.triples(G1)) == set(_expected(path)) and report.batch_triples == 250


def test_blank_nodes_too_many_for_one_request(fake: FakeStore, tmp_path: Path) -> None:
    fake.fault = _refuse_over(2, SP031)
    lines = [f"_:b <http://ex.org/p> <http://ex.org/o{i}> ." for i in range(5)]
    with pytest.raises(PushError, match="5 triples with blank nodes must travel in one request"):
        push_graphs([(G1, _nt(tmp_path, "a.nt", lines))], _update(fake))
    assert _staging_left(fake) == set()
