"""`kg push` replaces each graph atomically, prunes, and checks counts: against the fake SPARQL
server of ``tests/servers.py``, whose state after each request is what a reader would see at
that moment, so "never missing" and "old or new" are checked request by request, and a push is
failed at every one of its requests in turn. Then ``kg push`` itself, on the test corpus.

The tests marked "issue 11" are regression tests of the push failures the issue lists; each
failed on the push of before the fix (staging and swap, prune).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from rdflib import Dataset

from kg.cli import EXIT_INVALID, EXIT_OK, EXIT_UNUSABLE, main
from kg.push import PushError, push_graphs

from .conftest import TEST_CORPUS
from .servers import APPLY_THEN_CUT, CUT, FakeStore, Fault, Reply, Seen, serving
from .test_push import (
    FIVE,
    G1,
    G2,
    NS,
    OUTSIDE,
    PATHS,
    _gsp,
    _lines,
    _nt,
    _once,
    _set,
    _staging_left,
    _update,
)


@pytest.fixture
def fake() -> Iterator[FakeStore]:
    with serving(FakeStore()) as server:
        yield server


# ---------------------------------------------------------------- atomic replacement


OLD = {G1: _lines("old-one-", 7), G2: _lines("old-two-", 4)}
NEW = {G1: _lines("new-one-", 9), G2: _lines("new-two-", 3) + FIVE[:1]}


def _old_store(server: FakeStore) -> None:
    server.dataset = Dataset()
    for iri, lines in OLD.items():
        server.load(iri, lines)
    server.load(OUTSIDE, FIVE)
    server.seen.clear()
    server.states.clear()


def _new_graphs(tmp_path: Path) -> list[tuple[str, Path]]:
    return [(iri, _nt(tmp_path, f"{i}.nt", lines)) for i, (iri, lines) in enumerate(NEW.items())]


def _old_or_new(state: dict[str, frozenset[Any]]) -> None:
    for iri in OLD:
        assert set(state.get(iri, ())) in (_set(OLD[iri]), _set(NEW[iri])), f"<{iri}> is neither"
    assert set(state.get(OUTSIDE, ())) == _set(FIVE)


@pytest.mark.parametrize("way", PATHS)
def test_readers_never_see_a_graph_vanish(fake: FakeStore, tmp_path: Path, way: str) -> None:
    """Issue 11: readers saw each graph vanish during every Update-path push (DROP, then
    INSERT DATA). After every request of a push, each graph is whole: old or new."""
    _old_store(fake)
    push_graphs(_new_graphs(tmp_path), PATHS[way](fake, batch_triples=2))
    assert len(fake.states) > 6
    for state in fake.states:
        _old_or_new(state)
    assert {iri: set(fake.triples(iri)) for iri in NEW} == {i: _set(n) for i, n in NEW.items()}


@pytest.mark.parametrize("fault", [CUT, APPLY_THEN_CUT, Reply(500), Reply(400)])
@pytest.mark.parametrize("way", PATHS)
def test_an_interrupted_push_leaves_every_graph_old_or_new(
    fake: FakeStore, tmp_path: Path, way: str, fault: Reply | str
) -> None:
    """Issue 11: an interrupted Update push left a graph dropped, and said nothing. Here the
    server fails, from the n-th request on, for every n along a whole push."""
    _old_store(fake)
    push_graphs(_new_graphs(tmp_path), PATHS[way](fake, batch_triples=2))
    total = len(fake.seen)
    for n in range(total):
        _old_store(fake)
        fake.fault = lambda seen, n=n: fault if len(fake.seen) > n else None
        target = PATHS[way](fake, batch_triples=2, retries=0)
        try:
            push_graphs(_new_graphs(tmp_path), target)
            failure = ""
        except PushError as error:
            failure = str(error)
        fake.fault = None
        _old_or_new({name: frozenset(fake.triples(name)) for name in [*OLD, OUTSIDE]})
        if failure:  # and the push says so
            assert "every graph on the server is either as it was or as pushed" in failure
        else:  # only a lost answer to the very last request passes unnoticed
            assert fault == APPLY_THEN_CUT or n == total - 1, n
    # and the next push completes the job, leaving no staging graph behind
    report = push_graphs(_new_graphs(tmp_path), PATHS[way](fake), prune=NS)
    assert {iri: set(fake.triples(iri)) for iri in NEW} == {i: _set(n) for i, n in NEW.items()}
    assert _staging_left(fake) == set() and report.mismatches == ()


def test_a_swap_whose_answer_is_lost_is_sent_again_safely(fake: FakeStore, tmp_path: Path) -> None:
    """The swap took effect but its answer was lost; sent again it must not empty the graph
    (a repeated MOVE would: the staging graph is gone, and an absent graph moves as empty)."""
    _old_store(fake)
    fake.fault = _once(APPLY_THEN_CUT, lambda seen: "DELETE {" in seen.text[:20])
    report = push_graphs(_new_graphs(tmp_path), _update(fake), sleep=lambda _: None)
    assert report.retries == 1 and report.mismatches == ()
    assert {iri: set(fake.triples(iri)) for iri in NEW} == {i: _set(n) for i, n in NEW.items()}


# ---------------------------------------------------------------- prune and counts


@pytest.mark.parametrize("way", PATHS)
def test_prune_removes_the_graphs_the_corpus_no_longer_has_and_nothing_else(
    fake: FakeStore, tmp_path: Path, way: str
) -> None:
    _old_store(fake)
    gone = NS + "article/removed-from-the-corpus"
    leftover = G1 + "/kg-push-staging-0123456789ab"  # from an interrupted push
    fake.load(gone, FIVE)
    fake.load(leftover, FIVE[:2])
    fake.load(NS.rstrip("/"), FIVE)  # beside the namespace, not in it
    report = push_graphs(_new_graphs(tmp_path), PATHS[way](fake), prune=NS)
    assert report.pruned == tuple(sorted([gone, leftover]))
    assert fake.graph_names() == {*NEW, OUTSIDE, NS.rstrip("/")}
    assert set(fake.triples(OUTSIDE)) == _set(FIVE)


def test_without_prune_nothing_else_is_touched(fake: FakeStore, tmp_path: Path) -> None:
    _old_store(fake)
    fake.load(NS + "article/removed-from-the-corpus", FIVE)
    report = push_graphs(_new_graphs(tmp_path), _gsp(fake))
    assert report.pruned == () and NS + "article/removed-from-the-corpus" in fake.graph_names()


def _undercount(server: FakeStore, graph: Callable[[str], bool]) -> Fault:
    """Counts one short for the graphs that ``graph`` picks."""

    def fault(seen: Seen) -> Reply | None:
        if seen.path != "/query" or "COUNT" not in seen.text:
            return None
        with server.lock:
            result = server.dataset.query(seen.text).serialize(format="json")
        answer = json.loads(cast(bytes, result))
        for row in answer["results"]["bindings"]:
            if graph(row["g"]["value"]):
                row["n"]["value"] = str(int(row["n"]["value"]) - 1)
        return Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    return fault


def _staging_of(iri: str) -> Callable[[str], bool]:
    return lambda name: name.startswith(iri + "/kg-push-staging-")


@pytest.mark.parametrize("swapped", [False, True])
def test_a_count_that_differs_is_reported(fake: FakeStore, tmp_path: Path, swapped: bool) -> None:
    """Before the swap, a short staging graph leaves the old graph in place; after it, the
    final check names the graph."""
    _old_store(fake)
    fake.fault = _undercount(fake, G2.__eq__ if swapped else _staging_of(G2))
    report = push_graphs(_new_graphs(tmp_path), _gsp(fake))
    assert [(m.graph, m.swapped) for m in report.mismatches] == [(G2, swapped)]
    [mismatch] = report.mismatches
    assert (mismatch.local, mismatch.server) == (len(NEW[G2]), len(NEW[G2]) - 1)
    assert str(mismatch).startswith(f"graph <{G2}>: the server holds {len(NEW[G2]) - 1}")
    expected = _set(NEW[G2]) if swapped else _set(OLD[G2])
    assert set(fake.triples(G2)) == expected and _staging_left(fake) == set()


# ---------------------------------------------------------------- kg push


@pytest.fixture
def corpus_two(tmp_path: Path) -> Path:
    """A copy of the two-article test corpus, for a test that removes an article."""
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


@pytest.fixture(scope="module")
def shared_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build folder of the test corpus for the tests that do not change it."""
    return tmp_path_factory.mktemp("push-build")


def _kg_push(fake: FakeStore, corpus: Path, build: Path, *extra: str) -> int:
    return main(["push", "--corpus", str(corpus), "--build", str(build), "-q",
                 "--endpoint", f"{fake.url}/update", "--graph-store", f"{fake.url}/store",
                 *extra])  # fmt: skip


def test_kg_push_prunes_an_article_removed_from_the_corpus(
    fake: FakeStore, corpus_two: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: graphs of articles removed from the corpus stayed on the server."""
    fake.load(OUTSIDE, FIVE)
    assert _kg_push(fake, corpus_two, tmp_path / "build") == EXIT_OK
    first = fake.graph_names()
    removed = NS + "article/mini-trial-followup"
    assert removed in first and "checked: the server holds" in capsys.readouterr().out
    shutil.rmtree(corpus_two / "mini-trial-followup")
    assert _kg_push(fake, corpus_two, tmp_path / "build") == EXIT_OK
    out = capsys.readouterr().out
    assert f"removed 1 graph(s) the corpus no longer has:\n  <{removed}>" in out
    assert fake.graph_names() == first - {removed}
    assert set(fake.triples(OUTSIDE)) == _set(FIVE)


def test_kg_push_no_prune_keeps_them(
    fake: FakeStore, shared_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.load(NS + "article/elsewhere", FIVE)
    assert _kg_push(fake, TEST_CORPUS, shared_build, "--no-prune") == EXIT_OK
    assert NS + "article/elsewhere" in fake.graph_names()
    assert "removed" not in capsys.readouterr().out


def test_kg_push_exits_1_on_a_count_mismatch(
    fake: FakeStore, shared_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fault = _undercount(fake, _staging_of(NS + "article/mini-trial-note"))
    assert _kg_push(fake, TEST_CORPUS, shared_build) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"kg: graph <{NS}article/mini-trial-note>: the server holds" in err
    assert "left as it was" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:s3cret@127.0.0.1:{port}/update",
        "http://alice@127.0.0.1:{port}/update",
    ],
)
def test_kg_push_refuses_credentials_in_the_url(
    fake: FakeStore, tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: credentials in the URL were sent to the resolver as a host name."""
    endpoint = url.format(port=fake.server_address[1])
    code = main(["push", "--corpus", str(TEST_CORPUS), "--build", str(tmp_path / "b"), "-q",
                 "--endpoint", endpoint])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE and fake.seen == []
    assert "--user" in err and "$KG_PUSH_PASSWORD" in err and "s3cret" not in err
    assert not (tmp_path / "b").exists()  # refused before any work


def test_kg_push_reports_an_unreachable_server_without_a_traceback(
    shared_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["push", "--corpus", str(TEST_CORPUS), "--build", str(shared_build), "-q",
                 "--endpoint", "http://127.0.0.1:9/update", "--retries", "0"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE and "kg: push failed:" in err and "Traceback" not in err
    assert "no graph on the server was changed" in err


def test_kg_push_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["push", "--help"])
    out = capsys.readouterr().out
    for option in ("--endpoint", "--graph-store", "--query-endpoint", "--user", "--password",
                   "--token", "--prune", "--no-prune", "--batch-triples", "--retries",
                   "--timeout", "--deadline", "--quiet", "--corpus", "--build"):  # fmt: skip
        assert option in out, option
    assert "KG_PUSH_PASSWORD" in out and "old or new" in out
