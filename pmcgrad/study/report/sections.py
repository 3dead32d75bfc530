"""Sections 1 to 6 of the report, and what every section shares (ids, captions, helpers).

Each builder returns a :class:`~pmcgrad.study.report.page.Section`. Captions and highlights
quote numbers computed here from the data of the run, never typed by hand.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from pmcgrad.estimators import estimator_table
from pmcgrad.study.report import figures
from pmcgrad.study.report.inputs import StudyInputs
from pmcgrad.study.report.mathml import FORMULAS, VARIANCE_FORMULAS
from pmcgrad.study.report.page import Figure, Section, escape, fmt, fmt_pm, html_table

__all__ = [
    "SECTIONS",
    "absent",
    "caption",
    "closed_form_at",
    "closed_form_variance",
    "measured_check_variances",
    "new_section",
    "registry_order",
    "scope_sentence",
    "section_bias",
    "section_chain",
    "section_estimators",
    "section_optimisation",
    "section_question",
    "section_variance",
]

# (id, title): the stable anchors of the page, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("question", "1. What the study asks"),
    ("estimators", "2. The estimators"),
    ("bias", "3. Bias check"),
    ("variance", "4. Variance against k"),
    ("chain", "5. The coupling chain"),
    ("optimisation", "6. Optimisation"),
    ("model", "7. Model study: spike-and-slab regression"),
    ("sbn", "8. Sigmoid belief network on digits"),
    ("performance", "9. Performance"),
    ("reproducibility", "10. Reproducibility"),
)
TITLES = dict(SECTIONS)

ZERO_RELATIVE = 1e-12  # a variance this far below its panel's largest is round-off: zero
BIAS_THRESHOLD = 4.0  # standard errors, as in the gradient study's bias_within_error
CHECK_T = 0.49  # MATH.md's test point: k = 1, phi = 0, f(b) = (b - t)^2


def new_section(section_id: str) -> Section:
    return Section(id=section_id, title=TITLES[section_id])


def caption(look: str, this_run: str) -> str:
    return f'<b class="look">What to look at:</b> {look} <b>In this run:</b> {this_run}'


def absent(what: str, path_hint: str) -> str:
    return (
        f'<p class="note">No {what} in this run (<code>{escape(path_hint)}</code> was not '
        "given or is empty), so this section has nothing to show.</p>"
    )


def registry_order(names) -> list[str]:
    """``names`` in registry order, unknown names (user estimators) last."""
    names = list(dict.fromkeys(names))
    order = [row["name"] for row in estimator_table()]
    return [n for n in order if n in names] + sorted(n for n in names if n not in order)


def _ratio(a: float, b: float) -> str:
    if not (np.isfinite(a) and np.isfinite(b)):
        return "—"
    if b == 0:
        return "∞" if a > 0 else "—"
    return fmt(a / b)


def _values(frame: pd.DataFrame | None, column: str) -> str:
    values = sorted(pd.unique(frame[column]).tolist())
    if len(values) > 4 and all(isinstance(v, int | np.integer) for v in values):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)


def scope_sentence(inputs: StudyInputs) -> str:
    """What this run covers, from its tables: problems, k, seeds, fits."""
    parts = []
    gradient = inputs.gradient
    if gradient is not None:
        parts.append(
            f"gradient study on {gradient['problem'].nunique()} problem(s), "
            f"{gradient['estimator'].nunique()} estimators, k ∈ {{{_values(gradient, 'k')}}}, "
            f"{gradient['seed'].nunique()} seed(s) ({len(gradient)} rows)"
        )
    if inputs.optimisation is not None:
        parts.append(f"{inputs.optimisation['estimator'].nunique()} estimators optimised over "
                     f"{inputs.optimisation['seed'].nunique()} seed(s)")
    model = inputs.model
    if model is not None:
        designs = model[["k", "design_seed"]].drop_duplicates()
        fits = model[model["family"].fillna("") != ""][["k", "design_seed", "method", "family"]]
        parts.append(f"{len(fits.drop_duplicates())} variational fit(s) on "
                     f"{len(designs)} spike-and-slab design(s) (k = {_values(model, 'k')})")
    if not parts:
        return "Scope: this run has no study tables; the sections below say what is missing."
    return "Scope of this run: " + "; ".join(parts) + "."


# --- 1. the question ----------------------------------------------------------------------

def _seed_example(phi: float = 0.7, f1: float = 3.0, f0: float = -1.0) -> dict[str, float]:
    """MATH.md's worked example, computed exactly: seed REINFORCE and the naive uniform form."""
    p = 1 / (1 + math.exp(-phi))
    slope = p * (1 - p)
    return {
        "phi": phi, "f1": f1, "f0": f0,
        "exact": (f1 - f0) * slope,
        "seed_reinforce": (-p * f1 + (1 - p) * f0) * slope,  # E[(-1)^b f(b)] sigma(1 - sigma)
        "uniform_naive": (1 - p) * (p * f1 + (1 - p) * f0),  # E[(1 - p) f(b)]
    }


def section_question(inputs: StudyInputs) -> Section:
    section = new_section("question")
    ex = _seed_example()
    section.add(
        "<p>A model with binary latents needs the gradient of an expectation over Bernoulli "
        "bits with respect to their logits. Enumerating the <i>2<sup>k</sup></i> bit vectors "
        "is exact but exponential, so the study compares Monte Carlo <b>gradient "
        "estimators</b>: how biased they are, how their variance grows with the number of bits "
        "<i>k</i> at equal numbers of <i>f</i>-evaluations, how fast they optimise, and how "
        "well variational fits that use them recover a spike-and-slab posterior.</p>",
        FORMULAS["objective"],
        FORMULAS["exact"],
        "<h3>Three formulas of the seed note, corrected (MATH.md)</h3><ul>"
        f"<li>REINFORCE for a Bernoulli is {FORMULAS['reinforce']} The seed's "
        f"{FORMULAS['seed_reinforce']} is biased: at φ = {ex['phi']:g}, f(1) = {ex['f1']:g}, "
        f"f(0) = {ex['f0']:g} it averages {fmt(ex['seed_reinforce'])} where the exact gradient "
        f"is {fmt(ex['exact'])}.</li>"
        f"<li>The uniform with a moving boundary (Note 1) needs its boundary term, one more "
        f"evaluation: {FORMULAS['uniform']} Dropping it gives {FORMULAS['uniform_naive']}, "
        f"which averages {fmt(ex['uniform_naive'])} against {fmt(ex['exact'])}: the study "
        "keeps it as <code>uniform_naive</code>, the cautionary example.</li>"
        "<li>The seed's “ε ∼ −Exp(λ), λ = −log σ(φ), c = 1” is not a consistent construction; "
        f"any continuous noise thresholded at its quantile works: {FORMULAS['noise_score']}"
        "Logistic noise gives f(b)(1 − 2σ(ε)).</li></ul>",
        "<h3>From the seed's exponential pair to ARM and DisARM</h3>"
        "<p>The seed writes the bit as a threshold on two exponentials and scores the first "
        "(its eq. 1):</p>",
        FORMULAS["exp_pair"],
        "<p>The pair splits into a uniform <i>w</i> that decides the bit and a sum <i>s</i> "
        "that does not:</p>",
        FORMULAS["w"],
        "<p>Conditioning the score on <i>w</i> (Rao-Blackwellisation) gives AR:</p>",
        FORMULAS["rao_blackwell"],
        "<p>The seed's antithetic idea swaps the two exponentials, which maps <i>w</i> to "
        "<i>1 − w</i>; averaging AR over the pair is ARM (Yin and Zhou, 2019):</p>",
        FORMULAS["swap"],
        FORMULAS["arm"],
        "<p>Conditioning once more on the pair of bits gives DisARM (Dong, Mnih and Tucker, "
        "2020; Yin et al., 2020, U2G), which is zero whenever the two bits agree:</p>",
        FORMULAS["disarm"],
        f"<p>The swap alone, without conditioning, is <code>antithetic_exp</code>, "
        f"{FORMULAS['antithetic_exp']}; section 5 measures every step of this chain at equal "
        "numbers of f-evaluations.</p>",
        "<h3>Exact variances used as checks</h3>"
        f"<p>For one bit at φ = 0 with {FORMULAS['toy']}, MATH.md gives the variance of one "
        "estimate in closed form; section 2 sets the measured values beside them.</p>",
        html_table(
            pd.DataFrame(
                {
                    "estimator": [f"<code>{n}</code>" for n in VARIANCE_FORMULAS],
                    "variance of one estimate": list(VARIANCE_FORMULAS.values()),
                    f"at t = {CHECK_T}": [closed_form_variance(n, CHECK_T)[0]
                                          for n in VARIANCE_FORMULAS],
                }
            ),
            raw=["estimator", "variance of one estimate"],
        ),
        "<p>For a PyMC model the same estimators handle only the expectation of the joint "
        "log density over the bits; both entropies are analytic and continuous parameters are "
        "reparameterised:</p>",
        FORMULAS["elbo"],
    )
    return section


# --- 2. the estimator table -----------------------------------------------------------------

# MATH.md's closed forms: (variance of one estimate, its f-evaluations), k = 1, phi = 0.
def closed_form_variance(name: str, t: float) -> tuple[float, int]:
    """Variance of one estimate of ``name`` and the f-evaluations it spends (NaN if none)."""
    gradient_sq = ((1 - 2 * t) / 4) ** 2
    fourth = (1 - t) ** 4 + t**4
    forms = {
        "reinforce": (fourth / 8 - gradient_sq, 1),
        "ar": (fourth / 6 - gradient_sq, 1),
        "noise_score": (fourth / 6 - gradient_sq, 1),
        "reinforce_loo": ((1 - 2 * t) ** 2 / 16, 2),
        "arm": ((1 - 2 * t) ** 2 / 48, 2),
        "disarm": (0.0, 2),
    }
    return forms.get(name, (float("nan"), 0))


def closed_form_at(name: str, t: float, evaluations: int) -> float:
    """The closed form for an estimate that spends ``evaluations`` f-evaluations.

    An estimator whose one estimate costs ``c`` evaluations, averaged over ``E / c`` independent
    estimates, has variance ``v c / E``. ``reinforce_loo`` is known only at S = 2.
    """
    value, cost = closed_form_variance(name, t)
    if not cost or not np.isfinite(value) or evaluations <= 0:
        return float("nan")
    if name == "reinforce_loo":
        return value if evaluations == 2 else float("nan")
    if evaluations % cost:
        return float("nan")
    return value * cost / evaluations


def _toy_t(problem: str) -> float | None:
    match = re.fullmatch(r"toy_t([0-9.]+)", str(problem))
    return float(match.group(1)) if match else None


def measured_check_variances(inputs: StudyInputs, t: float = CHECK_T) -> pd.DataFrame:
    """Measured variance at k = 1, phi = 0, t, per estimator, beside its closed form.

    Prefers chain.csv (the coupling chain at equal f-evaluations, with the study's own closed
    forms); falls back to gradient.csv's per-draw variance on problem ``toy_t{t}``.
    Columns: estimator, source, evaluations, variance, variance_se, closed_form, seeds.
    """
    rows: dict[str, dict] = {}
    chain = inputs.chain
    if chain is not None:
        sub = chain[(chain["k"] == 1) & np.isclose(chain["t"].astype(float), t)]
        for name, group in sub.groupby("estimator"):
            natural = closed_form_variance(name, t)[1]
            budgets = sorted(group["evaluations"].astype(int).unique())
            budget = natural if natural in budgets else budgets[0]
            group = group[group["evaluations"].astype(int) == budget]
            n = len(group)
            se = float(np.sqrt(np.nansum(group["variance_se"].astype(float) ** 2)) / n)
            closed = group["closed_form"].astype(float)
            closed_value = float(closed.mean()) if closed.notna().any() else closed_form_at(
                name, t, budget)
            rows[name] = {
                "estimator": name, "source": "chain.csv", "evaluations": budget,
                "variance": float(group["variance"].mean()), "variance_se": se,
                "closed_form": closed_value, "seeds": n,
            }
    gradient = inputs.gradient
    if gradient is not None:
        toy = gradient["problem"].map(_toy_t)
        sub = gradient[(gradient["k"] == 1) & (gradient["logits"] == "zero")
                       & toy.notna() & np.isclose(toy.fillna(-1.0).astype(float), t)]
        for name, group in sub.groupby("estimator"):
            if name in rows:
                continue
            n = len(group)
            evaluations = int(group["evaluations_per_draw"].iloc[0])
            spread = float(group["variance"].std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            closed = (closed_form_at(name, t, evaluations) if name != "reinforce_loo"
                      else math.nan)  # a LOO draw's own variance has no closed form here
            rows[name] = {
                "estimator": name, "source": "gradient.csv", "evaluations": evaluations,
                "variance": float(group["variance"].mean()), "variance_se": spread,
                "closed_form": closed, "seeds": n,
            }
    return pd.DataFrame(list(rows.values()),
                        columns=["estimator", "source", "evaluations", "variance",
                                 "variance_se", "closed_form", "seeds"])


def section_estimators(inputs: StudyInputs) -> Section:
    section = new_section("estimators")
    registry = pd.DataFrame(estimator_table())
    checks = measured_check_variances(inputs).set_index("estimator")
    table_rows = []
    agree, compared, worst = 0, 0, ("", 0.0)
    for row in registry.itertuples(index=False):
        check = checks.loc[row.name] if row.name in checks.index else None
        measured = closed = z = math.nan
        evaluations, source = "—", "—"
        se = math.nan
        if check is not None:
            measured, se, closed = check["variance"], check["variance_se"], check["closed_form"]
            evaluations, source = str(int(check["evaluations"])), check["source"]
            if np.isfinite(closed):
                diff = abs(measured - closed)
                if np.isfinite(se) and se > 0:
                    z = diff / se
                elif diff <= 1e-12:
                    z = 0.0
                if np.isfinite(z):
                    compared += 1
                    agree += z <= 3
                    if z > worst[1]:
                        worst = (row.name, z)
        min_s = f" (S ≥ {row.min_samples})" if row.min_samples > 1 else ""
        table_rows.append(
            {
                "estimator (op)": f"<code>{escape(row.name)}</code><br>"
                                  f'<span class="note">{escape(row.op)}</span>',
                "family": row.family,
                "gradient estimate (registry formula) and source":
                    f"<code>{escape(row.formula)}</code><br>"
                    f'<span class="note">{escape(str(row.reference))}</span>',
                "f-evals per draw": escape(str(row.f_evaluations)) + min_s,
                "unbiased": "yes" if row.unbiased else '<span class="bad">no</span>',
                f"variance measured (k = 1, φ = 0, t = {CHECK_T})":
                    fmt_pm(measured, se)
                    + (f'<br><span class="note">{evaluations} f-evals, {source}</span>'
                       if source != "—" else ""),
                "closed form (MATH.md)": fmt(closed),
                "|Δ| / s.e.": fmt(z),
            }
        )
    frame = pd.DataFrame(table_rows)
    section.add(
        "<p>One row per registered estimator, generated from "
        "<code>pmcgrad.estimator_table()</code>. The last columns check each estimator against "
        f"MATH.md at one bit, φ = 0, f(b) = (b − {CHECK_T})²: the measured variance of one "
        "estimate that spends the listed number of f-evaluations, with its Monte Carlo "
        "standard error, beside the closed form at the same cost, and their distance |Δ| in "
        "standard errors. The measurement comes from "
        "chain.csv where the coupling chain has the estimator, else from gradient.csv's per-draw "
        "variance on problem <code>toy_t0.49</code>.</p>",
        html_table(frame, raw=list(frame.columns), table_id="estimator-table",
                   numeric=[f"variance measured (k = 1, φ = 0, t = {CHECK_T})",
                            "closed form (MATH.md)", "|Δ| / s.e."]),
    )
    if compared:
        sentence = (
            f"{agree} of {compared} closed forms agree with the measurement within 3 standard "
            "errors"
        )
        short = sentence
        if worst[0] and worst[1] > 3:
            sentence += (f"; the largest deviation is <code>{worst[0]}</code> at "
                         f"{fmt(worst[1])} standard errors")
        section.add(f"<p><b>In this run:</b> {sentence}.</p>")
        section.highlights.append(
            f"Closed forms (k = 1, φ = 0, t = {CHECK_T}): {short}.")
    else:
        section.add(
            '<p class="note">No measurement at k = 1, φ = 0, t = 0.49 in this run '
            "(chain.csv or gradient.csv's problem <code>toy_t0.49</code>), so the variance "
            "columns are empty.</p>"
        )
    return section


# --- 3. bias ---------------------------------------------------------------------------------

def section_bias(inputs: StudyInputs) -> Section:
    section = new_section("bias")
    gradient = inputs.gradient
    if gradient is None:
        section.add(absent("gradient study", "results/gradient.csv"))
        return section
    order = registry_order(gradient["estimator"])
    rows = pd.DataFrame(
        {
            "estimator": gradient["estimator"],
            "z": gradient["max_bias_z"].astype(float),
            "unbiased": gradient["unbiased"].astype(bool),
        }
    )
    png = figures.bias_figure(rows, order, threshold=BIAS_THRESHOLD)

    summary = []
    for name in order:
        group = gradient[gradient["estimator"] == name]
        within = group["bias_within_error"].astype(bool)
        norm = group["exact_gradient_norm"].astype(float).replace(0, np.nan)
        relative = group["bias"].astype(float) / norm
        summary.append(
            {
                "estimator": name,
                "unbiased (registry)": bool(group["unbiased"].iloc[0]),
                "configurations": len(group),
                "within 4 s.e.": int(within.sum()),
                "outside": int((~within).sum()),
                "max |z|": float(group["max_bias_z"].max()) if group["max_bias_z"].notna().any()
                else math.nan,
                "median bias / ‖exact gradient‖": float(relative.median()),
            }
        )
    table = pd.DataFrame(summary)
    flagged = table[table["unbiased (registry)"]]
    clean = flagged[flagged["outside"] == 0]
    failing = flagged[flagged["outside"] > 0]
    n_configs = int(flagged["configurations"].sum())
    n_outside = int(flagged["outside"].sum())
    biased = table[~table["unbiased (registry)"]]
    run = (
        f"{len(clean)} of {len(flagged)} estimators flagged unbiased stay within "
        f"{BIAS_THRESHOLD:g} s.e. in every configuration; over all {n_configs} of their "
        f"configurations {n_outside} fall outside"
    )
    if len(failing):
        worst = failing.sort_values("max |z|", ascending=False).iloc[0]
        run += (
            f" ({', '.join(f'<code>{n}</code>' for n in failing['estimator'])}; the largest is "
            f"<code>{worst['estimator']}</code> at {fmt(worst['max |z|'])} s.e. — with "
            f"{int(gradient['k'].max())} coordinates per configuration and a 4 s.e. rule, "
            "an occasional excursion is expected by chance)"
        )
    run += "."
    for _, record in biased.iterrows():
        run += (
            f" <code>{record['estimator']}</code> (biased by construction) is outside in "
            f"{record['outside']} of {record['configurations']} configurations, with max |z| = "
            f"{fmt(record['max |z|'])} and a median bias of "
            f"{fmt(record['median bias / ‖exact gradient‖'])} × ‖exact gradient‖."
        )
    section.add(
        "<p>For every problem, k, logit setting and seed the gradient study compares the mean "
        "of the per-draw estimates with the exact gradient (enumeration or closed form) and "
        "divides the difference by its standard error. An unbiased estimator should stay "
        f"within {BIAS_THRESHOLD:g} standard errors; <code>uniform_naive</code> should not.</p>"
    )
    section.add_figure(
        Figure(
            key="bias",
            png=png,
            alt="Standardised bias of each estimator across configurations",
            caption=caption(
                "dots above the dashed line are configurations whose mean estimate differs "
                f"from the exact gradient by more than {BIAS_THRESHOLD:g} standard errors. "
                "Estimators with zero variance (exact; DisARM at k = 1) have no standard error "
                "and sit at the bottom.",
                run,
            ),
        )
    )
    section.add(html_table(table, table_id="bias-table",
                           caption="Bias per estimator over all configurations"))
    short = (f"Bias: {len(clean)} of {len(flagged)} estimators flagged unbiased stay within "
             f"{BIAS_THRESHOLD:g} s.e. in all their configurations")
    for _, record in biased.iterrows():
        short += (f"; <code>{record['estimator']}</code> is outside in {record['outside']} of "
                  f"{record['configurations']}")
    section.highlights.append(short + ".")
    return section


# --- 4. variance against k ------------------------------------------------------------------

def _aggregate_over_seeds(frame: pd.DataFrame, keys: list[str],
                          values: dict[str, str]) -> pd.DataFrame:
    """Mean and standard error over seeds of each value column."""
    grouped = frame.groupby(keys, sort=True)
    out = grouped.size().rename("seeds").reset_index()
    for name, column in values.items():
        stats = grouped[column].agg(["mean", "std", "count"]).reset_index(drop=True)
        out[name] = stats["mean"].to_numpy()
        se = stats["std"] / np.sqrt(stats["count"])
        out[f"{name}_se"] = se.fillna(0.0).to_numpy()
    return out


def section_variance(inputs: StudyInputs) -> Section:
    section = new_section("variance")
    gradient = inputs.gradient
    if gradient is None:
        section.add(absent("gradient study", "results/gradient.csv"))
        return section
    data = gradient[gradient["estimator"] != "exact"]
    agg = _aggregate_over_seeds(
        data, ["problem", "logits", "estimator", "k"],
        {"variance": "variance", "efficiency": "variance_x_evaluations"},
    )
    # Round-off (1e-33 where DisARM is exactly 0) is zero, not a point 30 decades down.
    for column in ("variance", "efficiency"):
        scale = agg.groupby(["problem", "logits"])[column].transform("max")
        agg.loc[agg[column] <= ZERO_RELATIVE * scale, column] = 0.0
    order = registry_order(agg["estimator"])
    problems = list(dict.fromkeys(gradient["problem"]))
    settings = list(dict.fromkeys(gradient["logits"]))
    settings = (["zero"] if "zero" in settings else []) + [s for s in settings if s != "zero"]
    section.add(
        "<p>Variance of one gradient estimate (mean over coordinates) against the number of "
        "bits, and the same multiplied by the f-evaluations it costs, which compares "
        "estimators at equal cost. Points are means over seeds, error bars one standard error "
        "over seeds; <code>exact</code> has zero variance and is left out. Zero variances "
        "(DisARM at k = 1) cannot be drawn on a log axis.</p>"
    )
    efficiency_rows = []
    for index, setting in enumerate(settings):
        sub = agg[agg["logits"] == setting]
        present_problems = [p for p in problems if p in set(sub["problem"])]
        if not present_problems:
            continue
        png = figures.variance_figure(sub, panel_key="problem", panels=present_problems,
                                      panel_label="problem", order=order)
        sentences = []
        for problem in present_problems:
            cell = sub[sub["problem"] == problem]
            k_max = int(cell["k"].max())
            k_min = int(cell["k"].min())
            at_max = cell[cell["k"] == k_max].set_index("estimator")
            unbiased = [n for n in at_max.index if _is_unbiased(gradient, n)]
            ranked = at_max.loc[unbiased, "efficiency"].sort_values()
            ranked = ranked[ranked > 0]
            if ranked.empty:
                continue
            best = ranked.index[0]
            text = (
                f"<i>{escape(problem)}</i>: at k = {k_max} the most efficient unbiased "
                f"estimator is <code>{best}</code> (variance × f-evals {fmt(ranked.iloc[0])})"
            )
            if "reinforce" in at_max.index and best != "reinforce":
                text += (f", {_ratio(at_max.loc['reinforce', 'efficiency'], ranked.iloc[0])}× "
                         "better than <code>reinforce</code>")
            if {"disarm", "reinforce_loo"} <= set(at_max.index):
                at_min = cell[cell["k"] == k_min].set_index("estimator")
                if {"disarm", "reinforce_loo"} <= set(at_min.index):
                    low = _ratio(at_min.loc["disarm", "efficiency"],
                                 at_min.loc["reinforce_loo", "efficiency"])
                    high = _ratio(at_max.loc["disarm", "efficiency"],
                                  at_max.loc["reinforce_loo", "efficiency"])
                    text += (f"; DisARM / reinforce_loo efficiency ratio {low} at k = {k_min} "
                             f"and {high} at k = {k_max}")
            sentences.append(text)
            if index == 0:
                for name, value in at_max["efficiency"].items():
                    efficiency_rows.append({"estimator": name,
                                            "column": f"{problem} (k = {k_max})",
                                            "value": value})
                if problem == present_problems[0]:
                    section.highlights.append(
                        f"Variance: on <i>{escape(problem)}</i> ({setting} logits) at k = "
                        f"{k_max}, the most efficient unbiased estimator is <code>{best}</code>."
                    )
        section.add(f"<h3>Logit setting: {escape(setting)}</h3>")
        section.add_figure(
            Figure(
                key="variance" if index == 0 else f"variance_{setting}",
                png=png,
                alt=f"Variance against k, {setting} logits",
                caption=caption(
                    "the slope of each line is how fast the estimator's variance grows with "
                    "the number of bits; in the right column lower is better at equal cost "
                    f"(logit setting <i>{escape(setting)}</i>, one row per problem).",
                    "; ".join(sentences) + "." if sentences else "no unbiased estimator has a "
                    "positive variance to compare.",
                ),
            )
        )
    if efficiency_rows:
        table = (pd.DataFrame(efficiency_rows)
                 .pivot_table(index="estimator", columns="column", values="value", sort=False)
                 .reindex(order).dropna(how="all").reset_index())
        section.add(html_table(
            table, table_id="efficiency-table",
            caption=f"Variance × f-evaluations at each problem's largest k ({settings[0]} "
                    "logits, mean over seeds; lower is better)"))
    return section


def _is_unbiased(gradient: pd.DataFrame, name: str) -> bool:
    flags = gradient.loc[gradient["estimator"] == name, "unbiased"]
    return bool(flags.iloc[0]) if len(flags) else False


# --- 5. the coupling chain ------------------------------------------------------------------

def section_chain(inputs: StudyInputs) -> Section:
    section = new_section("chain")
    chain = inputs.chain
    if chain is None:
        section.add(absent("coupling-chain measurements", "results/chain.csv"))
        return section
    rows = []
    for (name, k), group in chain.groupby(["estimator", "k"]):
        n = len(group)
        rows.append(
            {
                "estimator": name, "k": int(k),
                "variance": float(group["variance"].mean()),
                "variance_se": float(np.sqrt(np.nansum(group["variance_se"] ** 2)) / n),
                "closed_form": float(group["closed_form"].mean())
                if group["closed_form"].notna().any() else math.nan,
                "evaluations": int(group["evaluations"].iloc[0]),
                "seeds": n,
            }
        )
    agg = pd.DataFrame(rows)
    png = figures.chain_figure(agg)
    ks = sorted(agg["k"].unique())
    t_values = ", ".join(f"{t:g}" for t in sorted(chain["t"].unique()))

    def factors(k: int) -> str:
        at = agg[agg["k"] == k].set_index("estimator")["variance"]
        parts = []
        for a, b, label in [("exp_score", "ar", "conditioning on w (exp_score → ar)"),
                            ("ar", "arm", "the swap and average (ar → arm)"),
                            ("arm", "disarm", "conditioning on the bits (arm → disarm)"),
                            ("exp_score", "antithetic_exp",
                             "the swap alone (exp_score → antithetic_exp)")]:
            if a in at.index and b in at.index:
                if at[b] == 0 and at[a] > 0:
                    parts.append(f"{label} brings the variance to exactly 0")
                else:
                    parts.append(f"{label} divides the variance by {_ratio(at[a], at[b])}")
        return "; ".join(parts)

    run = f"at k = {ks[0]}, {factors(ks[0])}"
    if len(ks) > 1:
        run += f". At k = {ks[-1]}: {factors(ks[-1])}"
    at_first = agg[agg["k"] == ks[0]].set_index("estimator")
    if {"arm", "antithetic_exp"} <= set(at_first.index):
        swap_only = fmt(at_first.loc["antithetic_exp", "variance"])
        run += (f". At k = {ks[0]} antithetic_exp's variance is {swap_only} against "
                f"{fmt(at_first.loc['arm', 'variance'])} for ARM")
    section.add(
        "<p>The chain of section 1, measured: each estimator's variance at the same number of "
        f"f-evaluations per gradient estimate (target t = {t_values}, φ = 0), one line per k. "
        "Each step keeps the estimator unbiased and spends no more evaluations than the "
        "last.</p>"
    )
    section.add_figure(
        Figure(
            key="chain", png=png, alt="Variance along the coupling chain",
            caption=caption(
                "each step to the right should lower the variance; the dotted branch is the "
                "antithetic swap without conditioning, which gains little; black bars are "
                "MATH.md's closed forms at k = 1.",
                run + ".",
            ),
        )
    )
    table = agg.pivot_table(index="estimator", columns="k", values="variance", sort=False)
    se = agg.pivot_table(index="estimator", columns="k", values="variance_se", sort=False)
    chain_order = ["exp_score", "antithetic_exp", "ar", "arm", "disarm", "reinforce",
                   "reinforce_loo"]
    names = [n for n in chain_order if n in table.index] + [
        n for n in table.index if n not in chain_order]
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
    steps = [n for n in ("exp_score", "ar", "arm", "disarm") if n in at_first.index]
    if steps:
        walk = " → ".join(f"<code>{n}</code> {fmt(at_first.loc[n, 'variance'])}" for n in steps)
        short = f"Coupling chain (variance at k = {ks[0]}, equal f-evaluations): {walk}"
        if "antithetic_exp" in at_first.index:
            short += (f"; the swap alone (<code>antithetic_exp</code>) "
                      f"{fmt(at_first.loc['antithetic_exp', 'variance'])}")
        section.highlights.append(short + ".")
    return section


# --- 6. optimisation ------------------------------------------------------------------------

def section_optimisation(inputs: StudyInputs) -> Section:
    section = new_section("optimisation")
    opt = inputs.optimisation
    if opt is None:
        section.add(absent("optimisation runs", "results/optimisation.csv"))
        return section
    opt = opt.copy()
    t = opt["t"].astype(float)
    opt["excess"] = (opt["loss"] - opt["k"] * np.minimum(t, 1 - t) ** 2).clip(lower=0)
    grouped = opt.groupby(["t", "k", "estimator", "step"])
    agg = grouped.agg(
        median=("excess", "median"), low=("excess", "min"), high=("excess", "max"),
        seconds=("seconds", "median"), seeds=("seed", "nunique"),
    ).reset_index()
    order = registry_order(agg["estimator"])
    panels = sorted({(float(a), int(b)) for a, b in zip(agg["t"], agg["k"], strict=True)},
                    key=lambda p: (-p[0], p[1]))
    png = figures.optimisation_figure(agg, panels, order)
    finals = []
    sentences = []
    for t_value, k in panels:
        cell = agg[(agg["t"] == t_value) & (agg["k"] == k)]
        last = cell.sort_values("step").groupby("estimator").tail(1).set_index("estimator")
        ranked = last["median"].sort_values()
        for name in ranked.index:
            finals.append({"estimator": name, "panel": f"t = {t_value:g}, k = {k}",
                           "excess": float(last.loc[name, "median"]),
                           "seconds": float(last.loc[name, "seconds"]),
                           "steps": int(last.loc[name, "step"])})
        sentence = (
            f"at t = {t_value:g}, k = {k} the lowest final excess loss is "
            f"<code>{ranked.index[0]}</code>'s ({fmt(ranked.iloc[0])}) and the highest "
            f"<code>{ranked.index[-1]}</code>'s ({fmt(ranked.iloc[-1])}), after "
            f"{int(last['step'].max())} steps"
        )
        sentences.append(sentence)
    seeds = int(agg["seeds"].max())
    section.add(
        "<p>The toy objective E[Σ (b<sub>i</sub> − t)²] optimised over the logits with each "
        "estimator (the REBAR/RELAX/ARM benchmark). The curves show the exact expected loss "
        "at the current logits minus its minimum k·min(t, 1 − t)², so zero is the optimum. "
        f"Lines are medians over {seeds} seed(s), bands the range over seeds.</p>"
    )
    section.add_figure(
        Figure(
            key="optimisation", png=png, alt="Excess loss against steps and seconds",
            caption=caption(
                "lower curves optimise faster; the right column charges each estimator its "
                "wall time, including its extra f-evaluations.",
                "; ".join(sentences) + ".",
            ),
        )
    )
    table = pd.DataFrame(finals)
    if not table.empty:
        wide = table.pivot_table(index="estimator", columns="panel", values=["excess", "seconds"],
                                 sort=False)
        wide.columns = [f"{'final excess loss' if a == 'excess' else 'seconds'} ({b})"
                        for a, b in wide.columns]
        wide = wide.reindex(order).reset_index()
        section.add(html_table(wide, table_id="optimisation-table",
                               caption="Median over seeds at the last recorded step"))
    section.highlights.append("Optimisation: " + sentences[0] + ".")
    return section
