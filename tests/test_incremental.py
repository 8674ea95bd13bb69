"""Incremental work proportional to the change (issue 15, items 3 and 4): a build with
nothing changed writes nothing and loads no RDF library; one changed article rebuilds its
own unit alone, in this process, and replaces its one graph in the store; ``kg query`` on
the store runs on Oxigraph alone and answers as the rdflib-wrapped store does."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.build_folder import CACHE
from kg.namespaces import article_graph_iri
from kg.pipeline import STORE, build
from kg.queries import FORMATS, find_query, format_result, list_queries, run_on_store, run_query
from kg.store import as_rdflib, open_store

from .conftest import TEST_CORPUS

HEAVY = ("rdflib", "pyshacl", "oxrdflib", "kg.build", "kg.load", "kg.validate", "kg.serialize")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


def _stat_tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under ``folder`` (the store's too): inode, size, mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def _in_new_process(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_unchanged_build_writes_nothing_and_loads_no_rdf_library(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    build(corpus, out)
    before = _stat_tree(out)
    found = _in_new_process(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from kg.pipeline import build\n"
        f"outcome = build(Path({str(corpus)!r}), Path({str(out)!r}))\n"
        "print(json.dumps({'rebuilt': outcome.rebuilt, 'written': [str(p) for p in "
        f"outcome.written], 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert found == {"rebuilt": [], "written": [], "loaded": []}
    assert _stat_tree(out) == before  # no file written, replaced or removed


def test_one_changed_article_rebuilds_its_unit_alone_without_a_worker_pool(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b"
    build(corpus, out, jobs=2)
    units_dir = out / CACHE / "units"
    before = _stat_tree(units_dir)
    store = open_store(out / STORE, read_only=True)
    other = ox.NamedNode(str(article_graph_iri("mini-trial-note")))
    other_quads = sorted(map(str, store.quads_for_pattern(None, None, None, other)))
    del store

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker pool was started for one unit")

    monkeypatch.setattr(multiprocessing, "get_context", no_pool)  # kg.units's pool
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    claims.write_text(claims.read_text("utf-8").split("- id: drug-a-inhibits-kinase-1")[0], "utf-8")
    outcome = build(corpus, out, jobs=2)

    assert outcome.rebuilt == ["mini-trial-followup"]
    after = _stat_tree(units_dir)
    changed = {name.split("/")[0] for name in set(before) ^ set(after)}
    changed |= {n.split("/")[0] for n in set(before) & set(after) if before[n] != after[n]}
    assert changed == {"mini-trial-followup"}  # every other unit's files untouched
    key = outcome.records["mini-trial-followup"].key
    assert [p.name for p in (units_dir / "mini-trial-followup").iterdir()] == [key]
    store = open_store(out / STORE, read_only=True)
    assert sorted(map(str, store.quads_for_pattern(None, None, None, other))) == other_quads
    changed_graph = ox.NamedNode(str(article_graph_iri("mini-trial-followup")))
    ids = {
        str(q.object)
        for q in store.quads_for_pattern(None, None, None, changed_graph)
        if q.predicate.value.endswith("vocab/claimId")
    }
    assert '"drug-a-inhibits-kinase-1"' not in ids and '"question-follow-up"' in ids


def _answer(text: str, output: str) -> object:
    """An answer in a form independent of the order of rows a query leaves unordered
    (trial-design's ORDER BY has ties, which either engine breaks as it likes)."""
    if output == "json":
        data = json.loads(text)
        bindings = data.get("results", {}).get("bindings")
        if bindings is not None:
            bindings.sort(key=lambda b: json.dumps(b, sort_keys=True))
        return data
    header, *rows = text.splitlines()
    return header, sorted(rows)


def test_a_query_on_the_store_answers_as_the_store_seen_through_rdflib(tmp_path: Path) -> None:
    out = tmp_path / "b"
    build(None, out, formats=("nq",))
    direct = ox.Store.read_only(str(out / STORE))
    wrapped = as_rdflib(open_store(out / STORE, read_only=True))
    queries = list_queries()
    answered = 0
    for query in queries:
        for output in FORMATS:
            answer = run_on_store(direct, query)
            if answer is None:
                continue
            answered += 1
            expected = format_result(run_query(wrapped, query), output)
            assert _answer(format_result(answer, output), output) == _answer(expected, output), (
                query.name,
                output,
            )
    assert answered == len(queries) * len(FORMATS)  # every library query runs directly
    provenance = find_query("claim-provenance")
    given = {"claim": "s03-pfs-bicr-hr"}
    answer = run_on_store(direct, provenance, given)
    assert answer is not None
    assert format_result(answer) == format_result(run_query(wrapped, provenance, given))


def test_kg_query_on_the_store_loads_no_rdf_library(tmp_path: Path) -> None:
    out = tmp_path / "b"
    build(None, out, formats=("nq",))
    # the folder brought up to date just before (in a shared checkout, code edited since the
    # build above would make the query rebuild, and load everything, for that reason alone)
    _in_new_process(f"from kg.pipeline import build; build(None, __import__('pathlib').Path("
                    f"{str(out)!r}), formats=None); print('{{}}')")  # fmt: skip
    found = _in_new_process(
        "import io, json, sys\n"
        "from contextlib import redirect_stdout\n"
        "from kg.cli import main\n"
        "buffer = io.StringIO()\n"
        "with redirect_stdout(buffer):\n"
        f"    code = main(['query', 'ic50-by-target', '--build', {str(out)!r}, '-q'])\n"
        "print(json.dumps({'code': code, 'rows': buffer.getvalue().splitlines()[-1], "
        f"'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert found["code"] == 0 and found["loaded"] == []
    wrapped = as_rdflib(open_store(out / STORE, read_only=True))
    expected = format_result(run_query(wrapped, find_query("ic50-by-target")))
    assert found["rows"] == expected.splitlines()[-1]  # "(N rows)", as rdflib's path counts
