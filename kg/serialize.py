"""Stage 4 — write the graph in standard serialisations, atomically.

Every file is first written to a temporary file in the output folder and then moved over
the old one with ``os.replace``: a run that fails half-way leaves each file either as it
was or complete, never half-written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from rdflib import Dataset, Graph, Literal, plugin
from rdflib.namespace import XSD
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.plugins.serializers.turtle import TurtleSerializer
from rdflib.serializer import Serializer
from rdflib.term import Node

from kg.build import BuiltCorpus

OUTPUT_FILES: dict[str, str] = {
    "claimkg.ttl": "Turtle: the whole graph",
    "claimkg.nt": "N-Triples: the whole graph, one sorted triple per line",
    "claimkg.jsonld": "JSON-LD: the whole graph, compacted with claimkg's prefixes",
    "claimkg.trig": "TriG: one nanopublication per claim, plus context graphs",
    "validation-report.ttl": "SHACL validation report",
}


def _exact_decimal(serializer: TurtleSerializer, node: Node) -> str | None:
    """rdflib writes the decimal "65" as the shorthand 65.0, another lexical form; keep it."""
    if isinstance(node, Literal) and node.datatype == XSD.decimal and "." not in str(node):
        return node._literal_n3(
            use_plain=False, qname_callback=lambda datatype: serializer.get_pname(datatype, True)
        )
    return None


class ExactTurtleSerializer(TurtleSerializer):
    """Turtle that keeps every decimal exactly as printed (``"65"^^xsd:decimal``)."""

    def label(self, node: Node, position: int) -> str:
        return _exact_decimal(self, node) or super().label(node, position)


class ExactTrigSerializer(TrigSerializer):
    """TriG that keeps every decimal exactly as printed."""

    def label(self, node: Node, position: int) -> str:
        return _exact_decimal(self, node) or super().label(node, position)


plugin.register("claimkg-turtle", Serializer, __name__, "ExactTurtleSerializer")
plugin.register("claimkg-trig", Serializer, __name__, "ExactTrigSerializer")


def jsonld_context(graph: Graph) -> dict[str, str]:
    """The JSON-LD context: the graph's own prefixes, so JSON-LD and Turtle read alike."""
    return {prefix: str(namespace) for prefix, namespace in graph.namespaces() if prefix}


def sorted_ntriples(graph: Graph) -> str:
    """N-Triples in a stable order, so that two builds of the same input diff cleanly."""
    lines = graph.serialize(format="nt11").splitlines()
    return "\n".join(sorted(line for line in lines if line.strip())) + "\n"


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary sibling and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: Path, text: str) -> None:
    def write(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    write_atomically(path, write)


def write_outputs(
    built: BuiltCorpus, report: Graph, out_dir: Path, extra: Mapping[str, str] | None = None
) -> list[Path]:
    """Write the four serialisations, the validation report and ``extra`` (file name →
    text, e.g. the KGX export) into ``out_dir``."""
    graph, dataset = built.graph, built.dataset
    writers: dict[str, Callable[[], str]] = {
        "claimkg.ttl": lambda: graph.serialize(format="claimkg-turtle"),
        "claimkg.nt": lambda: sorted_ntriples(graph),
        "claimkg.jsonld": lambda: graph.serialize(
            format="json-ld", context=jsonld_context(graph), indent=2
        ),
        "claimkg.trig": lambda: _trig(dataset),
        "validation-report.ttl": lambda: report.serialize(format="claimkg-turtle"),
    }
    # Serialise everything first, so that an error in one format changes no file at all.
    texts = {name: render() for name, render in writers.items()} | dict(extra or {})
    written = []
    for name, text in texts.items():
        write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written


def _trig(dataset: Dataset) -> str:
    return dataset.serialize(format="claimkg-trig")
