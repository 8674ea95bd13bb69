"""One error contract for every command (issue 13): exit 0 success, 1 data problems,
2 unusable input or environment, 3 a bug in claimkg, 130 on Ctrl-C; a one-line message
naming what is wrong, never a traceback unless ``--debug`` asks for it; a closed pipe
stops the output, not the work; ``-q`` on every command."""

from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kg.cli import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNUSABLE,
    command_line,
    main,
)

from .conftest import ARTICLE_ID, REPO, TEST_CORPUS

COMMANDS = sorted(next(a for a in command_line()._actions if a.dest == "command").choices or ())


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``kg ARGV`` in this process: (exit code, stdout, stderr); argparse's exits count."""
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _refused(code: int, err: str, *named: str) -> None:
    """Exit 2, a short message naming ``named``, no traceback."""
    assert code == EXIT_UNUSABLE, err
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 6, err
    for name in named:
        assert name in err, (name, err)


# ---------------------------------------------------------------- build


def test_build_out_naming_a_file_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a folder\n", encoding="utf-8")
    code, _, err = _run(["build", "--out", str(target), "-q"], capsys)
    _refused(code, err, str(target))
    assert target.read_text(encoding="utf-8") == "not a folder\n"


def test_build_with_a_bad_base_iri_is_unusable_in_a_few_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["build", "--out", str(tmp_path / "b"), "--base-iri", "not an iri"], capsys)
    _refused(code, err, "not an iri")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_build_with_no_workers_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    code, _, err = _run(["build", "--out", str(tmp_path / "b"), "-j", jobs], capsys)
    _refused(code, err, "--jobs")


def test_a_bug_is_exit_3_with_a_hint_and_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("kg.pipeline.build", broken)
    code, _, err = _run(["build", "--out", str(tmp_path / "b"), "-q"], capsys)
    assert code == EXIT_BUG and "Traceback" not in err
    assert "ZeroDivisionError: a bug" in err and "--debug" in err
    code, _, err = _run(["build", "--out", str(tmp_path / "b"), "-q", "--debug"], capsys)
    assert code == EXIT_BUG and "Traceback" in err and "ZeroDivisionError" in err
    code, _, err = _run(["--debug", "build", "--out", str(tmp_path / "b"), "-q"], capsys)
    assert code == EXIT_BUG and "Traceback" in err


def test_interrupting_a_command_is_exit_130_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("kg.pipeline.build", interrupted)
    code, _, err = _run(["build", "--out", str(tmp_path / "b")], capsys)
    assert code == EXIT_INTERRUPTED == 130
    assert "Traceback" not in err and "interrupted" in err


def _kg(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    process: subprocess.Popen[bytes] = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", *args], cwd=REPO, **kwargs
    )
    return process


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four synthetic articles of 600 claims: a rebuild of them all lasts long enough to
    interrupt (one such article alone was rebuilt before the signal arrived)."""
    out = tmp_path_factory.mktemp("big") / "corpus"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "synthetic_corpus.py"), str(out),
         "--articles", "4", "--claims", "600"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "store" not in p.relative_to(folder).parts
    }


@pytest.mark.slow
def test_ctrl_c_during_a_build_is_exit_130_and_leaves_the_build_folder_as_it_was(
    tmp_path: Path, big_corpus: Path
) -> None:
    out = tmp_path / "b"
    assert main(["build", "--corpus", str(big_corpus), "--out", str(out), "-q"]) == EXIT_OK
    before = _tree(out)
    files = sorted(big_corpus.glob("synthetic-*/claims/*.yaml"))
    originals = {path: path.read_text(encoding="utf-8") for path in files}
    try:
        for path, text in originals.items():
            path.write_text(text + "\n", encoding="utf-8")  # every article is stale again
        process = _kg("build", "--corpus", str(big_corpus), "--out", str(out),
                      stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
        assert process.stderr is not None
        line = process.stderr.readline().decode()
        while line and "to build" not in line:
            line = process.stderr.readline().decode()
        # at once: the unit takes a second or two, and a loaded machine (CI runs the suite
        # in parallel) may not wake this process from a sleep before the build is done
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        err = line + process.stderr.read().decode()
        assert process.wait(timeout=60) == EXIT_INTERRUPTED, err
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    assert "Traceback" not in err and "interrupted" in err
    assert _tree(out) == before


@pytest.mark.slow
def test_a_closed_pipe_stops_the_output_but_not_the_build(tmp_path: Path) -> None:
    out = tmp_path / "b"
    process = _kg("build", "--corpus", str(TEST_CORPUS), "--out", str(out),
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()  # like `kg build 2>&1 | head -1`
    process.stdout.close()
    assert first.startswith(b"kg: ")
    assert process.wait(timeout=300) == EXIT_OK
    assert (out / "claimkg.ttl").is_file() and (out / "validation-report.ttl").is_file()


# ---------------------------------------------------------------- validate and check


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


NOTHING_TO_VALIDATE = {
    "empty.ttl": "",
    "empty-object.jsonld": "{}",
    "prefixes-only.ttl": "@prefix ckg: <https://w3id.org/claimkg/vocab/> .\n",
    "one-unrelated-triple.nt": '<http://example.org/a> <http://example.org/b> "c" .\n',
}


@pytest.mark.parametrize("name", sorted(NOTHING_TO_VALIDATE))
def test_validate_refuses_a_graph_without_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = _write(tmp_path / name, NOTHING_TO_VALIDATE[name])
    code, out, err = _run(["validate", str(path)], capsys)
    _refused(code, err, "no claim")
    assert "Conforms" not in out


def test_validate_refuses_claims_without_their_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim = ("<https://w3id.org/claimkg/id/claim/a/c> a <https://w3id.org/claimkg/vocab/Claim>, "
             "<https://w3id.org/claimkg/vocab/Measurement> .\n")  # fmt: skip
    code, _, err = _run(["validate", str(_write(tmp_path / "claims.ttl", claim))], capsys)
    _refused(code, err, "no article")


def test_check_refuses_a_graph_without_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["check", "--data", str(_write(tmp_path / "empty.ttl", ""))], capsys)
    _refused(code, err, "no claim")
    assert "consistent" not in out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contract-build")
    assert main(["build", "--out", str(out), "-q"]) == EXIT_OK
    return out


def test_validate_says_what_it_validated(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["validate", str(built / "claimkg.nt")], capsys)
    assert code == EXIT_OK
    text = (built / "claimkg.nt").read_text(encoding="utf-8")
    triples = sum(1 for line in text.splitlines() if line.strip())
    a = "> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/claimkg/vocab/"
    claims, articles = text.count(f"{a}Claim> ."), text.count(f"{a}Article> .")
    assert claims and articles
    assert f"{claims} claims in {articles} article(s), {triples:,} triples" in out


@pytest.mark.slow
def test_validate_reads_the_base_iri_from_the_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "https://example.org/kg/"
    out = tmp_path / "b"
    assert main(["build", "--out", str(out), "--base-iri", base, "-q", "--format", "ttl"]) == 0
    code, stdout, err = _run(["validate", str(out / "claimkg.ttl")], capsys)
    assert code == EXIT_OK, stdout + err
    assert f"base IRI read from the graph: {base}" in err
    assert re.search(r"validated: [1-9][0-9]* claims in [1-9][0-9]* article\(s\)", stdout)
    text = (out / "claimkg.ttl").read_text(encoding="utf-8")
    broken = text.replace("qudt:numericValue 46.7 ;", "qudt:numericValue 140.0 ;", 1)
    assert broken != text
    code, stdout, _ = _run(["validate", str(_write(tmp_path / "broken.ttl", broken))], capsys)
    assert code == EXIT_INVALID and "between 0 and 100" in stdout


def test_validate_with_a_bad_base_iri_is_unusable(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["validate", str(built / "claimkg.nt"), "--base-iri", "ftp:/x y"], capsys)
    _refused(code, err, "ftp:/x y")


# ---------------------------------------------------------------- read commands


def test_plot_into_a_file_is_unusable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _write(tmp_path / "plots", "a file")
    code, _, err = _run(["plot", "--out", str(target)], capsys)
    _refused(code, err, str(target))


def test_graphml_into_a_file_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _write(tmp_path / "views", "a file")
    code, _, err = _run(["graph", "--graphml", str(target)], capsys)
    _refused(code, err, str(target))


def test_a_build_folder_that_is_a_file_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _write(tmp_path / "build", "a file")
    code, _, err = _run(["compare", "pfs-hr", "--build", str(target)], capsys)
    _refused(code, err, str(target))


def test_read_commands_are_quiet_with_q(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["query", "claims-by-type", "--format", "csv", "-q"], capsys)
    assert code == EXIT_OK and out.startswith("article,") and err == ""
    code, out, err = _run(["compare", "pfs-hr", "-q"], capsys)
    assert code == EXIT_OK and out and err == ""


@contextmanager
def _http(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A loopback HTTP server that answers every request with ``status`` and ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_query_on_an_endpoint_that_is_not_there_is_unusable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/sparql"
    code, _, err = _run(["query", "claims-by-type", "--endpoint", url], capsys)
    _refused(code, err, url)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [(404, b"no such page", "text/plain"), (200, b"<html>hello</html>", "text/html")],
    ids=["404", "not-sparql"],
)
def test_query_on_an_endpoint_that_answers_wrong_is_unusable(
    capsys: pytest.CaptureFixture[str], status: int, body: bytes, content_type: str
) -> None:
    with _http(status, body, content_type) as url:
        code, _, err = _run(["query", "claims-by-type", "--endpoint", url], capsys)
    _refused(code, err, url)


def test_query_with_a_malformed_endpoint_url_is_unusable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(["query", "claims-by-type", "--endpoint", "not a url"], capsys)
    _refused(code, err, "not a url")


def test_coverage_of_a_missing_corpus_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["coverage", "--corpus", str(tmp_path / "nowhere")], capsys)
    _refused(code, err, str(tmp_path / "nowhere"))


def test_links_with_a_missing_mapping_file_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["links", "--check", "--mappings", str(tmp_path / "none.tsv")], capsys)
    _refused(code, err, str(tmp_path / "none.tsv"))


def test_serve_on_a_busy_port_is_unusable(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = _run(["serve", "--port", str(port)], capsys)
    _refused(code, err, str(port))
    assert "serving" not in err


# ---------------------------------------------------------------- every command


def _minimal(command: str) -> list[str]:
    """The arguments ``command`` cannot do without."""
    required = {"validate": ["x.ttl"], "compare": ["pfs-hr"], "push": ["--endpoint", "http://h/u"],
                "nanopub": ["--sign", "key.pem"]}  # fmt: skip
    return required.get(command, [])


def test_coverage_refuses_a_claims_file_it_would_not_read(
    corpus_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = next((corpus_copy / ARTICLE_ID / "claims").glob("*.yaml"))
    renamed = claims.rename(claims.with_suffix(".yml"))
    code, _, err = _run(["coverage", "--corpus", str(corpus_copy)], capsys)
    _refused(code, err, str(renamed))


def test_nanopub_with_a_missing_key_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["nanopub", "--sign", str(tmp_path / "none.pem")], capsys)
    _refused(code, err, str(tmp_path / "none.pem"))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_quiet_and_debug(command: str) -> None:
    parser = command_line()
    for flags in (["-q"], ["--quiet", "--debug"]):
        args = parser.parse_args([command, *flags, *_minimal(command)])
        assert args.quiet is True
    assert parser.parse_args(["--debug", command, *_minimal(command)]).debug is True


def test_the_help_states_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--help"], capsys)
    assert code == EXIT_OK
    text = " ".join(out.split())
    for phrase in ("0 success", "1 data problems", "2 unusable input", "3 a bug", "130",
                   "--debug", "-q"):  # fmt: skip
        assert phrase in text, phrase


@pytest.mark.parametrize("argv", [["--help"], ["query", "--list"]], ids=["help", "query-list"])
def test_help_and_the_query_list_load_no_rdf_library(argv: list[str]) -> None:
    """What keeps ``kg --help`` and ``kg query --list`` under 0.3 s (timed in
    benchmarks/bench_cli.py): neither imports rdflib, pyoxigraph or networkx."""
    probe = (
        "import sys\nfrom kg.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('rdflib', 'pyoxigraph', 'networkx', 'pyshacl') "
        "if m in sys.modules)\nprint('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout[-300:]
    if argv == ["query", "--list"]:
        assert "hazard-ratio-by-assessor" in done.stdout
