"""The pictures' layout, read from matplotlib's artists after drawing (issue 13, item 9): no
two labels overlap, every value label sits at its own bar or row, nothing is drawn over a
label, numbers are printed as their source prints them. Expectations come from the graph, so
they hold for any corpus; both the bundled and the two-article test corpus are drawn, through
the store (which keeps ``0.50`` as ``0.5``)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS

from kg.analysis import citation_support_graph
from kg.namespaces import CKG
from kg.plot import citation_plot, forest_plot, ic50_plot, target_groups, write_plots
from kg.queries import find_query, format_result, run_query
from kg.store import in_store

Draw = Callable[[Graph], Figure]
PICTURES: dict[str, Draw] = {"forest": forest_plot, "ic50": ic50_plot, "citation": citation_plot}
NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?|\.\d+)(?!\d)")
HR_LABEL = re.compile(r"^(\S+) \((\S+)–(\S+)\)$")
TOLERANCE = 0.5  # pixels: boxes that only touch do not overlap


@pytest.fixture(scope="module", params=["built", "test_built"])
def stored(request: pytest.FixtureRequest) -> Graph:
    """The corpus's graph in the store, as ``kg plot`` reads it."""
    return in_store(request.getfixturevalue(request.param).graph)


@pytest.fixture
def drawn() -> Iterator[list[Figure]]:
    figures: list[Figure] = []
    yield figures
    for figure in figures:
        plt.close(figure)


def _draw(draw: Draw, graph: Graph, figures: list[Figure]) -> tuple[Figure, Axes]:
    figure = draw(graph)
    figures.append(figure)
    figure.canvas.draw()
    return figure, figure.axes[0]


def _texts(figure: Figure) -> list[tuple[Text, Bbox]]:
    """Every text drawn, with its box in pixels (tick labels only of ticks in view)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    hidden = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            shown = axes.axison and axis.get_visible()
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not shown or not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [
        (text, text.get_window_extent(renderer))
        for text in figure.findobj(Text)
        if isinstance(text, Text)
        and id(text) not in hidden
        and text.get_visible()
        and text.get_text().strip()
    ]


def _overlap(a: Bbox, b: Bbox) -> bool:
    return bool(
        a.x0 < b.x1 - TOLERANCE
        and b.x0 < a.x1 - TOLERANCE
        and a.y0 < b.y1 - TOLERANCE
        and b.y0 < a.y1 - TOLERANCE
    )


def _centre(box: Bbox) -> tuple[float, float]:
    return (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    csv_text = format_result(run_query(graph, find_query(name)), "csv")
    return list(csv.DictReader(io.StringIO(csv_text)))


def _forest_rows(graph: Graph) -> list[dict[str, str]]:
    return [r for r in _rows(graph, "compare-pfs-hr") if not r["population"] and r["ciLower"]]


def _xy(line: Line2D) -> tuple[list[float], list[float]]:
    return (
        [float(x) for x in np.asarray(line.get_xdata(), dtype=float)],
        [float(y) for y in np.asarray(line.get_ydata(), dtype=float)],
    )


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_no_two_labels_overlap_and_none_is_cut_off(
    name: str, stored: Graph, drawn: list[Figure]
) -> None:
    figure, _ = _draw(PICTURES[name], stored, drawn)
    texts = _texts(figure)
    assert texts
    clashes = [
        (a.get_text(), b.get_text()) for (a, x), (b, y) in combinations(texts, 2) if _overlap(x, y)
    ]
    assert not clashes, clashes[:5]
    frame = figure.bbox
    cut = [
        t.get_text()
        for t, box in texts
        if box.x0 < frame.x0 - 1
        or box.x1 > frame.x1 + 1
        or box.y0 < frame.y0 - 1
        or box.y1 > frame.y1 + 1
    ]
    assert not cut, cut


def test_forest_value_labels_sit_at_their_rows_clear_of_every_line(
    stored: Graph, drawn: list[Figure]
) -> None:
    figure, axes = _draw(forest_plot, stored, drawn)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    labels = [(t, box) for t, box in _texts(figure) if HR_LABEL.match(t.get_text())]
    assert len(labels) == len(_forest_rows(stored)) > 0
    no_effect = [line for line in axes.lines if set(_xy(line)[0]) == {1.0}]
    assert len(no_effect) == 1, "one HR = 1 line"
    intervals = [
        line
        for line in axes.lines
        if len(_xy(line)[0]) == 2 and len(set(_xy(line)[1])) == 1 and line not in no_effect
    ]
    for text, box in labels:
        for line in axes.lines:
            assert not _overlap(line.get_window_extent(renderer), box), (
                f"a line runs through '{text.get_text()}'"
            )
        # the label's row: the one interval drawn at its height, with its numbers
        row = [
            line
            for line in intervals
            if box.y0 <= axes.transData.transform((1, _xy(line)[1][0]))[1] <= box.y1
        ]
        assert len(row) == 1, text.get_text()
        low, high = sorted(_xy(row[0])[0])
        match = HR_LABEL.match(text.get_text())
        assert match is not None
        assert (float(match[2]), float(match[3])) == pytest.approx((low, high))


@pytest.mark.parametrize("engine", ["store", "rdflib"])
def test_forest_prints_each_number_as_its_source_prints_it(
    engine: str, request: pytest.FixtureRequest, drawn: list[Figure]
) -> None:
    """The store says ``0.5`` for the printed ``0.50``: the label must say ``0.50``."""
    found = 0
    for corpus in ("built", "test_built"):
        graph = request.getfixturevalue(corpus).graph
        graph = in_store(graph) if engine == "store" else graph
        figure, _ = _draw(forest_plot, graph, drawn)
        printed = {}
        for row in _forest_rows(graph):
            node = graph.value(None, CKG.figureId, Literal(row["figure"]))
            key = tuple(Decimal(row[k]) for k in ("value", "ciLower", "ciUpper"))
            printed[key] = str(graph.value(node, CKG.asPrinted))
        for text, _ in _texts(figure):
            match = HR_LABEL.match(text.get_text())
            if not match:
                continue
            found += 1
            source = printed[tuple(Decimal(n) for n in match.groups())]
            for number in match.groups():
                forms = {t for t in NUMBER.findall(source) if Decimal(t) == Decimal(number)}
                if len(forms) == 1:  # the source prints it, one way: that way
                    assert number in forms, f"'{number}' printed as {forms} in '{source}'"
    assert found


def _bars(axes: Axes) -> list[Rectangle]:
    return [
        p
        for p in axes.patches
        if isinstance(p, Rectangle)
        and p.get_gid() != "group-band"
        and p.get_width()
        and p.get_height()
    ]


def _categorical(axes: Axes) -> str:
    """The axis that names the bars: the one whose tick labels are not numbers."""
    number = re.compile(r"[\d.,−-]+|\$.*\$")  # 10 or mathtext $10^{1}$
    words = [t.get_text() for t in axes.get_yticklabels() if not number.fullmatch(t.get_text())]
    return "y" if words else "x"


def _span(box: Bbox, axis: str) -> tuple[float, float]:
    return (box.y0, box.y1) if axis == "y" else (box.x0, box.x1)


def test_ic50_every_bar_has_its_value_at_its_end_and_its_name_beside_it(
    stored: Graph, drawn: list[Figure]
) -> None:
    figure, axes = _draw(ic50_plot, stored, drawn)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    across = _categorical(axes)
    along = "x" if across == "y" else "y"
    bars = [(bar, bar.get_window_extent(renderer)) for bar in _bars(axes)]
    rows = _rows(stored, "compare-ic50")
    assert len(bars) == len(rows) > 0, "one bar per IC50"
    texts = _texts(figure)
    values = [(t, box) for t, box in texts if NUMBER.fullmatch(t.get_text().split(" ")[0])]
    ticks = axes.get_yticklabels() if across == "y" else axes.get_xticklabels()
    names = [(t, box) for t, box in texts if t in ticks]
    for bar, box in bars:
        low, high = _span(box, across)
        at = [(t, b) for t, b in values if low <= _centre(b)[across == "y"] <= high]
        assert len(at) == 1, f"bar {bar}: value labels {[t.get_text() for t, _ in at]}"
        text, label = at[0]
        first, last = _span(label, across)
        assert low - 1 <= first and last <= high + 1, f"'{text.get_text()}' spills off its bar"
        gap = _span(label, along)[0] - _span(box, along)[1]
        assert 0 <= gap <= 12, f"'{text.get_text()}' is {gap:.0f} px from its bar's end"
        length = bar.get_x() + bar.get_width() if across == "y" else bar.get_y() + bar.get_height()
        assert float(text.get_text().split(" ")[0]) == pytest.approx(length)
        named = [t for t, b in names if low <= _centre(b)[across == "y"] <= high]
        assert len(named) == 1, f"the bar valued {text.get_text()} has names {named}"
        for other, other_box in bars:
            if other is not bar:
                assert not _overlap(label, other_box), f"'{text.get_text()}' on another bar"
    for tick, box in names:
        spans = [_span(b, across) for _, b in bars]
        assert any(lo <= _centre(box)[across == "y"] <= hi for lo, hi in spans), (
            f"'{tick.get_text()}' names no bar"
        )
    legend = axes.get_legend()
    if legend is not None:
        frame = legend.get_window_extent(renderer)
        assert not any(_overlap(frame, b) for _, b in bars + values), "the legend hides a bar"


def _parts(graph: Graph, label: str) -> set[URIRef]:
    return {
        URIRef(str(p))
        for e in graph.subjects(RDFS.label, Literal(label))
        for p in graph.objects(e, CKG.hasPart)
    }


def test_ic50_a_target_whose_parts_another_includes_is_drawn_beside_it(
    stored: Graph, drawn: list[Figure]
) -> None:
    """CDK6/cyclin D3 (the article's) and CDK6-cyclin D1-2-3 (the external figures') are one
    group of adjacent bars, each named as printed."""
    figure, axes = _draw(ic50_plot, stored, drawn)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    across = _categorical(axes)
    targets = {r["target"] for r in _rows(stored, "compare-ic50")}
    nested = [
        (a, b)
        for a, b in combinations(sorted(targets), 2)
        if _parts(stored, a)
        and _parts(stored, b)
        and (_parts(stored, a) <= _parts(stored, b) or _parts(stored, b) <= _parts(stored, a))
    ]
    ticks = axes.get_yticklabels() if across == "y" else axes.get_xticklabels()
    boxes = [(t, t.get_window_extent(renderer)) for t in ticks if t.get_text()]
    order = []  # each bar's target, in drawing order along the categorical axis
    for bar in sorted(
        _bars(axes), key=lambda b: _centre(b.get_window_extent(renderer))[across == "y"]
    ):
        low, high = _span(bar.get_window_extent(renderer), across)
        names = [t.get_text() for t, box in boxes if low <= _centre(box)[across == "y"] <= high]
        assert len(names) == 1, "every bar named"
        named = names[0].split(" · ", 1)[-1]  # "drug · target", maybe " (article)" after it
        order.append(max((t for t in targets if named == t or named.startswith(f"{t} (")), key=len))
    for a, b in nested:
        run = [i for i, t in enumerate(order) if t in (a, b)]
        assert run == list(range(run[0], run[-1] + 1)), f"{a} and {b} apart: {order}"


def test_target_groups_join_a_complex_to_one_that_includes_its_parts() -> None:
    ex = Namespace("http://example.org/")
    graph = Graph()
    for entity, label, parts in (
        ("a", "K6/D3", ["k6", "d3"]),
        ("b", "K6-D1-2-3", ["k6", "d1", "d3"]),
        ("c", "K4/D1", ["k4", "d1"]),  # shares a part only: stays apart
        ("d", "kinase", []),  # no parts: stays apart
    ):
        graph.add((ex[entity], RDFS.label, Literal(label)))
        for part in parts:
            graph.add((ex[entity], CKG.hasPart, ex[part]))
    assert target_groups(graph, ["K6/D3", "K4/D1", "K6-D1-2-3", "kinase", "K6/D3"]) == [
        ["K4/D1"],
        ["K6-D1-2-3", "K6/D3"],
        ["kinase"],
    ]


def _nodes(figure: Figure) -> list[tuple[float, float, float]]:
    """Every node drawn: its centre in pixels and its diameter."""
    nodes = []
    for collection in figure.axes[0].collections:
        if isinstance(collection, PathCollection):
            centres = collection.get_offset_transform().transform(collection.get_offsets())
            sizes = collection.get_sizes()
            for i, (x, y) in enumerate(centres):
                diameter = (sizes[i % len(sizes)] ** 0.5) * figure.dpi / 72
                nodes.append((float(x), float(y), float(diameter)))
    return nodes


def test_citation_every_reference_and_citing_claim_is_labelled_beside_its_own_node(
    stored: Graph, drawn: list[Figure]
) -> None:
    figure, _ = _draw(citation_plot, stored, drawn)
    view = citation_support_graph(stored)
    references = Counter(
        d["label"].split("]")[0] + "]" for _, d in view.nodes(data=True) if d["kind"] == "reference"
    )
    claims = Counter(
        d["label"] for n, d in view.nodes(data=True) if d["kind"] == "claim" and view.in_degree(n)
    )
    texts = _texts(figure)
    drawn_refs = Counter(
        t.get_text().split("]")[0] + "]" for t, _ in texts if re.match(r"\[\d+\]", t.get_text())
    )
    assert drawn_refs == references
    assert Counter(t.get_text() for t, _ in texts if t.get_text() in claims) == claims
    nodes = _nodes(figure)
    assert len(nodes) == sum(references.values()) + sum(claims.values())
    labels = [
        box for t, box in texts if re.match(r"\[\d+\]", t.get_text()) or t.get_text() in claims
    ]
    for x, y, diameter in nodes:
        beside = [
            box
            for box in labels
            if box.y0 <= y <= box.y1 and min(abs(box.x0 - x), abs(x - box.x1)) <= diameter + 12
        ]
        assert len(beside) == 1, f"node at ({x:.0f}, {y:.0f}): {len(beside)} labels beside it"
    alone = sum(
        1 for n, d in view.nodes(data=True) if d["kind"] == "claim" and not view.in_degree(n)
    )
    said = [" ".join(t.get_text().split()) for t, _ in texts]  # wrapped lines joined
    assert any(f"{alone} claims cite nothing" in text for text in said)


def test_citation_nodes_do_not_overprint(stored: Graph, drawn: list[Figure]) -> None:
    figure, _ = _draw(citation_plot, stored, drawn)
    nodes = _nodes(figure)
    assert nodes
    for (x1, y1, d1), (x2, y2, d2) in combinations(nodes, 2):
        assert ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5 >= (d1 + d2) / 2, (x1, y1, x2, y2)
    texts = _texts(figure)
    for x, y, diameter in nodes:
        dot = Bbox.from_bounds(x - diameter / 2, y - diameter / 2, diameter, diameter)
        assert not any(_overlap(dot, box) for _, box in texts), "a node over a label"


def test_an_empty_graph_draws_three_pictures_saying_so(tmp_path: Path) -> None:
    written = write_plots(Graph(), tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{n}.{s}"
        for n in ("pfs-hazard-ratios", "ic50-by-target", "citation-support")
        for s in ("png", "svg")
    )
    assert "No IC50 in this graph" in (tmp_path / "ic50-by-target.svg").read_text(encoding="utf-8")
