"""The README shows what the commands do (issue 13, item 7): each ``console`` block's
commands run and print exactly the output shown under them, and every other ``kg`` command
line of the README parses with today's options.

When an answer changes on purpose, ``KG_UPDATE_README=1 .venv/bin/pytest tests/test_readme.py``
rewrites the blocks from the real output (then read the diff)."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

import pytest

from kg.cli import EXIT_OK, command_line, main

from .conftest import REPO

README = REPO / "README.md"
_CONSOLE = re.compile(r"^(?P<indent>[ ]*)```console\n(?P<body>.*?)^(?P=indent)```\n", re.M | re.S)
_PLACEHOLDER = re.compile(r"\[|…|\||\b[A-Z]{3,}\b|\bN\b")
"""A synopsis (``kg query NAME [--param …]``), not a command line that can be run."""


@dataclass(frozen=True)
class _Example:
    command: str
    shown: str


def _blocks(text: str) -> list[tuple[re.Match[str], list[_Example]]]:
    """Each console block with its commands (``$ kg …``) and the output shown under each."""
    blocks = []
    for match in _CONSOLE.finditer(text):
        indent = match["indent"]
        examples: list[_Example] = []
        for line in match["body"].splitlines():
            line = line.removeprefix(indent)
            if line.startswith("$ "):
                examples.append(_Example(line[2:], ""))
            elif examples:
                examples[-1] = _Example(examples[-1].command, examples[-1].shown + line + "\n")
        blocks.append((match, examples))
    return blocks


def _normal(output: str) -> str:
    """Lines without trailing blanks; cells joined with | compared as sets (SPARQL's
    GROUP_CONCAT promises no order)."""
    lines = (line.rstrip() for line in output.splitlines())
    joined = re.compile(r"\S+\|\S+")
    return "\n".join(joined.sub(lambda m: "|".join(sorted(m[0].split("|"))), s) for s in lines)


def _run(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    argv = shlex.split(command)
    assert argv[0] == "kg", command
    capsys.readouterr()
    assert main(argv[1:]) == EXIT_OK, command
    return capsys.readouterr().out


def test_the_console_examples_print_what_the_readme_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = README.read_text(encoding="utf-8")
    blocks = _blocks(text)
    assert sum(len(examples) for _, examples in blocks) >= 4
    update = os.environ.get("KG_UPDATE_README") == "1"
    rewritten, end = [], 0
    for match, examples in blocks:
        indent, lines = match["indent"], []
        for example in examples:
            printed = _run(example.command, capsys)
            if not update:
                assert _normal(printed) == _normal(example.shown), (
                    f"README's output of `{example.command}` drifted; rewrite it with "
                    "KG_UPDATE_README=1 .venv/bin/pytest tests/test_readme.py"
                )
            lines += [f"$ {example.command}", *(line.rstrip() for line in printed.splitlines())]
        body = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
        rewritten += [text[end : match.start()], f"{indent}```console\n{body}{indent}```\n"]
        end = match.end()
    if update:
        README.write_text("".join(rewritten) + text[end:], encoding="utf-8")


def _command_lines(text: str) -> list[str]:
    """``kg …`` in inline code and in the lines of sh blocks, synopses left out."""
    found = re.findall(r"`(kg [^`]+)`", text)
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        found += [line.split("#")[0].strip() for line in block.splitlines()]
    return [c for c in found if c.startswith("kg ") and not _PLACEHOLDER.search(c)]


def test_every_kg_command_of_the_readme_parses(capsys: pytest.CaptureFixture[str]) -> None:
    parser = command_line()
    commands = _command_lines(README.read_text(encoding="utf-8"))
    assert len(commands) >= 10
    names = next(a for a in parser._actions if a.dest == "command").choices
    assert names is not None
    for command in commands:
        words = shlex.split(command)[1:]
        if len(words) == 1 and not words[0].startswith("-"):  # "`kg push` loads …"
            assert words[0] in names, f"README names a command kg has not: {command}"
            continue
        try:
            parser.parse_args(words)
        except SystemExit as error:  # --help and --version exit 0
            assert error.code == 0, f"README: `{command}` does not parse: {capsys.readouterr().err}"
