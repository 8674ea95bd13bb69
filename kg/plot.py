"""Stage 6 — pictures: a forest plot of PFS hazard ratios across trials, lerociclib's and
the other inhibitors' IC50 by target, and the citation-support graph.

Each picture is drawn from a library query or a networkx view (so it shows exactly what a
user can query) and written as PNG and SVG.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from rdflib import Graph

from kg.analysis import citation_support_graph
from kg.queries import find_query, format_result, run_query


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(format_result(run_query(graph, find_query(name)), "csv")))
    )


def forest_plot(graph: Graph) -> Figure:
    """PFS hazard ratios with their confidence intervals, one row per whole-population figure."""
    rows = [r for r in _rows(graph, "compare-pfs-hr") if not r["population"] and r["ciLower"]]
    rows.sort(key=lambda r: (r["trial"], r["figure"]))
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.6))
    for y, row in enumerate(reversed(rows)):
        hr, low, high = float(row["value"]), float(row["ciLower"]), float(row["ciUpper"])
        colour = "tab:red" if row["crossTrial"] == "false" else "tab:blue"
        axes.plot([low, high], [y, y], color=colour, linewidth=2)
        axes.plot([hr], [y], marker="s", color=colour, markersize=7)
        axes.text(high * 1.03, y, f"{hr:g} ({low:g}–{high:g})", va="center", fontsize=8)
    labels = [
        f"{r['trial']} · {r['drug']} · {r['assessor'] or r['analysis'] or 'assessor not stated'}"
        f" [{r['tier']}]"
        for r in reversed(rows)
    ]
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    axes.set_xscale("log")
    axes.set_xlim(0.15, 1.6)
    ticks = [0.2, 0.3, 0.5, 0.7, 1.0]
    axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes.minorticks_off()
    axes.set_xlabel("PFS hazard ratio (95% CI as printed; log scale)")
    axes.set_title("PFS hazard ratio, CDK4/6 inhibitor vs placebo (red: LEONARDA-1)", fontsize=10)
    figure.text(0.01, 0.01, "Cross-trial comparison: populations, lines of therapy, assessors and "
                "data cut-offs differ (kg compare pfs-hr).", fontsize=7)  # fmt: skip
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


def ic50_plot(graph: Graph) -> Figure:
    """IC50 by inhibitor and target, as the article and the external sources give them."""
    rows = _rows(graph, "compare-ic50")
    targets = sorted({r["target"] for r in rows})
    drugs = sorted({r["drug"] for r in rows}, key=lambda d: (d != "lerociclib", d))
    figure, axes = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(drugs)
    for i, drug in enumerate(drugs):
        for j, target in enumerate(targets):
            match = [r for r in rows if r["drug"] == drug and r["target"] == target]
            if match:
                value = float(match[0]["ic50"])
                bar = axes.bar(
                    j + i * width,
                    value,
                    width,
                    color=f"C{i}",
                    label=drug if j == 0 or not axes.containers else None,
                )
                axes.bar_label(bar, labels=[f"{value:g}"], fontsize=7)
    handles = [Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(drugs))]
    axes.legend(handles, drugs, fontsize=8)
    axes.set_xticks([j + 0.4 - width / 2 for j in range(len(targets))], targets, fontsize=8)
    axes.set_yscale("log")
    axes.set_ylabel("IC50 (nM, log scale)")
    axes.set_title(
        "IC50 by target: lerociclib (article) and other CDK4/6 inhibitors (external)", fontsize=10
    )
    figure.tight_layout()
    return figure


def citation_plot(graph: Graph) -> Figure:
    """References (labelled) and the claims they support; claims citing nothing in grey."""
    view = citation_support_graph(graph)
    figure, axes = plt.subplots(figsize=(9, 9))
    layout = nx.spring_layout(view, seed=7, k=1.2 / math.sqrt(max(view.number_of_nodes(), 1)))
    references = [n for n, d in view.nodes(data=True) if d["kind"] == "reference"]
    supported = [n for n, d in view.nodes(data=True) if d["kind"] == "claim" and view.in_degree(n)]
    alone = [n for n, d in view.nodes(data=True) if d["kind"] == "claim" and not view.in_degree(n)]
    nx.draw_networkx_edges(view, layout, ax=axes, alpha=0.3, arrows=False)
    nx.draw_networkx_nodes(
        view, layout, nodelist=alone, node_size=12, node_color="lightgrey", ax=axes
    )
    nx.draw_networkx_nodes(
        view, layout, nodelist=supported, node_size=18, node_color="tab:blue", ax=axes
    )
    sizes = [120 + 40 * view.out_degree(n) for n in references]
    nx.draw_networkx_nodes(
        view, layout, nodelist=references, node_size=sizes, node_color="tab:orange", ax=axes
    )
    labels = {n: view.nodes[n]["label"].split("]")[0] + "]" for n in references}
    nx.draw_networkx_labels(view, layout, labels=labels, font_size=8, ax=axes)
    axes.set_title(
        f"Citation support: {len(references)} references (orange, sized by claims supported), "
        f"{len(supported)} claims citing them (blue), {len(alone)} citing nothing (grey)",
        fontsize=9,
    )
    axes.axis("off")
    figure.tight_layout()
    return figure


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
