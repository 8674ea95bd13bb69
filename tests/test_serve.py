"""`kg serve` is a real SPARQL 1.1 Protocol endpoint: started on a free loopback port in its
own process, queried by SPARQLWrapper and rdflib's SPARQLStore, stopped at the end."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, TSV, TURTLE, XML, SPARQLWrapper

PREFIXES = (
    "PREFIX ckg: <https://w3id.org/claimkg/vocab/> PREFIX qudt: <http://qudt.org/schema/qudt/>\n"
)
ARTICLE_COUNT = PREFIXES + "SELECT (COUNT(?a) AS ?n) WHERE { ?a a ckg:Article }"
HAS_HR = PREFIXES + "ASK { ?c a ckg:Claim ; ckg:statistic ckg:HazardRatio }"
CONSTRUCT_HR = PREFIXES + (
    "CONSTRUCT { ?c qudt:numericValue ?v } "
    "WHERE { ?c a ckg:Claim ; ckg:statistic ckg:HazardRatio ; qudt:numericValue ?v }"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/queries", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "kg serve did not start within 60 s"
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        assert server.wait(timeout=20) is not None  # stops cleanly on SIGTERM
        if server.stdout:
            server.stdout.close()


def _wrapper(endpoint: str, query: str, output: str, method: str = "GET") -> bytes:
    client = SPARQLWrapper(f"{endpoint}/sparql")
    client.setQuery(query)
    client.setReturnFormat(output)
    client.setMethod(method)
    response = client.query().response
    body = response.read()
    assert isinstance(body, bytes)
    return body


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_in_every_result_format(endpoint: str, method: str) -> None:
    as_json = json.loads(_wrapper(endpoint, ARTICLE_COUNT, JSON, method))
    assert as_json["results"]["bindings"][0]["n"]["value"] == "1"
    assert b"<literal" in _wrapper(endpoint, ARTICLE_COUNT, XML, method)
    assert list(
        csv.reader(io.StringIO(_wrapper(endpoint, ARTICLE_COUNT, CSV, method).decode()))
    ) == [["n"], ["1"]]
    tsv = _wrapper(endpoint, ARTICLE_COUNT, TSV, method).decode().splitlines()
    assert tsv[0] == "?n" and tsv[1].startswith('"1"^^')


def test_ask_in_json_and_xml(endpoint: str) -> None:
    assert json.loads(_wrapper(endpoint, HAS_HR, JSON))["boolean"] is True
    assert b"<boolean>true</boolean>" in _wrapper(endpoint, HAS_HR, XML)


@pytest.mark.parametrize(
    ("output", "rdf_format"), [(TURTLE, "turtle"), (N3, "nt"), (JSONLD, "json-ld")]
)
def test_construct_as_turtle_ntriples_and_jsonld(
    endpoint: str, output: str, rdf_format: str
) -> None:
    client = SPARQLWrapper(f"{endpoint}/sparql")
    client.setQuery(CONSTRUCT_HR)
    client.setReturnFormat(output)
    if output == N3:  # ask for N-Triples by media type
        client.addCustomHttpHeader("Accept", "application/n-triples")
    body = client.query().response.read()
    graph = Graph().parse(data=body, format=rdf_format)
    assert sorted(str(o) for o in graph.objects()) == ["0.353", "0.451"]


def test_rdflib_sparqlstore_reads_the_endpoint(endpoint: str) -> None:
    store = SPARQLStore(f"{endpoint}/sparql")
    [(count,)] = list(store.query(ARTICLE_COUNT))  # type: ignore[misc]
    assert int(count) == 1
    assert store.query(HAS_HR).askAnswer is True
    constructed = store.query(CONSTRUCT_HR).graph
    assert constructed is not None and len(constructed) == 2


def test_sparql_query_body_and_form_posts(endpoint: str) -> None:
    direct = urllib.request.Request(
        f"{endpoint}/sparql",
        data=ARTICLE_COUNT.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
    )
    assert urllib.request.urlopen(direct).read().decode().splitlines() == ["n", "1"]
    form = urllib.request.Request(
        f"{endpoint}/sparql",
        data=urllib.parse.urlencode({"query": ARTICLE_COUNT}).encode(),
        headers={"Accept": "text/csv"},
    )
    assert urllib.request.urlopen(form).read().decode().splitlines() == ["n", "1"]


def test_updates_are_refused(endpoint: str) -> None:
    update = urllib.request.Request(
        f"{endpoint}/sparql",
        data=urllib.parse.urlencode({"update": "INSERT DATA { <a:b> <a:c> <a:d> }"}).encode(),
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(update)
    assert 400 <= refused.value.code < 500
    client = SPARQLWrapper(f"{endpoint}/sparql")
    client.setQuery("DELETE WHERE { ?s ?p ?o }")
    client.setMethod("POST")
    with pytest.raises(Exception):  # noqa: B017 - SPARQLWrapper raises per status code
        client.query()
    assert (
        json.loads(_wrapper(endpoint, ARTICLE_COUNT, JSON))["results"]["bindings"][0]["n"]["value"]
        == "1"
    )


def test_named_queries_as_plain_http_resources(endpoint: str) -> None:
    library = json.loads(urllib.request.urlopen(f"{endpoint}/queries").read())
    assert len(library) >= 25 and all(q["summary"] for q in library)
    answer = json.loads(urllib.request.urlopen(f"{endpoint}/queries/claims-citing?ref=9").read())
    claims = {b["claim"]["value"] for b in answer["results"]["bindings"]}
    assert "s02-tumor-concentration-48h" in claims
    as_csv = urllib.request.Request(
        f"{endpoint}/queries/ic50-by-target", headers={"Accept": "text/csv"}
    )
    assert urllib.request.urlopen(as_csv).read().decode().startswith("target,ic50")
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{endpoint}/queries/claims-citing?ref=ten")
    assert bad.value.code == 400


def test_a_browser_gets_the_query_page(endpoint: str) -> None:
    page = urllib.request.Request(f"{endpoint}/sparql", headers={"Accept": "text/html"})
    assert b"<html" in urllib.request.urlopen(page).read().lower()
