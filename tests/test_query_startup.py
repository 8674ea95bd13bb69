"""What keeps ``kg query NAME`` on the build folder's store quick to start (issue 15: under
0.3 s, timed in benchmarks/bench_cli.py): it imports no RDF library, PyYAML, pySHACL or
writer, in any output format, with ``--engine oxigraph`` given or not; and the query headers
it reads without PyYAML mean what PyYAML says they mean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kg.pipeline import build
from kg.queries import find_query
from kg.query_headers import parse_header, plain_header
from kg.resources import data_dir

from .conftest import REPO

NOT_NEEDED = ("rdflib", "oxrdflib", "pyshacl", "yaml", "jsonschema", "networkx", "matplotlib",
              "kg.build", "kg.load", "kg.validate", "kg.serialize", "kg.units")  # fmt: skip


def _in_new_process(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("startup") / "b"
    build(None, out, formats=("nq",))
    return out


@pytest.mark.parametrize(
    "extra",
    [[], ["--format", "csv"], ["--format", "tsv"], ["--format", "json"], ["--engine", "oxigraph"]],
    ids=["table", "csv", "tsv", "json", "engine-given"],
)
def test_kg_query_imports_only_what_it_needs(built: Path, extra: list[str]) -> None:
    # brought up to date just before: in a shared checkout, code edited since the fixture's
    # build would make the query rebuild, and import everything, for that reason alone
    _in_new_process(f"from kg.pipeline import build; build(None, __import__('pathlib').Path("
                    f"{str(built)!r}), formats=None); print('{{}}')")  # fmt: skip
    found = _in_new_process(
        "import io, json, sys\n"
        "from contextlib import redirect_stdout\n"
        "from kg.cli import main\n"
        "buffer = io.StringIO()\n"
        "with redirect_stdout(buffer):\n"
        f"    code = main(['query', 'trial-hazard-ratios', '--build', {str(built)!r}, '-q', "
        f"*{extra!r}])\n"
        "print(json.dumps({'code': code, 'out': buffer.getvalue(), "
        f"'loaded': [m for m in {NOT_NEEDED!r} if m in sys.modules]}}))"
    )
    assert found["code"] == 0 and found["loaded"] == []
    out = str(found["out"])
    assert "LEONARDA-1" not in out  # the parameter's value is bound, not printed
    assert ("hr-leonarda-1-pfs-hr" in out) and ("0.451" in out), out[:300]


def _header_lines(path: Path) -> list[str]:
    return [line[2:] for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("#+")]  # fmt: skip


def test_every_library_header_is_read_without_pyyaml_as_pyyaml_reads_it() -> None:
    paths = sorted(data_dir("queries").glob("*.rq"))
    assert len(paths) > 40
    for path in paths:
        lines = _header_lines(path)
        plain = plain_header(lines)
        assert plain is not None, f"{path.name}: its header needs PyYAML"
        assert repr(plain) == repr(yaml.safe_load("\n".join(lines)) or {}), path.name


# Scalars YAML reads as something other than the text (booleans, nulls, numbers, dates),
# or that end, nest or escape; each goes where a header has a value, a list item, a
# parameter's value and a key.
TRICKY = ["yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "", "0", "7", "010", "1.5",
          "0.50", "1e3", "1_000", "0x1F", "-1", "+1", ".inf", "12:30", "2024-01-02",
          "123456789012345678901", "a: b", "a:b", "x:", "a #b", "a#b", "'q'", '"q"', '"a\\"b"',
          "'it''s'", "it's", "a, b", "[a]", "{a: b}", "a [b]", "a {b}", "a  b", "&x a", "*x",
          "!x a", "a!b", "|", ">", "%x", "@x", "`x", "a?b", "?x", "-x", "- x", "é…", "a\tb",
          "=", "<<", "a\x07b", "\ufeffa", "a\u00a0b", "(a)", "a (b)"]  # fmt: skip


def _variants() -> list[list[str]]:
    variants = []
    for value in TRICKY:
        variants += [
            [f" summary: {value}", " tags: [a, b]"],
            [" summary: s", f" tags: [{value}, b]"],
            [" params:", f"   - {{name: x, type: iri, default: {value}}}"],
            [f" {value}: x"],
            [" params:", f"   - {{{value}: x}}"],
        ]
    variants += [
        [" params:", " - {name: x}"],  # items at the key's own indentation
        [" params: x", "   - {a: b}"],  # items after a value
        [" params:", "   - {a: b}", "    - {a: c}"],  # items at two indentations
        [" a: 1", "a: 2"],
        [" a: b", " a: c"],  # a key twice
        [" params:", "   - {a: b, a: c}"],
        [" params:", "   - {a: b}", " tags: [x]", "   - {a: c}"],
        [" tags: [a,, b]"],
        [" tags: [a, b,]"],
        [" tags: []"],
        [" tags: [a, b]  # comment"],
        [" summary: a", "   continued"],  # a plain scalar over two lines
        [" summary:", ""],
        [" summary: "],
        ["", " summary: a", ""],
        [" a: b", "\t", " c: d"],  # a line of a tab alone: an error in YAML
        [" params:", "   - {}"],
        [" params:", "   - {a: {b: c}}"],
        [" params:", "   - {a: b} # c"],
        [" params:", "   - {a: b} # {c}"],
        [" params:", "   - [a, b]"],
        [" params:", "   - {a: \"b, c\", d: 'e, f'}"],
        [" params:", '   - {a: "b\\", c"}'],
        ["- a"],
        ["a"],
    ]
    return variants


@pytest.mark.parametrize("lines", _variants(), ids=repr)
def test_a_header_read_without_pyyaml_is_what_pyyaml_reads(lines: list[str]) -> None:
    """Outside the part of YAML it knows, ``plain_header`` declines (None) and PyYAML reads
    the header; inside it, the same values of the same types (True is not "yes", 7 not "7")."""
    plain = plain_header(lines)
    if plain is None:
        return
    assert repr(plain) == repr(yaml.safe_load("\n".join(lines)) or {})


def test_the_library_headers_part_of_yaml_is_read_without_pyyaml() -> None:
    """So that the cases above do not pass by declining everything."""
    lines = [
        " summary: Which figure (the one printed), in each article?",
        " tags: [a, b c]",
        " params:",
        '   - {name: x, type: "xsd:string", default: "02", description: it}',
        "   - {name: ref, type: \"xsd:integer\", default: 6, description: 'a, b'}",
    ]
    assert plain_header(lines) == {
        "summary": "Which figure (the one printed), in each article?",
        "tags": ["a", "b c"],
        "params": [
            {"name": "x", "type": "xsd:string", "default": "02", "description": "it"},
            {"name": "ref", "type": "xsd:integer", "default": 6, "description": "a, b"},
        ],
    }


def test_a_header_beyond_that_part_still_means_what_yaml_says(tmp_path: Path) -> None:
    query = tmp_path / "flag.rq"
    query.write_text(
        "#+ summary: >-\n#+   folded\n#+   over lines\n#+ params:\n"
        '#+   - {name: flag, type: "xsd:string", default: yes}\nASK {}\n',
        encoding="utf-8",
    )
    read = find_query(str(query))
    assert read.summary == "folded over lines"
    assert read.parameters[0].default == "True"  # YAML 1.1: yes is a boolean
    with pytest.raises(ValueError, match="invalid '#\\+' header"):
        parse_header("#+ summary: [unclosed\nASK {}\n")
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        parse_header("#+ - a list\nASK {}\n")
