"""Chapter 4, variance against k: how each estimator's variance grows with the number of bits,
alone and multiplied by the f-evaluations it costs.

The second is the fair comparison: averaging n estimates divides the variance by n and
multiplies the cost by n, so variance x f-evaluations is what an estimator delivers per unit of
work. One figure per logit setting, one row per problem; means and standard errors over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    estimator_handle,
    estimator_lines,
    legend_below,
    new_figure,
)
from pmcgrad.study.report.wording import caption, ratio, registry_order

__all__ = ["CHAPTER", "ZERO_RELATIVE", "VarianceSummary", "mean_over_seeds", "render_variance",
           "summarise_variance"]

#: A variance this far below its panel's largest is round-off (1e-33 where DisARM is exactly
#: 0), and is shown as zero rather than as a point 30 decades down.
ZERO_RELATIVE = 1e-12


@dataclass(frozen=True)
class VarianceSummary:
    """Means over seeds, and per logit setting and problem the most efficient estimator."""

    agg: pd.DataFrame  # problem, logits, estimator, k, seeds, variance(_se), efficiency(_se)
    order: list[str]  # estimators in registry order
    problems: list[str]  # in the table's order
    settings: list[str]  # logit settings, "zero" first
    # One per logit setting and problem with a positive variance to rank: setting, problem,
    # k_min, k_max, best, best_efficiency, and the ratios reinforce_ratio, disarm_loo_low and
    # disarm_loo_high (None where the estimators are not in the run).
    findings: list[dict]
    efficiency: pd.DataFrame  # estimator x "problem (k = k_max)" at the first setting


def mean_over_seeds(frame: pd.DataFrame, keys: list[str], values: dict[str, str]
                    ) -> pd.DataFrame:
    """Mean and standard error over seeds (``{name}_se``) of each value column, per ``keys``;
    ``seeds`` counts the rows behind each mean."""
    grouped = frame.groupby(keys, sort=True)
    out = grouped.size().rename("seeds").reset_index()
    for name, column in values.items():
        stats = grouped[column].agg(["mean", "std", "count"]).reset_index(drop=True)
        out[name] = stats["mean"].to_numpy()
        se = stats["std"] / np.sqrt(stats["count"])
        out[f"{name}_se"] = se.fillna(0.0).to_numpy()
    return out


def summarise_variance(gradient: pd.DataFrame) -> VarianceSummary:
    """Aggregate gradient.csv over seeds (``exact`` left out: zero variance) and find, per
    setting and problem, the most efficient unbiased estimator at the largest k."""
    data = gradient[gradient["estimator"] != "exact"]
    agg = mean_over_seeds(data, ["problem", "logits", "estimator", "k"],
                          {"variance": "variance", "efficiency": "variance_x_evaluations"})
    for column in ("variance", "efficiency"):
        scale = agg.groupby(["problem", "logits"])[column].transform("max")
        agg.loc[agg[column] <= ZERO_RELATIVE * scale, column] = 0.0
    unbiased = set(gradient.loc[gradient["unbiased"], "estimator"])
    problems = list(dict.fromkeys(gradient["problem"]))
    settings = list(dict.fromkeys(gradient["logits"]))
    settings = (["zero"] if "zero" in settings else []) + [s for s in settings if s != "zero"]
    findings, efficiency = [], []
    for setting in settings:
        sub = agg[agg["logits"] == setting]
        for problem in (p for p in problems if p in set(sub["problem"])):
            cell = sub[sub["problem"] == problem]
            k_min, k_max = int(cell["k"].min()), int(cell["k"].max())
            at_max = cell[cell["k"] == k_max].set_index("estimator")["efficiency"]
            at_min = cell[cell["k"] == k_min].set_index("estimator")["efficiency"]
            ranked = at_max[[n for n in at_max.index if n in unbiased]].sort_values()
            ranked = ranked[ranked > 0]
            if ranked.empty:
                continue
            if setting == settings[0]:
                efficiency += [{"estimator": name, "column": f"{problem} (k = {k_max})",
                                "value": value} for name, value in at_max.items()]
            pair = {"disarm", "reinforce_loo"}
            findings.append({
                "setting": setting, "problem": problem, "k_min": k_min, "k_max": k_max,
                "best": ranked.index[0], "best_efficiency": float(ranked.iloc[0]),
                "reinforce_ratio": ratio(at_max["reinforce"], ranked.iloc[0])
                if "reinforce" in at_max.index and ranked.index[0] != "reinforce" else None,
                "disarm_loo_low": ratio(at_min["disarm"], at_min["reinforce_loo"])
                if pair <= set(at_max.index) and pair <= set(at_min.index) else None,
                "disarm_loo_high": ratio(at_max["disarm"], at_max["reinforce_loo"])
                if pair <= set(at_max.index) and pair <= set(at_min.index) else None,
            })
    order = registry_order(agg["estimator"])
    table = pd.DataFrame(efficiency, columns=["estimator", "column", "value"])
    if len(table):
        table = (table.pivot_table(index="estimator", columns="column", values="value",
                                   sort=False)
                 .reindex(order).dropna(how="all").reset_index())
    return VarianceSummary(agg, order, problems, settings, findings, table)


def render_variance(summary: VarianceSummary) -> Section:
    """One figure per logit setting, the efficiency table and the key result."""
    section = CHAPTER.section()
    section.add(
        "<p>Variance of one gradient estimate (mean over coordinates) against the number of "
        "bits, and the same multiplied by the f-evaluations it costs, which compares "
        "estimators at equal cost. Points are means over seeds, error bars one standard error "
        "over seeds; <code>exact</code> has zero variance and is left out. Zero variances "
        "(DisARM at k = 1) cannot be drawn on a log axis.</p>"
    )
    findings = summary.findings
    for index, setting in enumerate(summary.settings):
        sub = summary.agg[summary.agg["logits"] == setting]
        panels = [p for p in summary.problems if p in set(sub["problem"])]
        if not panels:
            continue
        mine = [record for record in findings if record["setting"] == setting]
        sentences = [_finding_sentence(record) for record in mine]
        if index == 0 and mine:
            first = mine[0]
            if first["problem"] == panels[0]:
                section.highlights.append(
                    f"Variance: on <i>{escape(first['problem'])}</i> ({setting} logits) at k = "
                    f"{first['k_max']}, the most efficient unbiased estimator is "
                    f"<code>{first['best']}</code>."
                )
        section.add(f"<h3>Logit setting: {escape(setting)}</h3>")
        section.add_figure(Figure(
            key="variance" if index == 0 else f"variance_{setting}",
            png=_variance_figure(sub, panels, summary.order),
            alt=f"Variance against k, {setting} logits",
            caption=caption(
                "the slope of each line is how fast the estimator's variance grows with the "
                "number of bits; in the right column lower is better at equal cost (logit "
                f"setting <i>{escape(setting)}</i>, one row per problem).",
                "; ".join(sentences) + "." if sentences else "no unbiased estimator has a "
                "positive variance to compare.",
            ),
        ))
    if len(summary.efficiency):
        section.add(html_table(
            summary.efficiency, table_id="efficiency-table",
            caption=f"Variance × f-evaluations at each problem's largest k "
                    f"({summary.settings[0]} logits, mean over seeds; lower is better)"))
    return section


def _finding_sentence(record: dict) -> str:
    text = (f"<i>{escape(record['problem'])}</i>: at k = {record['k_max']} the most efficient "
            f"unbiased estimator is <code>{record['best']}</code> (variance × f-evals "
            f"{fmt(record['best_efficiency'])})")
    if record["reinforce_ratio"] is not None:
        text += f", {fmt(record['reinforce_ratio'])}× better than <code>reinforce</code>"
    if record["disarm_loo_low"] is not None:
        text += (f"; DisARM / reinforce_loo efficiency ratio {fmt(record['disarm_loo_low'])} "
                 f"at k = {record['k_min']} and {fmt(record['disarm_loo_high'])} at k = "
                 f"{record['k_max']}")
    return text


def _variance_figure(agg: pd.DataFrame, panels: list[str], order: list[str]) -> bytes:
    """Variance and variance x f-evaluations against k, log-log, one row per problem."""
    fig, axes = new_figure(len(panels), 2, height_per_row=3.3)
    present = [name for name in order if name in set(agg["estimator"])]
    for row, panel in enumerate(panels):
        sub = agg[agg["problem"] == panel]
        for col, (value, error, label) in enumerate([
            ("variance", "variance_se", "variance of one estimate\n(per coordinate, log)"),
            ("efficiency", "efficiency_se", "variance × f-evaluations\n(per draw, log)"),
        ]):
            ax = axes[row, col]
            estimator_lines(ax, sub, "k", value, error, present)
            ax.set_ylabel(label)
            ax.set_xlabel("k (number of bits, log scale)")
            ax.set_title(f"problem {panel}", fontsize=10, loc="left")
    legend_below(fig, [estimator_handle(n) for n in present], present, ncols=6)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_variance(summarise_variance(inputs.gradient))


CHAPTER = Chapter("variance", "4. Variance against k", needs=("gradient",), build=_build,
                  requires=("gradient", "gradient study", "results/gradient.csv"))
