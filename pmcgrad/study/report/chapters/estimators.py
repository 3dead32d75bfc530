"""Chapter 2, the estimators: the registry's table, each estimator's measured variance at one
bit beside its closed form.

It is the first check that the code computes what the formulas say: at k = 1, phi = 0 on the
toy the variance of one estimate is known exactly (:func:`pmcgrad.problems.k1_variance_at_cost`),
so a measured value more than a few standard errors away is a bug, not noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.estimators import estimator_table
from pmcgrad.problems import k1_variance, k1_variance_at_cost
from pmcgrad.study.objectives import Problem
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.chapters.question import CHECK_T
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Section, escape, fmt, fmt_pm, html_table

__all__ = [
    "AGREEMENT_Z",
    "CHAPTER",
    "EstimatorsSummary",
    "measured_check_variances",
    "render_estimators",
    "summarise_estimators",
]

#: A closed form "agrees" with its measurement within this many standard errors.
AGREEMENT_Z = 3.0

_CHECK_COLUMNS = ["estimator", "source", "evaluations", "variance", "variance_se",
                  "closed_form", "seeds"]


@dataclass(frozen=True)
class EstimatorsSummary:
    """The registry with its checks, one row per estimator, and the agreement counts."""

    table: pd.DataFrame  # registry columns + measured, se, closed, z, evaluations, source
    compared: int  # estimators with both a measurement and a closed form
    agree: int  # of those, within AGREEMENT_Z standard errors
    worst: tuple[str, float]  # the estimator farthest from its closed form, in s.e.


def measured_check_variances(chain: pd.DataFrame | None, gradient: pd.DataFrame | None,
                             t: float = CHECK_T) -> pd.DataFrame:
    """Measured variance at k = 1, phi = 0, ``t``, per estimator, beside its closed form.

    Prefers chain.csv (the coupling chain at equal f-evaluations, with its closed forms);
    falls back to gradient.csv's per-draw variance on the toy at ``t``. Columns: estimator,
    source, evaluations, variance, variance_se, closed_form, seeds.
    """
    rows: dict[str, dict] = {}
    if chain is not None:
        sub = chain[(chain["k"] == 1) & np.isclose(chain["t"], t)]
        for name, group in sub.groupby("estimator"):
            form = k1_variance(name, t)
            budgets = sorted(group["evaluations"].unique())
            # The estimator's own cost where the chain has it: the closed form is per estimate.
            budget = form.evaluations if form and form.evaluations in budgets else budgets[0]
            group = group[group["evaluations"] == budget]
            n = len(group)
            closed = group["closed_form"]
            rows[name] = {
                "estimator": name, "source": "chain.csv", "evaluations": int(budget),
                "variance": float(group["variance"].mean()),
                "variance_se": float(np.sqrt(np.nansum(group["variance_se"] ** 2)) / n),
                "closed_form": float(closed.mean()) if closed.notna().any()
                else k1_variance_at_cost(name, t, int(budget)),
                "seeds": n,
            }
    if gradient is not None:
        sub = gradient[(gradient["k"] == 1) & (gradient["logits"] == "zero")
                       & (gradient["problem"] == Problem.toy(t).name)]
        for name, group in sub.groupby("estimator"):
            if name in rows:
                continue
            n = len(group)
            evaluations = int(group["evaluations_per_draw"].iloc[0])
            rows[name] = {
                "estimator": name, "source": "gradient.csv", "evaluations": evaluations,
                "variance": float(group["variance"].mean()),
                "variance_se": float(group["variance"].std(ddof=1) / math.sqrt(n))
                if n > 1 else math.nan,
                "closed_form": k1_variance_at_cost(name, t, evaluations),
                "seeds": n,
            }
    return pd.DataFrame(list(rows.values()), columns=_CHECK_COLUMNS)


def summarise_estimators(chain: pd.DataFrame | None, gradient: pd.DataFrame | None
                         ) -> EstimatorsSummary:
    """The registry table joined with :func:`measured_check_variances`, and how many agree."""
    registry = pd.DataFrame(estimator_table())
    # The registry's "family" column is being renamed "kind" (the word "family" is kept for
    # the variational family); read either until every checkout has the new name.
    if "kind" not in registry.columns:
        registry = registry.rename(columns={"family": "kind"})
    checks = measured_check_variances(chain, gradient).set_index("estimator")
    rows, agree, compared, worst = [], 0, 0, ("", 0.0)
    for row in registry.to_dict("records"):
        check = checks.loc[row["name"]] if row["name"] in checks.index else None
        measured = se = closed = z = math.nan
        evaluations, source = None, None
        if check is not None:
            measured, se, closed = check["variance"], check["variance_se"], check["closed_form"]
            evaluations, source = int(check["evaluations"]), check["source"]
            if np.isfinite(closed):
                diff = abs(measured - closed)
                if np.isfinite(se) and se > 0:
                    z = diff / se
                elif diff <= 1e-12:  # an exactly zero variance measured as zero
                    z = 0.0
                if np.isfinite(z):
                    compared += 1
                    agree += z <= AGREEMENT_Z
                    if z > worst[1]:
                        worst = (row["name"], z)
        rows.append(row | {"measured": measured, "measured_se": se, "closed_form": closed,
                           "z": z, "evaluations": evaluations, "source": source})
    return EstimatorsSummary(pd.DataFrame(rows), compared, agree, worst)


def render_estimators(summary: EstimatorsSummary) -> Section:
    """The estimator table and the sentence on agreement."""
    section = CHAPTER.section()
    measured_header = f"variance measured (k = 1, φ = 0, t = {CHECK_T})"
    rows = []
    for row in summary.table.to_dict("records"):
        min_s = f" (S ≥ {row['min_samples']})" if row["min_samples"] > 1 else ""
        where = (f'<br><span class="note">{row["evaluations"]} f-evals, {row["source"]}</span>'
                 if row["source"] else "")
        rows.append({
            "estimator (op)": f"<code>{escape(row['name'])}</code><br>"
                              f'<span class="note">{escape(row["op"])}</span>',
            "kind": escape(str(row["kind"])),
            "gradient estimate (registry formula) and source":
                f"<code>{escape(row['formula'])}</code><br>"
                f'<span class="note">{escape(str(row["reference"]))}</span>',
            "f-evals per draw": escape(str(row["f_evaluations"])) + min_s,
            "unbiased": "yes" if row["unbiased"] else '<span class="bad">no</span>',
            measured_header: fmt_pm(row["measured"], row["measured_se"]) + where,
            "closed form (docs/math.md)": fmt(row["closed_form"]),
            "|Δ| / s.e.": fmt(row["z"]),
        })
    frame = pd.DataFrame(rows)
    section.add(
        "<p>One row per registered estimator, generated from "
        "<code>pmcgrad.estimator_table()</code>. The last columns check each estimator at one "
        f"bit, φ = 0, f(b) = (b − {CHECK_T})²: the measured variance of one estimate that "
        "spends the listed number of f-evaluations, with its Monte Carlo standard error, "
        "beside the closed form at the same cost (<code>docs/math.md</code>), and their "
        "distance |Δ| in standard errors. The measurement comes from chain.csv where the "
        "coupling chain has the estimator, else from gradient.csv's per-draw variance on "
        f"problem <code>{Problem.toy(CHECK_T).name}</code>.</p>",
        html_table(frame, raw=list(frame.columns), table_id="estimator-table",
                   numeric=[measured_header, "closed form (docs/math.md)", "|Δ| / s.e."]),
    )
    if summary.compared:
        sentence = (f"{summary.agree} of {summary.compared} closed forms agree with the "
                    f"measurement within {AGREEMENT_Z:g} standard errors")
        short = sentence
        name, z = summary.worst
        if name and z > AGREEMENT_Z:
            sentence += (f"; the largest deviation is <code>{name}</code> at {fmt(z)} standard "
                         "errors")
        section.add(f"<p><b>In this run:</b> {sentence}.</p>")
        section.highlights.append(f"Closed forms (k = 1, φ = 0, t = {CHECK_T}): {short}.")
    else:
        section.add(
            f'<p class="note">No measurement at k = 1, φ = 0, t = {CHECK_T} in this run '
            f"(chain.csv or gradient.csv's problem <code>{Problem.toy(CHECK_T).name}</code>), so "
            "the variance columns are empty.</p>"
        )
    return section


def _build(inputs: ReportInputs) -> Section:
    return render_estimators(summarise_estimators(inputs.chain, inputs.gradient))


CHAPTER = Chapter("estimators", "2. The estimators", needs=("chain", "gradient"), build=_build)
