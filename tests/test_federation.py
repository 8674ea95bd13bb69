"""Federated queries (queries/federated/): their SERVICE joins meet UniProt's, Wikidata's and
ChEMBL's data, tested against local Oxigraph servers standing in for those services, loaded
with small fixtures in each service's own IRIs and vocabulary (tests/fixtures/federation/).
No request leaves the machine: every SERVICE IRI is a parameter, bound here to loopback."""

from __future__ import annotations

import csv
import io
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.cli import EXIT_OK, main
from kg.queries import find_query, list_queries
from kg.resources import data_dir

from .conftest import FIXTURES, TESTS
from .servers import oxigraph_server

FEDERATED = data_dir("queries") / "federated"
EXPECTED = TESTS / "expected" / "federated"
SERVICES = {  # query → (its service parameter, the fixture of the stand-in, public default)
    "uniprot-proteins": ("uniprot", "uniprot.ttl", "https://sparql.uniprot.org/sparql"),
    "wikidata-drugs": ("wikidata", "wikidata.ttl", "https://query.wikidata.org/sparql"),
    "chembl-mechanisms": ("chembl", "chembl.ttl", "https://www.ebi.ac.uk/rdf/services/sparql"),
}


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One Oxigraph server per service, on loopback, loaded with its fixture."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        urls = {}
        for name, (_, fixture, _) in SERVICES.items():
            base = stack.enter_context(oxigraph_server(tmp_path_factory.mktemp(name)))
            body = (FIXTURES / "federation" / fixture).read_bytes()
            request = urllib.request.Request(
                f"{base}/store?default", data=body, method="PUT",
                headers={"Content-Type": "text/turtle"},
            )  # fmt: skip
            urllib.request.urlopen(request, timeout=30).close()
            urls[name] = f"{base}/query"
        yield urls


def _rows(text: str) -> list[tuple[str, ...]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [tuple(rows[0]), *sorted(tuple(r) for r in rows[1:])]


def test_the_federated_queries_state_their_question_and_stay_out_of_the_library() -> None:
    names = {p.stem for p in FEDERATED.glob("*.rq")}
    assert names == set(SERVICES)
    assert not names & {q.name for q in list_queries()}  # kg serve offers none of them
    for name, (parameter, _, public) in SERVICES.items():
        query = find_query(str(FEDERATED / f"{name}.rq"))
        assert query.text.startswith("#+ summary:") and query.summary.endswith("?")
        [param] = [p for p in query.parameters if p.name == parameter]
        assert param.default == public  # the real service, used only when asked
        assert f"SERVICE ?{parameter}" in query.text


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_federated_join_meets_its_stand_in(
    stand_ins: dict[str, str], capsys: pytest.CaptureFixture[str], name: str, engine: str
) -> None:
    parameter = SERVICES[name][0]
    path = FEDERATED / f"{name}.rq"
    args = ["query", str(path), "--param", f"{parameter}={stand_ins[name]}", "--format", "csv"]
    capsys.readouterr()
    assert main([*args, "--engine", engine]) == EXIT_OK
    answer = capsys.readouterr().out
    expected = (EXPECTED / f"{name}.csv").read_text(encoding="utf-8")
    assert _rows(answer) == _rows(expected)
    assert len(_rows(answer)) > 1  # the join met


def test_an_unlinked_entry_of_the_service_is_not_joined(
    stand_ins: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = FEDERATED / "uniprot-proteins.rq"
    capsys.readouterr()
    assert main(["query", str(path), "--param", f"uniprot={stand_ins['uniprot-proteins']}",
                 "--format", "csv"]) == EXIT_OK  # fmt: skip
    assert "TEST_HUMAN" not in capsys.readouterr().out  # P99999: no claimkg link to it


def test_federated_answers_live_beside_the_library_answers() -> None:
    assert {p.stem for p in EXPECTED.glob("*.csv")} == set(SERVICES)
    assert Path(EXPECTED).parent.name == "expected"
