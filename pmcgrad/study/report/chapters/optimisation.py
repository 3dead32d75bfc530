"""Chapter 7, optimisation: the toy objective E[sum (b_i - t)^2] minimised over the logits
with each estimator, against steps and against wall time.

It shows whether lower variance turns into faster optimisation, the question the REBAR /
RELAX / ARM benchmark asks: with t near 1/2 the two values of each bit barely differ, so the
noise, not the signal, decides who finds b = 0 first. The curves are the exact expected loss
minus its minimum k min(t, 1 - t)^2, so zero is the optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    estimator_handle,
    estimator_style,
    legend_below,
    new_figure,
    positive,
)
from pmcgrad.study.report.wording import caption, registry_order

__all__ = ["CHAPTER", "OptimisationSummary", "render_optimisation", "summarise_optimisation"]


@dataclass(frozen=True)
class OptimisationSummary:
    """Excess loss per (t, k, estimator, step): median and range over seeds; final values."""

    agg: pd.DataFrame  # t, k, estimator, step, median, low, high, seconds, seeds
    panels: list[tuple[float, int]]  # (t, k), larger t first
    order: list[str]
    finals: pd.DataFrame  # estimator, panel, excess, seconds, steps (lowest excess first)


def summarise_optimisation(optimisation: pd.DataFrame) -> OptimisationSummary:
    """Excess loss over seeds, and each estimator's last recorded value per panel."""
    opt = optimisation.copy()
    t = opt["t"]
    opt["excess"] = (opt["loss"] - opt["k"] * np.minimum(t, 1 - t) ** 2).clip(lower=0)
    agg = opt.groupby(["t", "k", "estimator", "step"]).agg(
        median=("excess", "median"), low=("excess", "min"), high=("excess", "max"),
        seconds=("seconds", "median"), seeds=("seed", "nunique"),
    ).reset_index()
    panels = sorted({(float(a), int(b)) for a, b in zip(agg["t"], agg["k"], strict=True)},
                    key=lambda p: (-p[0], p[1]))
    finals = []
    for t_value, k in panels:
        cell = agg[(agg["t"] == t_value) & (agg["k"] == k)]
        last = cell.sort_values("step").groupby("estimator").tail(1).set_index("estimator")
        for name in last["median"].sort_values().index:
            finals.append({"estimator": name, "panel": f"t = {t_value:g}, k = {k}",
                           "excess": float(last.loc[name, "median"]),
                           "seconds": float(last.loc[name, "seconds"]),
                           "steps": int(last.loc[name, "step"])})
    return OptimisationSummary(agg, panels, registry_order(agg["estimator"]),
                               pd.DataFrame(finals))


def render_optimisation(summary: OptimisationSummary) -> Section:
    """The loss curves, the table of final values and the key result."""
    section = CHAPTER.section()
    sentences = []
    for panel in dict.fromkeys(summary.finals["panel"]):
        rows = summary.finals[summary.finals["panel"] == panel]
        best, worst = rows.iloc[0], rows.iloc[-1]
        sentences.append(
            f"at {panel} the lowest final excess loss is <code>{best['estimator']}</code>'s "
            f"({fmt(best['excess'])}) and the highest <code>{worst['estimator']}</code>'s "
            f"({fmt(worst['excess'])}), after {int(rows['steps'].max())} steps"
        )
    section.add(
        "<p>The toy objective E[Σ (b<sub>i</sub> − t)²] optimised over the logits with each "
        "estimator (the REBAR/RELAX/ARM benchmark). The curves show the exact expected loss "
        "at the current logits minus its minimum k·min(t, 1 − t)², so zero is the optimum. "
        f"Lines are medians over {int(summary.agg['seeds'].max())} seed(s), bands the range "
        "over seeds.</p>"
    )
    section.add_figure(Figure(
        key="optimisation", png=_optimisation_figure(summary),
        alt="Excess loss against steps and seconds",
        caption=caption(
            "lower curves optimise faster; the right column charges each estimator its wall "
            "time, including its extra f-evaluations.",
            "; ".join(sentences) + ".",
        ),
    ))
    if len(summary.finals):
        wide = summary.finals.pivot_table(index="estimator", columns="panel",
                                          values=["excess", "seconds"], sort=False)
        wide.columns = [f"{'final excess loss' if a == 'excess' else 'seconds'} ({b})"
                        for a, b in wide.columns]
        wide = wide.reindex(summary.order).reset_index()
        section.add(html_table(wide, table_id="optimisation-table",
                               caption="Median over seeds at the last recorded step"))
    section.highlights.append("Optimisation: " + sentences[0] + ".")
    return section


def _optimisation_figure(summary: OptimisationSummary) -> bytes:
    """Excess loss against steps and against seconds, median and band over seeds."""
    agg, panels = summary.agg, summary.panels
    fig, axes = new_figure(len(panels), 2, height_per_row=3.3)
    present = [name for name in summary.order if name in set(agg["estimator"])]
    for row, (t, k) in enumerate(panels):
        sub = agg[(agg["t"] == t) & (agg["k"] == k)]
        for col, x_name in enumerate(["step", "seconds"]):
            ax = axes[row, col]
            for name in present:
                line = sub[sub["estimator"] == name].sort_values("step")
                if line.empty:
                    continue
                style = estimator_style(name)
                ax.plot(line[x_name], positive(line["median"]), color=style["color"],
                        linestyle=style["linestyle"], linewidth=1.4)
                ax.fill_between(line[x_name], positive(line["low"]), positive(line["high"]),
                                color=style["color"], alpha=0.15, linewidth=0)
            ax.set_yscale("log")
            ax.set_xlabel("optimisation step" if x_name == "step" else "wall time (s)")
            ax.set_ylabel("excess loss E_q[f] − min f\n(log)")
            ax.set_title(f"t = {t:g}, k = {k}", fontsize=10, loc="left")
            ax.grid(alpha=0.3)
    legend_below(fig, [estimator_handle(n, marker="") for n in present], present, ncols=6)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_optimisation(summarise_optimisation(inputs.optimisation))


CHAPTER = Chapter("optimisation", "7. Optimisation", needs=("optimisation",), build=_build,
                  requires=("optimisation", "optimisation runs", "results/optimisation.csv"))
