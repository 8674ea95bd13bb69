"""The query page in a real headless browser (Debian's chromium) with every host but loopback
unresolvable: the page must load, list the library, run a question and show its answer."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.queries import find_query
from tests.servers import apt_install
from tests.test_serve import start_server, stop_server

pytestmark = pytest.mark.slow


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt_install("chromium")
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _chromium()
    if found is None:
        pytest.skip("Debian's chromium is not installed and could not be installed here")
    return found


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    build = tmp_path_factory.mktemp("page-build")
    process, port = start_server(build, "--workers", "2")
    try:
        yield port, build
    finally:
        stop_server(process)


def _rendered(chromium: str, url: str) -> str:
    """The page's DOM once its scripts have run, with no host but loopback resolvable."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--virtual-time-budget=20000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_page_runs_a_library_question_offline(
    chromium: str, page_server: tuple[int, Path]
) -> None:
    port, build = page_server
    question = find_query("claims-by-type")
    store = ox.Store.read_only(str(build / "store"))
    solutions = store.query(question.bound_text(), use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    types = {s["type"].value for s in solutions if s["type"] is not None}
    assert types
    dom = _rendered(chromium, f"http://127.0.0.1:{port}/sparql?question={question.name}")
    assert 'data-answered="yes"' in dom, "the question's answer never arrived"
    assert all(kind in dom for kind in types), "the answer's rows are not on the page"
    assert dom.count('data-name="') >= 10  # the library is listed, one button per question
