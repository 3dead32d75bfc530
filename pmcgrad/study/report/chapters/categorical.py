"""Chapter 6, the categorical estimators: bias, and variance x f-evaluations against the number
of categories K and the number of variables k, on a toy objective and on a Gaussian mixture's
ELBO integrand at a fixed q (:mod:`pmcgrad.study.categorical`).

It shows whether each categorical estimator is unbiased in every configuration (the gradient
study's rule, with the k x K coordinates tested at once), and what each delivers per unit of
work as K grows: ARSM's evaluations grow as K(K-1)/2 + 1, the score estimators' do not. At
K = 2 each categorical estimator is a Bernoulli one (``docs/math.md``), so the first points of
the figures repeat the Bernoulli study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from pmcgrad.study.gradient import bias_threshold
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.chapters.variance import ZERO_RELATIVE, mean_over_seeds
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    estimator_handle,
    estimator_lines,
    legend_below,
    new_figure,
)
from pmcgrad.study.report.wording import caption, ratio, registry_order

__all__ = ["CHAPTER", "CategoricalSummary", "render_categorical", "summarise_categorical"]


@dataclass(frozen=True)
class CategoricalSummary:
    """Means over seeds, the bias verdicts per estimator, and what the figures say."""

    agg: pd.DataFrame  # problem, logits, estimator, K, k, seeds, variance(_se), efficiency(_se)
    bias: pd.DataFrame  # one row per estimator: rows, within, max |z|, unbiased flag
    order: list[str]  # estimators in registry order
    problems: list[str]
    setting: str  # the logit setting of the figures ("zero" when there is one)
    K_max: int
    k_max: int
    # per problem at (K_max, k_max): best unbiased estimator and its efficiency, ARSM's
    # efficiency relative to categorical_reinforce_loo at the smallest and the largest K
    findings: list[dict]


def summarise_categorical(categorical: pd.DataFrame) -> CategoricalSummary:
    """Aggregate categorical.csv over seeds (the enumerating estimator left out of the
    variances: zero) and judge bias per estimator from the table's own verdicts."""
    order = registry_order(categorical["estimator"])
    rows = []
    for name in order:
        group = categorical[categorical["estimator"] == name]
        z = group["max_bias_z"].astype(float)
        rows.append({"estimator": name, "unbiased": bool(group["unbiased"].iloc[0]),
                     "rows": len(group), "within": int(group["bias_within_error"].sum()),
                     "max_z": float(z.max()) if z.notna().any() else math.nan})
    bias = pd.DataFrame(rows, columns=["estimator", "unbiased", "rows", "within", "max_z"])
    # An enumerating estimator's row is one deterministic "draw": no variance to show.
    sampled = categorical[categorical["draws"] > 1]
    agg = mean_over_seeds(sampled, ["problem", "logits", "estimator", "K", "k"],
                          {"variance": "variance", "efficiency": "variance_x_evaluations"})
    for column in ("variance", "efficiency"):
        scale = agg.groupby(["problem", "logits"])[column].transform("max")
        agg.loc[agg[column] <= ZERO_RELATIVE * scale, column] = 0.0
    settings = list(dict.fromkeys(categorical["logits"]))
    setting = "zero" if "zero" in settings else settings[0]
    problems = list(dict.fromkeys(categorical["problem"]))
    K_max, k_max = int(categorical["K"].max()), int(categorical["k"].max())
    findings = []
    for problem in problems:
        cell = agg[(agg["problem"] == problem) & (agg["logits"] == setting)]
        at = cell[(cell["K"] == K_max) & (cell["k"] == k_max)].set_index("estimator")
        ranked = at["efficiency"][at["efficiency"] > 0].sort_values()
        if ranked.empty:
            continue
        record = {"problem": problem, "best": ranked.index[0],
                  "best_efficiency": float(ranked.iloc[0])}
        for label, K in (("low", int(cell["K"].min())), ("high", K_max)):
            pair = cell[(cell["K"] == K) & (cell["k"] == k_max)].set_index("estimator")
            record[f"K_{label}"] = K
            record[f"arsm_loo_{label}"] = (
                ratio(pair.loc["arsm", "efficiency"],
                      pair.loc["categorical_reinforce_loo", "efficiency"])
                if {"arsm", "categorical_reinforce_loo"} <= set(pair.index) else None)
        findings.append(record)
    return CategoricalSummary(agg, bias, order, problems, setting, K_max, k_max, findings)


def render_categorical(summary: CategoricalSummary) -> Section:
    """The bias table, the efficiency figure against K and against k, and the key result."""
    section = CHAPTER.section()
    section.add(
        "<p>Every registered categorical estimator (logits <i>(k, K)</i>, integer codes to "
        "<i>f</i>) against the exact gradient, which both objectives have in closed form: "
        "the toy <i>f(z) = Σ<sub>v</sub> ½‖onehot(z<sub>v</sub>) − t‖²</i>, which is the "
        "Bernoulli toy at K = 2, and a K-component Gaussian mixture's ELBO integrand "
        "<i>Σ<sub>v</sub> E<sub>q(μ)</sub>[log w<sub>z<sub>v</sub></sub> + log "
        "N(x<sub>v</sub> | μ<sub>z<sub>v</sub></sub>, σ)]</i> at a fixed <i>q(μ)</i>. "
        "<code>categorical_exact</code> enumerates K<sup>k</sup> configurations and runs only "
        "where that is small; it has zero variance and is left out of the figures.</p>")
    bias = summary.bias
    unbiased = bias[bias["unbiased"]]
    failed = unbiased[unbiased["within"] < unbiased["rows"]]
    k_all = sorted(summary.agg["k"].unique()) or [1]
    K_all = sorted(summary.agg["K"].unique()) or [2]
    coords = (min(k_all) * min(K_all), max(k_all) * max(K_all))
    rule = (f"every coordinate within z standard errors of the exact gradient, z = "
            f"{fmt(bias_threshold(coords[0]))} for {coords[0]} coordinates to "
            f"{fmt(bias_threshold(coords[1]))} for {coords[1]}")
    bias_run = (f"{int(unbiased['within'].sum())} of {int(unbiased['rows'].sum())} rows of the "
                f"{len(unbiased)} unbiased estimators pass ({rule})")
    if len(failed):
        bias_run += "; outside: " + ", ".join(
            f"<code>{n}</code> in {r - w} of {r}" for n, r, w in
            zip(failed["estimator"], failed["rows"], failed["within"], strict=True))
    section.add("<h3>Bias</h3>", html_table(
        bias.assign(estimator=[f"<code>{n}</code>" for n in bias["estimator"]]).rename(
            columns={"unbiased": "registry: unbiased", "rows": "rows",
                     "within": "rows within error", "max_z": "largest |mean − exact| / s.e."}),
        raw=["estimator"], table_id="categorical-bias",
        caption=f"Per estimator, over problems, K, k, logit settings and seeds: {bias_run}."))
    section.highlights.append(f"Categorical estimators: {bias_run}.")
    sentences = [_finding_sentence(record, summary) for record in summary.findings]
    run = "; ".join(sentences) + "." if sentences else "no estimator has a positive variance."
    if summary.findings:
        first = summary.findings[0]
        section.highlights.append(
            f"Categorical efficiency: on <i>{escape(first['problem'])}</i> at K = "
            f"{summary.K_max}, k = {summary.k_max}, the most efficient is "
            f"<code>{first['best']}</code>.")
    section.add("<h3>Variance × f-evaluations against K and k</h3>")
    section.add_figure(Figure(
        key="categorical", png=_efficiency_figure(summary),
        alt="Variance times f-evaluations against K and k",
        caption=caption(
            "lower is better at equal cost; the left column grows the categories at the "
            f"largest k ({summary.k_max}), the right column the variables at the largest K "
            f"({summary.K_max}); {escape(summary.setting)} logits, one row per problem, error "
            "bars one standard error over seeds.", run)))
    table = summary.agg[(summary.agg["logits"] == summary.setting)
                        & (summary.agg["k"] == summary.k_max)]
    if len(table):
        pivot = (table.assign(column=[f"{p} (K = {K})" for p, K in
                                      zip(table["problem"], table["K"], strict=True)])
                 .pivot_table(index="estimator", columns="column", values="efficiency",
                              sort=False)
                 .reindex([n for n in summary.order if n in set(table["estimator"])])
                 .reset_index())
        section.add(html_table(
            pivot, table_id="categorical-efficiency",
            caption=f"Variance × f-evaluations at k = {summary.k_max} "
                    f"({summary.setting} logits, mean over seeds; lower is better)."))
    return section


def _finding_sentence(record: dict, summary: CategoricalSummary) -> str:
    text = (f"<i>{escape(record['problem'])}</i>: at K = {summary.K_max}, k = {summary.k_max} "
            f"the most efficient is <code>{record['best']}</code> (variance × f-evals "
            f"{fmt(record['best_efficiency'])})")
    if record["arsm_loo_low"] is not None and record["arsm_loo_high"] is not None:
        text += (f"; ARSM / categorical_reinforce_loo efficiency ratio "
                 f"{fmt(record['arsm_loo_low'])} at K = {record['K_low']} and "
                 f"{fmt(record['arsm_loo_high'])} at K = {record['K_high']}")
    return text


def _efficiency_figure(summary: CategoricalSummary) -> bytes:
    agg = summary.agg[summary.agg["logits"] == summary.setting]
    problems = [p for p in summary.problems if p in set(agg["problem"])] or ["(none)"]
    fig, axes = new_figure(len(problems), 2, height_per_row=3.3)
    present = [n for n in summary.order if n in set(agg["estimator"])]
    for row, problem in enumerate(problems):
        sub = agg[agg["problem"] == problem]
        for col, (axis, fixed, value) in enumerate([("K", "k", summary.k_max),
                                                    ("k", "K", summary.K_max)]):
            ax = axes[row, col]
            cut = sub[sub[fixed] == value]
            estimator_lines(ax, cut, axis, "efficiency", "efficiency_se", present)
            ax.set_xlabel("K (categories, log scale)" if axis == "K"
                          else "k (variables, log scale)")
            ax.set_ylabel("variance × f-evaluations\n(per draw, log)")
            ax.set_title(f"{problem}, {fixed} = {value}", fontsize=10, loc="left")
    legend_below(fig, [estimator_handle(n) for n in present], present, ncols=6)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_categorical(summarise_categorical(inputs.categorical))


CHAPTER = Chapter("categorical", "6. Categorical estimators", needs=("categorical",),
                  build=_build,
                  requires=("categorical", "categorical study", "results/categorical.csv"))
