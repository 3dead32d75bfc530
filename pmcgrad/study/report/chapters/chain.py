"""Chapter 5, the coupling chain: each step from the note's exponential pair to DisARM,
measured at equal f-evaluations.

It shows what each idea buys: conditioning on w (exp_score -> ar), the swap with averaging
(ar -> arm), conditioning on the pair of bits (arm -> disarm), and how little the swap alone
gains (antithetic_exp). At k = 1 the measured variances sit beside their closed forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, fmt_pm, html_table, png_bytes
from pmcgrad.study.report.style import estimator_style, legend_below, log_errorbars, new_figure
from pmcgrad.study.report.wording import caption, ratio

__all__ = ["CHAIN_STEPS", "CHAPTER", "ChainSummary", "render_chain", "summarise_chain"]

#: The chain, in order; antithetic_exp (the swap alone) sits beside it.
CHAIN_STEPS = ("exp_score", "ar", "arm", "disarm")
#: The steps whose variance ratios the caption states: (from, to, what the step does).
_STEP_NAMES = (("exp_score", "ar", "conditioning on w (exp_score → ar)"),
               ("ar", "arm", "the swap and average (ar → arm)"),
               ("arm", "disarm", "conditioning on the bits (arm → disarm)"),
               ("exp_score", "antithetic_exp", "the swap alone (exp_score → antithetic_exp)"))
_TABLE_ORDER = ("exp_score", "antithetic_exp", "ar", "arm", "disarm", "reinforce",
                "reinforce_loo")


@dataclass(frozen=True)
class ChainSummary:
    """Means over seeds per estimator and k, and the factor each step divides the variance by."""

    agg: pd.DataFrame  # estimator, k, variance, variance_se, closed_form, evaluations, seeds
    t_values: list[float]
    steps: pd.DataFrame  # k, label, factor (inf where the step reaches exactly 0)


def summarise_chain(chain: pd.DataFrame) -> ChainSummary:
    """Aggregate chain.csv over seeds, and each step's variance ratio at every k."""
    rows = []
    for (name, k), group in chain.groupby(["estimator", "k"]):
        n = len(group)
        rows.append({
            "estimator": name, "k": int(k),
            "variance": float(group["variance"].mean()),
            # independent seeds: the se of the mean is the root sum of squares over n
            "variance_se": float(np.sqrt(np.nansum(group["variance_se"] ** 2)) / n),
            "closed_form": float(group["closed_form"].mean())
            if group["closed_form"].notna().any() else math.nan,
            "evaluations": int(group["evaluations"].iloc[0]),
            "seeds": n,
        })
    agg = pd.DataFrame(rows)
    steps = []
    for k in sorted(agg["k"].unique()):
        at = agg[agg["k"] == k].set_index("estimator")["variance"]
        for a, b, label in _STEP_NAMES:
            if a in at.index and b in at.index:
                factor = math.inf if at[b] == 0 and at[a] > 0 else ratio(at[a], at[b])
                steps.append({"k": int(k), "label": label, "factor": factor})
    return ChainSummary(agg, sorted(chain["t"].unique()), pd.DataFrame(steps))


def render_chain(summary: ChainSummary) -> Section:
    """The chain figure, its table and the key result."""
    section = CHAPTER.section()
    agg = summary.agg
    ks = sorted(agg["k"].unique())

    def factors(k: int) -> str:
        at = summary.steps[summary.steps["k"] == k] if len(summary.steps) else summary.steps
        return "; ".join(
            f"{step['label']} brings the variance to exactly 0" if math.isinf(step["factor"])
            else f"{step['label']} divides the variance by {fmt(step['factor'])}"
            for step in at.to_dict("records"))

    run = f"at k = {ks[0]}, {factors(ks[0])}"
    if len(ks) > 1:
        run += f". At k = {ks[-1]}: {factors(ks[-1])}"
    at_first = agg[agg["k"] == ks[0]].set_index("estimator")
    if {"arm", "antithetic_exp"} <= set(at_first.index):
        run += (f". At k = {ks[0]} antithetic_exp's variance is "
                f"{fmt(at_first.loc['antithetic_exp', 'variance'])} against "
                f"{fmt(at_first.loc['arm', 'variance'])} for ARM")
    section.add(
        "<p>The chain of section 1, measured: each estimator's variance at the same number of "
        f"f-evaluations per gradient estimate (target t = "
        f"{', '.join(f'{t:g}' for t in summary.t_values)}, φ = 0), one line per k. Each step "
        "keeps the estimator unbiased and spends no more evaluations than the last.</p>"
    )
    section.add_figure(Figure(
        key="chain", png=_chain_figure(agg), alt="Variance along the coupling chain",
        caption=caption(
            "each step to the right should lower the variance; the dotted branch is the "
            "antithetic swap without conditioning, which gains little; black bars are the "
            "closed forms at k = 1 (docs/math.md).",
            run + ".",
        ),
    ))
    table = agg.pivot_table(index="estimator", columns="k", values="variance", sort=False)
    se = agg.pivot_table(index="estimator", columns="k", values="variance_se", sort=False)
    names = [n for n in _TABLE_ORDER if n in table.index] + [
        n for n in table.index if n not in _TABLE_ORDER]
    out = pd.DataFrame({"estimator": [f"<code>{n}</code>" for n in names]})
    for k in table.columns:
        out[f"k = {k}"] = [fmt_pm(table.loc[n, k], se.loc[n, k]) for n in names]
    if 1 in set(agg["k"]):
        closed = agg[agg["k"] == 1].set_index("estimator")["closed_form"]
        out["closed form, k = 1"] = [fmt(closed.get(n, math.nan)) for n in names]
    evaluations = agg.groupby("estimator")["evaluations"].first()
    out["f-evals"] = [str(evaluations.get(n, "—")) for n in names]
    section.add(html_table(out, raw=list(out.columns), table_id="chain-table",
                           numeric=[c for c in out.columns if c != "estimator"],
                           caption="Variance of one gradient estimate at equal f-evaluations "
                                   "(mean ± s.e. over seeds)"))
    steps = [n for n in CHAIN_STEPS if n in at_first.index]
    if steps:
        walk = " → ".join(f"<code>{n}</code> {fmt(at_first.loc[n, 'variance'])}" for n in steps)
        short = f"Coupling chain (variance at k = {ks[0]}, equal f-evaluations): {walk}"
        if "antithetic_exp" in at_first.index:
            short += (f"; the swap alone (<code>antithetic_exp</code>) "
                      f"{fmt(at_first.loc['antithetic_exp', 'variance'])}")
        section.highlights.append(short + ".")
    return section


def _chain_figure(agg: pd.DataFrame) -> bytes:
    """Variance at equal f-evaluations along the chain, one line per k; antithetic_exp joined
    to exp_score by a dotted line; reinforce and reinforce_loo as reference lines."""
    ks = sorted(agg["k"].unique())
    positions = {"exp_score": 0.0, "antithetic_exp": 0.5, "ar": 1.0, "arm": 2.0, "disarm": 3.0}
    fig, axes = new_figure(1, 1, height_per_row=4.6)
    ax = axes[0, 0]
    cmap = plt.get_cmap("viridis")
    positive = agg["variance"][agg["variance"] > 0]
    # Exactly zero variances (DisARM at k = 1) are drawn at a floor below every other point.
    floor = float(positive.min()) / 20 if len(positive) else 1e-12
    handles, labels = [], []
    for index, k in enumerate(ks):
        colour = cmap(index / max(1, len(ks) - 1) * 0.85)
        sub = agg[agg["k"] == k].set_index("estimator")
        chain = [s for s in CHAIN_STEPS if s in sub.index]
        offset = (index - (len(ks) - 1) / 2) * 0.05  # side by side, so error bars don't overlap
        x = np.array([positions[s] for s in chain]) + offset
        y = sub.loc[chain, "variance"].to_numpy(dtype=float)
        se = sub.loc[chain, "variance_se"].to_numpy(dtype=float)
        zero = y <= 0
        shown = np.where(zero, floor, y)
        ax.plot(x, shown, color=colour, linewidth=1.4, marker="o", markersize=6)
        ax.errorbar(x[~zero], y[~zero], yerr=log_errorbars(y[~zero], se[~zero]), fmt="none",
                    ecolor=colour, capsize=3)
        if zero.any():
            ax.scatter(x[zero], shown[zero], marker="v", s=60, color=colour, zorder=3)
        if "antithetic_exp" in sub.index and "exp_score" in sub.index:
            xa = positions["antithetic_exp"] + offset
            ya = float(sub.loc["antithetic_exp", "variance"])
            ax.plot([x[0], xa], [shown[0], max(ya, floor)], color=colour, linestyle=":",
                    linewidth=1.2)
            ax.scatter([xa], [max(ya, floor)], marker="D", s=40, facecolors="white",
                       edgecolors=colour, zorder=3)
        if k == 1:
            cf = sub.loc[chain, "closed_form"].to_numpy(dtype=float)
            ok = np.isfinite(cf)
            if ok.any():
                ax.scatter(x[ok], np.where(cf[ok] > 0, cf[ok], floor), marker="_", s=500,
                           color="black", zorder=4, linewidths=1.6)
        evaluations = sorted(set(sub["evaluations"].astype(int)))
        handles.append(Line2D([], [], color=colour, marker="o"))
        labels.append(f"k = {k} ({'/'.join(map(str, evaluations))} f-evals)")
    for name, style in (("reinforce", "--"), ("reinforce_loo", "-.")):
        ref = agg[(agg["estimator"] == name) & (agg["k"] == ks[0])]
        if len(ref) and float(ref["variance"].iloc[0]) > 0:
            colour = estimator_style(name)["color"]
            ax.axhline(float(ref["variance"].iloc[0]), color=colour, linestyle=style,
                       linewidth=1)
            handles.append(Line2D([], [], color=colour, linestyle=style))
            labels.append(f"{name} at k = {ks[0]} (reference)")
    handles.append(Line2D([], [], color="black", marker="_", linestyle="", markersize=16))
    labels.append("closed form, k = 1")
    handles.append(Line2D([], [], color="grey", marker="D", markerfacecolor="white",
                          linestyle=":"))
    labels.append("antithetic_exp: the swap without conditioning")
    if (agg["variance"] <= 0).any():
        handles.append(Line2D([], [], color="grey", marker="v", linestyle=""))
        labels.append("variance exactly 0 (drawn at the floor)")
    ax.set_yscale("log")
    ax.set_xticks([0.0, 0.5, 1.0, 2.0, 3.0],
                  ["exp_score\n(note eq. 1)", "antithetic_exp\n(swap only)",
                   "ar\n(condition on w)", "arm\n(+ swap, average)",
                   "disarm\n(condition on bits)"])
    ax.set_xlim(-0.4, 3.4)
    ax.set_ylabel("variance of one gradient estimate\nat equal f-evaluations (log)")
    ax.set_xlabel("step of the coupling chain")
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, handles, labels, ncols=3)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_chain(summarise_chain(inputs.chain))


CHAPTER = Chapter("chain", "5. The coupling chain", needs=("chain",), build=_build,
                  requires=("chain", "coupling-chain measurements", "results/chain.csv"))
