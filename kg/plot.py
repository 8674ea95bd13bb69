"""Stage 6 — pictures: a forest plot of PFS hazard ratios across trials, the inhibitors'
IC50 by target, and the citation-support graph.

Each picture is drawn from a library query or a networkx view (so it shows exactly what a
user can query) and written as PNG and SVG. Three rules hold for every picture and are
checked on the drawn figure (``tests/test_plot.py``): no two labels overlap, every value
label sits at its own bar or row, and every number is printed as its source prints it. The
store keeps numbers as values (``"0.50"`` comes back as ``0.5``), so the printed form is read
back from the text the number was taken from: an external figure's cell as printed, or a
claim's quote.
"""

from __future__ import annotations

import csv
import io
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS
from rdflib.term import Node

from kg.analysis import citation_support_graph
from kg.namespaces import CITO, CKG, OA
from kg.queries import find_query, format_result, run_query

ARTICLE_COLOUR, EXTERNAL_COLOUR = "tab:red", "tab:blue"
_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?|\.\d+)(?!\d)")
"""A number as a text prints it: not part of a name (``CDK4``, ``IC50``) or of a longer number."""


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(format_result(run_query(graph, find_query(name)), "csv")))
    )


def printed_form(value: str, texts: Iterable[str]) -> str:
    """``value`` as ``texts`` print it (``0.50`` for the store's ``0.5``), when they print it in
    one way only; else ``value`` unchanged (the texts do not settle which form is meant)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    forms = {token for text in texts for token in _NUMBER.findall(text) if Decimal(token) == number}
    return forms.pop() if len(forms) == 1 else value


def source_texts(graph: Graph, nodes: Iterable[Node]) -> list[str]:
    """The texts the numbers of ``nodes`` were read from: an external figure's cell as printed,
    a claim's exact quote."""
    texts = []
    for node in nodes:
        texts += [str(t) for t in graph.objects(node, CKG.asPrinted)]
        for quote in graph.objects(node, CKG.hasQuote):
            for selector in graph.objects(quote, OA.hasSelector):
                texts += [str(t) for t in graph.objects(selector, OA.exact)]
    return texts


def _figure_texts(graph: Graph, figure_id: str) -> list[str]:
    return source_texts(graph, graph.subjects(CKG.figureId, Literal(figure_id)))


def _nothing_to_draw(message: str) -> Figure:
    figure, axes = plt.subplots(figsize=(6, 1.5))
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=9)
    axes.axis("off")
    return figure


def _log_ticks(low: float, high: float) -> list[float]:
    """Round ticks between ``low`` and ``high``; fewer (1, 2, 5 × 10ⁿ) where many would crowd."""
    for mantissas in ((1, 1.5, 2, 3, 5, 7), (1, 2, 5), (1,)):
        ticks = [m * 10.0**e for e in range(-4, 6) for m in mantissas if low <= m * 10.0**e <= high]
        if len(ticks) <= 9:
            return ticks
    return ticks


def forest_plot(graph: Graph) -> Figure:
    """PFS hazard ratios with their confidence intervals, one row per whole-population figure;
    the printed figures in a column right of the plot, clear of the HR = 1 line."""
    rows = [r for r in _rows(graph, "compare-pfs-hr") if not r["population"] and r["ciLower"]]
    if not rows:
        return _nothing_to_draw("No whole-population PFS hazard ratio with a CI in this graph.")
    rows.sort(key=lambda r: (r["trial"], r["figure"]))
    figure, axes = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.9))
    lows, highs = [], []
    for y, row in enumerate(reversed(rows)):
        texts = _figure_texts(graph, row["figure"])
        hr, low, high = (printed_form(row[k], texts) for k in ("value", "ciLower", "ciUpper"))
        colour = ARTICLE_COLOUR if row["crossTrial"] == "false" else EXTERNAL_COLOUR
        axes.plot([float(low), float(high)], [y, y], color=colour, linewidth=2)
        axes.plot([float(hr)], [y], marker="s", color=colour, markersize=7)
        label = axes.annotate(
            f"{hr} ({low}–{high})",
            xy=(1, y),
            xycoords=axes.get_yaxis_transform(),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
        label.set_gid("hr-label")
        lows.append(min(float(low), float(hr)))
        highs.append(max(float(high), float(hr)))
    axes.annotate(
        "HR (95% CI)",
        xy=(1, 1),
        xycoords="axes fraction",
        xytext=(8, 4),
        textcoords="offset points",
        va="bottom",
        fontsize=8,
        weight="bold",
    )
    labels = [
        f"{r['trial']} · {r['drug'] or 'drug not stated'} · "
        f"{r['assessor'] or r['analysis'] or 'assessor not stated'} [{r['tier']}]"
        for r in reversed(rows)
    ]
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.axvline(1.0, color="grey", linestyle="--", linewidth=1, gid="no-effect")
    axes.set_xscale("log")
    left, right = min(lows) / 1.25, max(max(highs), 1.0) * 1.25
    axes.set_xlim(left, right)
    ticks = _log_ticks(left, right)
    axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes.minorticks_off()
    axes.set_xlabel("PFS hazard ratio (95% CI as printed; log scale)")
    axes.set_title("PFS hazard ratio by trial, as printed", fontsize=10, loc="left")
    own = ", ".join(sorted({r["trial"] for r in rows if r["crossTrial"] == "false"}))
    note = (
        f"Red: {own}, not compared across trials (an article's claims are about it). "
        if own
        else ""
    )
    note += "Blue, cross-trial comparison: populations, lines of therapy, assessors and data "
    note += "cut-offs differ (kg compare pfs-hr)."
    figure.text(0.01, 0.01, note, fontsize=7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


@dataclass(frozen=True)
class _Bar:
    drug: str
    target: str
    value: float
    printed: str
    unit: str
    tier: str
    article: str
    """The article of a claim; empty for an external figure."""


_UNITS = {"NanoMOL-PER-L": "nM", "MicroMOL-PER-L": "µM", "PicoMOL-PER-L": "pM"}


def _ic50_bars(graph: Graph) -> list[_Bar]:
    bars = []
    for row in _rows(graph, "compare-ic50"):
        # the source is "article claim ID" or "external figure ID"
        kind, _, source_id = row["source"].rpartition(" ")
        key = CKG.claimId if kind == "article claim" else CKG.figureId
        nodes = list(graph.subjects(key, Literal(source_id)))
        printed = printed_form(row["ic50"], source_texts(graph, nodes))
        unit = _UNITS.get(row["unit"], row["unit"])
        bars.append(
            _Bar(
                row["drug"],
                row["target"],
                float(row["ic50"]),
                printed,
                unit,
                row["tier"],
                row.get("article") or "",
            )
        )
    return bars


def target_groups(graph: Graph, targets: Iterable[str]) -> list[list[str]]:
    """Targets drawn together: a complex whose parts (``ckg:hasPart``) all belong to another
    target joins that target's group (CDK6/cyclin D3 and CDK6-cyclin D1-2-3). Each keeps its
    name as printed; grouping only puts them side by side."""
    names = sorted(set(targets))
    parts = {
        name: {
            p
            for e in graph.subjects(RDFS.label, Literal(name))
            for p in graph.objects(e, CKG.hasPart)
        }
        for name in names
    }
    leader = {name: name for name in names}

    def find(name: str) -> str:
        while leader[name] != name:
            name = leader[name]
        return name

    for a, b in combinations(names, 2):
        if parts[a] and parts[b] and (parts[a] <= parts[b] or parts[b] <= parts[a]):
            leader[find(b)] = find(a)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(find(name), []).append(name)
    return sorted(groups.values())


def ic50_plot(graph: Graph) -> Figure:
    """IC50 by inhibitor and target, one horizontal bar per figure, the article's claims in red;
    targets that are parts of one another drawn as one group; each value printed at its bar."""
    bars = _ic50_bars(graph)
    if not bars:
        return _nothing_to_draw("No IC50 in this graph.")
    groups = target_groups(graph, (b.target for b in bars))
    ordered: list[list[_Bar]] = [
        sorted(
            (b for b in bars if b.target in group),
            key=lambda b: (b.tier != "article", b.target, b.drug, b.value),
        )
        for group in groups
    ]
    rows = sum(len(g) for g in ordered) + len(ordered) - 1
    figure, axes = plt.subplots(figsize=(9, 0.3 * rows + 2.0))
    log = all(b.value > 0 for b in bars)
    base = 10.0 ** (math.floor(math.log10(min(b.value for b in bars))) - 1) if log else 0.0
    units = sorted({b.unit for b in bars})
    several = len({b.article for b in bars if b.article}) > 1
    y, ticks, labels = 0.0, [], []
    for index, group in enumerate(ordered):
        top = y
        for bar in group:
            colour = ARTICLE_COLOUR if bar.tier == "article" else EXTERNAL_COLOUR
            (patch,) = axes.barh(y, bar.value - base, left=base, height=0.7, color=colour)
            patch.set_gid("ic50-bar")
            text = bar.printed if len(units) == 1 else f"{bar.printed} {bar.unit}"
            label = axes.annotate(
                text,
                xy=(bar.value, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
            label.set_gid("ic50-label")
            ticks.append(y)
            where = f" ({bar.article})" if several and bar.article else ""
            labels.append(f"{bar.drug} · {bar.target}{where}")
            y += 1
        if index % 2 == 0:
            axes.axhspan(top - 0.5, y - 0.5, color="0.94", zorder=0, gid="group-band")
        y += 1
    axes.set_yticks(ticks, labels, fontsize=8)
    axes.set_ylim(y - 1.5, -0.6)  # first bar on top
    if log:
        axes.set_xscale("log")
        axes.set_xlim(base, max(b.value for b in bars) * 4)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    else:
        axes.set_xlim(0, max(b.value for b in bars) * 1.2)
    unit = units[0] if len(units) == 1 else "units differ: see each value"
    axes.set_xlabel(f"IC50 ({unit}{f'; log scale, bars from {base:g}' if log else ''})")
    tiers = sorted({b.tier for b in bars}, key=lambda t: (t != "article", t))
    handles = [
        Patch(
            color=ARTICLE_COLOUR if t == "article" else EXTERNAL_COLOUR,
            label="article claim" if t == "article" else f"external figure ({t} source)",
        )
        for t in tiers
    ]
    axes.legend(
        handles=list({h.get_label(): h for h in handles}.values()),
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        borderaxespad=0,
    )
    axes.set_title("IC50 by target: article claims and external figures", fontsize=10)
    nested = [g for g in groups if len(g) > 1]
    if nested:
        note = "Grouped, each named as printed: " + "; ".join(" with ".join(g) for g in nested)
        note += " (one complex's parts include the other's)."
        figure.text(0.01, 0.01, "\n".join(textwrap.wrap(note, 150)), fontsize=7)
    figure.tight_layout(rect=(0, 0.05 if nested else 0, 1, 1))
    return figure


_FONTS = (
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
"""Fonts tried in turn for each glyph; the CJK ones only where installed."""


@cache
def _installed_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The families of ``_FONTS`` on this machine, and every character they can draw."""
    families, characters = [], set()
    for font in font_manager.fontManager.ttflist:
        if font.name in _FONTS and font.name not in families:
            families.append(font.name)
            characters |= set(FT2Font(font.fname).get_charmap())
    return tuple(families) or ("DejaVu Sans",), frozenset(characters)


def _drawable(text: str) -> bool:
    return all(ord(c) in _installed_fonts()[1] or c.isspace() for c in text)


def _reference_label(graph: Graph, reference: str, label: str) -> str:
    """``[n] title``, or ``[n] doi:…`` where no installed font has the title's script."""
    if _drawable(label):
        return _short(label, 60)
    head = label.split("]", 1)[0] + "]"
    doi = graph.value(URIRef(reference), CKG.doi)
    return f"{head} doi:{doi} (title: no font)" if doi else f"{head} (title: no font here)"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _barycentre_order(claims: Iterable[str], cited: dict[str, list[int]]) -> list[str]:
    return sorted(claims, key=lambda c: (sum(cited[c]) / len(cited[c]), c))


def citation_plot(graph: Graph) -> Figure:
    """References (left, by number) and the claims citing them (right, by claim id), one block
    per article; claims citing nothing are counted, not drawn."""
    view = citation_support_graph(graph)
    article_of = {str(ref): art for art, ref in graph.subject_objects(CITO.cites)}
    blocks: dict[str, tuple[list[str], set[str]]] = {}
    for node, data in view.nodes(data=True):
        if data["kind"] == "reference":
            blocks.setdefault(str(article_of.get(node, "")), ([], set()))[0].append(node)
    for source, target in view.edges():
        blocks[str(article_of.get(source, ""))][1].add(target)
    number = {n: int(str(v)) for n in view if (v := graph.value(_iri(n), CKG.referenceNumber))}
    alone = sum(
        1 for n, d in view.nodes(data=True) if d["kind"] == "claim" and not view.in_degree(n)
    )
    if not blocks:
        return _nothing_to_draw(f"No references in this graph ({alone} claims cite nothing).")
    headed = len(blocks) > 1
    height = sum(max(len(r), len(c)) + (1.5 if headed else 0) for r, c in blocks.values())
    figure, axes = plt.subplots(figsize=(11, 0.19 * height + 1.4))
    y, segments, reference_points, claim_points = 0.0, [], [], []
    for article in sorted(blocks):
        references, claims = blocks[article]
        references.sort(key=lambda r: (number.get(r, 0), r))
        if headed:
            title = graph.value(_iri(article), DCTERMS.title) if article else None
            heading = axes.text(
                0.5,
                y,
                _short(str(title or article or "no article"), 90),
                ha="center",
                va="center",
                fontsize=8,
                weight="bold",
            )
            heading.set_gid("article-heading")
            y += 1.5
        rank = {r: i for i, r in enumerate(references)}
        cited = {c: [rank[r] for r in view.predecessors(c) if r in rank] for c in claims}
        ordered = _barycentre_order(claims, cited)
        size = max(len(references), len(ordered))
        ref_y = _spread(len(references), y, size)
        claim_y = _spread(len(ordered), y, size)
        place = dict(zip(ordered, claim_y, strict=True))
        for reference, ry in zip(references, ref_y, strict=True):
            supported = view.out_degree(reference)
            label = _reference_label(graph, reference, view.nodes[reference]["label"])
            text = axes.text(
                -0.02,
                ry,
                f"{label}  ({supported})",
                ha="right",
                va="center",
                fontsize=7,
                family=_installed_fonts()[0],
            )
            text.set_gid("reference-label")
            reference_points.append((0.0, ry, supported))
            segments += [[(0.0, ry), (1.0, place[c])] for c in view.successors(reference)]
        for claim, cy in place.items():
            text = axes.text(
                1.02, cy, view.nodes[claim]["label"], ha="left", va="center", fontsize=7
            )
            text.set_gid("claim-label")
            claim_points.append((1.0, cy))
        y += size
    axes.add_collection(LineCollection(segments, colors="0.4", alpha=0.35, linewidths=0.8))
    _points(axes, [(x, py) for x, py, s in reference_points if s], "tab:orange", "reference")
    _points(axes, [(x, py) for x, py, s in reference_points if not s], "white", "reference")
    _points(axes, claim_points, "tab:blue", "claim")
    axes.set_xlim(0, 1)
    axes.set_ylim(y - 0.5, -1.5 if headed else -0.5)
    axes.axis("off")
    supported_claims = sum(len(c) for _, c in blocks.values())
    summary = (
        f"Citation support: {sum(len(r) for r, _ in blocks.values())} references (left; in "
        f"parentheses, the claims each supports), {supported_claims} claims citing them (right). "
        f"{alone} claims cite nothing in their own sentence (not drawn; kg graph counts them)."
    )
    axes.set_title("\n".join(textwrap.wrap(summary, 120)), fontsize=8)
    figure.tight_layout()
    return figure


def _iri(node: str) -> Node:
    return URIRef(node)


def _spread(count: int, top: float, size: int) -> list[float]:
    """``count`` rows spread evenly over ``size`` row heights from ``top``."""
    if count == 0:
        return []
    step = size / count
    return [top + step * (i + 0.5) - 0.5 for i in range(count)]


def _points(axes: Axes, points: Sequence[tuple[float, float]], colour: str, kind: str) -> None:
    if points:
        axes.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            s=28,
            c=colour,
            edgecolors="0.3",
            linewidths=0.5,
            zorder=3,
            gid=f"{kind}-nodes",
            clip_on=False,
        )


def write_plots(graph: Graph, out_dir: Path) -> list[Path]:
    """Draw the three pictures into ``out_dir`` as PNG and SVG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("pfs-hazard-ratios", forest_plot),
        ("ic50-by-target", ic50_plot),
        ("citation-support", citation_plot),
    ):
        figure = draw(graph)
        for suffix in ("png", "svg"):
            path = out_dir / f"{name}.{suffix}"
            temporary = out_dir / f".{name}.tmp.{suffix}"
            figure.savefig(temporary, dpi=150)
            temporary.replace(path)  # atomic, as every output
            written.append(path)
        plt.close(figure)
    return written
