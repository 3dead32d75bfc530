"""Chapter 3, the bias check: every configuration's standardised bias, per estimator.

It shows whether each estimator flagged unbiased really is, and that the one that is not
(``uniform_naive``) is caught. The rule is the gradient study's own, read from the table
(``bias_within_error``) and stated from :func:`pmcgrad.study.gradient.bias_threshold`: a
row passes when every coordinate lies within z_k standard errors of the exact gradient, where
z_k is 4 at k = 1 and grows with the k coordinates tested at once (4.9 at k = 64), so that an
unbiased row is flagged with the same small probability at every k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from pmcgrad.study.gradient import BIAS_FALSE_FLAG_RATE, BIAS_Z, bias_threshold
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import estimator_style, legend_below, new_figure
from pmcgrad.study.report.wording import caption, registry_order

__all__ = ["CHAPTER", "BiasSummary", "render_bias", "summarise_bias", "threshold_text"]


@dataclass(frozen=True)
class BiasSummary:
    """Per configuration and per estimator, with the thresholds of the run's k range."""

    points: pd.DataFrame  # estimator, k, z (max |mean - exact| / se), within (the rule's verdict)
    table: pd.DataFrame  # one row per estimator (the chapter's table)
    order: list[str]  # estimators in registry order
    k_range: tuple[int, int]
    thresholds: tuple[float, float]  # z_k at the smallest and the largest k


def threshold_text(k_range: tuple[int, int], thresholds: tuple[float, float]) -> str:
    """The rule in words: 'z_k standard errors (4 at k = 1, 4.89 at k = 64)'."""
    (k_low, k_high), (low, high) = k_range, thresholds
    values = (f"{fmt(low)} at k = {k_low}" if k_low == k_high
              else f"{fmt(low)} at k = {k_low}, {fmt(high)} at k = {k_high}")
    return f"z<sub>k</sub> standard errors ({values})"


def summarise_bias(gradient: pd.DataFrame) -> BiasSummary:
    """Points for the figure and one table row per estimator; ``within`` is the table's own
    ``bias_within_error``, the verdict of the rule the study applied."""
    order = registry_order(gradient["estimator"])
    points = pd.DataFrame({"estimator": gradient["estimator"], "k": gradient["k"],
                           "z": gradient["max_bias_z"].astype(float),
                           "within": gradient["bias_within_error"].astype(bool)})
    rows = []
    for name in order:
        group = gradient[gradient["estimator"] == name]
        within = group["bias_within_error"].astype(bool)
        relative = group["bias"] / group["exact_gradient_norm"].replace(0, np.nan)
        rows.append({
            "estimator": name,
            "unbiased (registry)": bool(group["unbiased"].iloc[0]),
            "configurations": len(group),
            "within threshold": int(within.sum()),
            "outside": int((~within).sum()),
            "max |z|": float(group["max_bias_z"].max())
            if group["max_bias_z"].notna().any() else math.nan,
            "median bias / ‖exact gradient‖": float(relative.median()),
        })
    k_range = (int(gradient["k"].min()), int(gradient["k"].max()))
    return BiasSummary(points, pd.DataFrame(rows), order, k_range,
                       (bias_threshold(k_range[0]), bias_threshold(k_range[1])))


def render_bias(summary: BiasSummary) -> Section:
    """The figure, its caption, the table and the key result."""
    section = CHAPTER.section()
    table = summary.table
    flagged = table[table["unbiased (registry)"]]
    clean = flagged[flagged["outside"] == 0]
    failing = flagged[flagged["outside"] > 0]
    biased = table[~table["unbiased (registry)"]]
    rule = threshold_text(summary.k_range, summary.thresholds)
    n_configs = int(flagged["configurations"].sum())
    run = (f"{len(clean)} of {len(flagged)} estimators flagged unbiased stay within {rule} in "
           f"every configuration; over all {n_configs} of their configurations "
           f"{int(flagged['outside'].sum())} fall outside")
    if len(failing):
        worst = failing.sort_values("max |z|", ascending=False).iloc[0]
        run += (f" ({', '.join(f'<code>{n}</code>' for n in failing['estimator'])}; the "
                f"largest is <code>{worst['estimator']}</code> at {fmt(worst['max |z|'])} s.e. "
                f"— each configuration is flagged by chance with probability "
                f"{fmt(BIAS_FALSE_FLAG_RATE)}, about {fmt(n_configs * BIAS_FALSE_FLAG_RATE)} "
                "false flags expected over these configurations)")
    run += "."
    for record in biased.to_dict("records"):
        run += (f" <code>{record['estimator']}</code> (biased by construction) is outside in "
                f"{record['outside']} of {record['configurations']} configurations, with max "
                f"|z| = {fmt(record['max |z|'])} and a median bias of "
                f"{fmt(record['median bias / ‖exact gradient‖'])} × ‖exact gradient‖.")
    section.add(
        "<p>For every problem, k, logit setting and seed the gradient study compares the mean "
        "of the per-draw estimates with the exact gradient (closed form) and divides each "
        "coordinate's difference by its standard error. A configuration passes when every "
        f"coordinate is within z<sub>k</sub> standard errors (plus 10<sup>-9</sup>), where "
        f"z<sub>k</sub> is {fmt(BIAS_Z)} at k = 1 and grows with the number of coordinates k "
        "tested at once (Bonferroni), so that an unbiased configuration is flagged by chance "
        f"with the same probability, {fmt(BIAS_FALSE_FLAG_RATE)}, at every k. An unbiased "
        "estimator should pass; <code>uniform_naive</code> should not.</p>"
    )
    section.add_figure(Figure(
        key="bias", png=_bias_figure(summary), alt="Standardised bias of each estimator across "
        "configurations",
        caption=caption(
            "crosses are configurations whose mean estimate differs from the exact gradient by "
            f"more than their threshold on some coordinate; the dashed line is the threshold at "
            f"the smallest k of the run, the dotted one at the largest ({rule}). Estimators "
            "with zero variance (exact; DisARM at k = 1) have no standard error and sit at the "
            "bottom.",
            run,
        ),
    ))
    section.add(html_table(table, table_id="bias-table",
                           caption="Bias per estimator over all configurations"))
    short = (f"Bias: {len(clean)} of {len(flagged)} estimators flagged unbiased stay within "
             f"{rule} in all their configurations")
    for record in biased.to_dict("records"):
        short += (f"; <code>{record['estimator']}</code> is outside in {record['outside']} of "
                  f"{record['configurations']}")
    section.highlights.append(short + ".")
    return section


def _bias_figure(summary: BiasSummary) -> bytes:
    """Standardised bias per configuration, one column of dots per estimator (log scale)."""
    fig, axes = new_figure(1, 1, height_per_row=4.2)
    ax = axes[0, 0]
    rng = np.random.default_rng(0)  # jitter only
    points, order = summary.points, summary.order
    finite = points["z"].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    # A zero or undefined z (no standard error) is drawn at the floor, not dropped.
    floor = max(1e-2, float(np.nanmin(finite)) / 2) if finite.size else 1e-2
    for position, name in enumerate(order):
        rows = points[points["estimator"] == name]
        if rows.empty:
            continue
        z = rows["z"].to_numpy(dtype=float)
        shown = np.where(np.isfinite(z), np.maximum(z, floor), floor)
        jitter = rng.uniform(-0.22, 0.22, size=z.size)
        style = estimator_style(name)
        outside = ~rows["within"].to_numpy(dtype=bool)
        ax.scatter(position + jitter[~outside], shown[~outside], s=14, alpha=0.55,
                   color=style["color"], marker=style["marker"], linewidths=0)
        ax.scatter(position + jitter[outside], shown[outside], s=28, alpha=0.9,
                   color=style["color"], marker="X", edgecolors="black", linewidths=0.4)
    (k_low, k_high), (low, high) = summary.k_range, summary.thresholds
    ax.axhline(low, color="#b3261e", linestyle="--", linewidth=1.2)
    if k_high != k_low:
        ax.axhline(high, color="#b3261e", linestyle=":", linewidth=1.2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(order)), order, rotation=35, ha="right")
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylabel("max over coordinates of |mean − exact| / s.e.\n(standard errors, log scale)")
    ax.set_xlabel("estimator (one dot per problem × k × logits × seed)")
    ax.grid(axis="y", alpha=0.3, which="both")
    handles = [Line2D([], [], color="#b3261e", linestyle="--",
                      label=f"threshold at k = {k_low}: {low:.3g} s.e.")]
    if k_high != k_low:
        handles.append(Line2D([], [], color="#b3261e", linestyle=":",
                              label=f"threshold at k = {k_high}: {high:.3g} s.e."))
    handles += [
        Line2D([], [], color="grey", marker="o", linestyle="", alpha=0.6,
               label="configuration within its threshold"),
        Line2D([], [], color="grey", marker="X", linestyle="", markeredgecolor="black",
               label="configuration outside its threshold"),
    ]
    legend_below(fig, handles, [h.get_label() for h in handles])
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_bias(summarise_bias(inputs.gradient))


CHAPTER = Chapter("bias", "3. Bias check", needs=("gradient",), build=_build,
                  requires=("gradient", "gradient study", "results/gradient.csv"))
