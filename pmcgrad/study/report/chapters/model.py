"""Chapter 8, the model study: spike-and-slab regression fitted with every estimator and
variational family, each fit converging by ``pmcgrad.fit``'s own stopping rule, against MCMC,
the exact posterior and the mean-field family's best optimum.

It shows how close each fit's inclusion probabilities come to the exact posterior (enumerated
over all 2^k inclusion vectors) and, for mean-field fits, to the best answer their family can
give; how many steps and how much wall time a fit took to converge; how the ELBO traces
settle; the most accurate fit against MCMC; and, from the saved DataTrees, ArviZ's view of the
continuous parameters (:mod:`.model_trees`).

model.csv's per-fit columns are listed once, in :data:`FIT_COLUMNS`, and its answers (one
value per predictor) in :data:`ANSWERS`: a diagnostic such as a PSIS k-hat joins the first
list, importance-corrected inclusion probabilities the second, and both then reach the
per-fit summary, the table and the inclusion figure without further changes here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC, MEANFIELD_OPTIMUM, NOT_A_FIT
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.chapters.model_trees import (
    TreesSummary,
    render_trees,
    summarise_trees,
)
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    FAMILY_LINES,
    colour_handle,
    estimator_handle,
    estimator_style,
    family_marker,
    legend_below,
    new_figure,
    plain_log_ticks,
)
from pmcgrad.study.report.wording import absent, caption
from pmcgrad.vi.diagnostics import PARETO_K_THRESHOLD

__all__ = [
    "ANSWERS",
    "BIT_CONDITIONED_TOLERANCE",
    "CHAPTER",
    "ELBO_TOLERANCE",
    "FIT_COLUMNS",
    "MEANFIELD_TOLERANCE",
    "ModelSummary",
    "corrected_table",
    "fit_summaries",
    "render_model",
    "summarise_model",
    "target_checks",
    "time_to_elbo",
]

ELBO_TOLERANCE = 1.0  # nats: "reached" means within this of the best final ELBO
MAX_DESIGNS_SHOWN = 4  # data sets drawn in the inclusion and trace figures
#: The issue's targets: a mean-field fit within this of the mean-field optimum's inclusion
#: probabilities (every seed), a bit-conditioned fit within this of the exact ones.
MEANFIELD_TOLERANCE = 0.01
BIT_CONDITIONED_TOLERANCE = 0.02
#: model.csv columns that hold one value per fit (repeated on its predictors' rows), with how
#: the per-method table summarises them over designs and seeds.
FIT_COLUMNS: dict[str, str] = {"elbo": "mean", "seconds": "median", "steps": "median",
                               "converged": "sum", "pareto_k": "median"}
#: model.csv columns that hold an answer per predictor, scored against the exact posterior.
ANSWERS: tuple[str, ...] = ("inclusion", "inclusion_corrected")
# fit_summaries' errors of the importance-corrected answers.
_CORRECTED_ERRORS = ("inclusion_corrected_max_abs_error",)
# Rows that are references, not fits or MCMC runs.
_REFERENCES = (EXACT_POSTERIOR, MEANFIELD_OPTIMUM)


@dataclass(frozen=True)
class ModelSummary:
    """What chapter 8 states and draws, computed from model.csv, the traces and the trees."""

    model: pd.DataFrame  # model.csv
    fits: pd.DataFrame  # one row per fit, MCMC run and reference: fit_summaries()
    designs: list[tuple[int, int]]  # (k, design_seed), sorted
    by_method: pd.DataFrame  # per method x family, over designs and seeds, most accurate first
    targets: pd.DataFrame  # target_checks()
    traces: pd.DataFrame | None
    reached: pd.DataFrame | None  # time_to_elbo(), None without traces
    trees: TreesSummary | None  # the ArviZ part, None without DataTrees
    labels: dict[tuple[int, int], str]  # design -> how the page names it
    notes: list[str]

    @property
    def shown(self) -> list[tuple[int, int]]:
        return self.designs[:MAX_DESIGNS_SHOWN]

    @property
    def scored(self) -> pd.DataFrame:
        """Fits and MCMC runs: the rows scored against the exact posterior."""
        return self.fits[~self.fits["method"].isin(_REFERENCES)]


def fit_summaries(model: pd.DataFrame) -> pd.DataFrame:
    """One row per fit (design x method x family x seed), MCMC run and reference: mean and
    max |answer - exact| for each of :data:`ANSWERS` (``mean_abs_error``, ``max_abs_error``
    for ``inclusion``), the :data:`FIT_COLUMNS`, the DataTree name (and file, where model.csv
    has ``netcdf_path``), and for a mean-field fit the largest distance of its inclusion
    probabilities from the mean-field optimum's (``max_from_optimum``, NaN otherwise)."""
    keys = ["k", "design_seed", "method", "family", "seed"]
    model = model.copy()
    aggregations: dict[str, tuple[str, str]] = {}
    for answer in [a for a in ANSWERS if a in model.columns]:
        error = "abs_error" if answer == "inclusion" else f"{answer}_abs_error"
        if error not in model.columns:
            model[error] = (model[answer] - model["exact_inclusion"]).abs()
        prefix = "" if answer == "inclusion" else f"{answer}_"
        aggregations[f"{prefix}mean_abs_error"] = (error, "mean")
        aggregations[f"{prefix}max_abs_error"] = (error, "max")
    for column in [c for c in FIT_COLUMNS if c in model.columns]:
        aggregations[column] = (column, "first")
    aggregations["netcdf"] = ("netcdf", "first")
    optimum = (model[model["method"] == MEANFIELD_OPTIMUM]
               .set_index(["k", "design_seed", "predictor"])["inclusion"])
    if len(optimum):
        at = pd.MultiIndex.from_frame(model[["k", "design_seed", "predictor"]])
        model["from_optimum"] = np.where(model["family"] == "meanfield",
                                         (model["inclusion"].to_numpy()
                                          - optimum.reindex(at).to_numpy()), np.nan)
        model["from_optimum"] = model["from_optimum"].abs()
    else:
        model["from_optimum"] = np.nan
    aggregations["max_from_optimum"] = ("from_optimum", "max")
    agg = model.groupby(keys, sort=False).agg(**aggregations).reset_index()
    if "netcdf_path" in model.columns:
        paths = model.groupby(keys, sort=False)["netcdf_path"].first().reset_index()
        agg = agg.merge(paths, on=keys, how="left")
    return agg


def target_checks(fits: pd.DataFrame) -> pd.DataFrame:
    """The issue's targets, per design and fitted method: each mean-field fit against the
    mean-field optimum (within :data:`MEANFIELD_TOLERANCE`), each bit-conditioned fit against
    the exact posterior (within :data:`BIT_CONDITIONED_TOLERANCE`). One row per design x
    family x method: ``seeds``, how many are ``within``, and the ``worst`` seed's error."""
    rows = []
    checks = (("meanfield", "max_from_optimum", "mean-field optimum", MEANFIELD_TOLERANCE),
              ("bit_conditioned", "max_abs_error", "exact posterior", BIT_CONDITIONED_TOLERANCE))
    for family, column, reference, tolerance in checks:
        chosen = fits[fits["family"] == family]
        for (k, design, method), group in chosen.groupby(["k", "design_seed", "method"],
                                                         sort=False):
            errors = group[column].to_numpy(dtype=float)
            rows.append({"k": int(k), "design_seed": int(design), "family": family,
                         "method": method, "reference": reference, "tolerance": tolerance,
                         "seeds": len(errors),
                         "within": int(np.sum(errors <= tolerance)),
                         "worst": float(np.nanmax(errors)) if len(errors) else math.nan})
    return pd.DataFrame(rows, columns=["k", "design_seed", "family", "method", "reference",
                                       "tolerance", "seeds", "within", "worst"])


def time_to_elbo(traces: pd.DataFrame, fits: pd.DataFrame,
                 tolerance: float = ELBO_TOLERANCE) -> pd.DataFrame:
    """Seconds until each trace's smoothed ELBO first comes within ``tolerance`` nats of the
    best final ELBO of its design's fits (NaN where it never does)."""
    rows = []
    fitted = fits[fits["family"] != NOT_A_FIT]
    seed_key = ["seed"] if "seed" in traces.columns else []
    for (k, design), group in traces.groupby(["k", "design_seed"]):
        finals = fitted[(fitted["k"] == k) & (fitted["design_seed"] == design)]["elbo"].dropna()
        target = float(finals.max()) if len(finals) else float(group["elbo"].max())
        for key, line in group.groupby(["estimator", "family", *seed_key]):
            line = line.sort_values("step")
            # A rolling median, so that one lucky noisy estimate does not count as reaching.
            smooth = line["elbo"].rolling(5, min_periods=1, center=True).median()
            hit = np.flatnonzero(smooth.to_numpy() >= target - tolerance)
            rows.append({"k": k, "design_seed": design, "method": key[0], "family": key[1],
                         "seed": key[2] if seed_key else 0,
                         "seconds_to_tolerance": float(line["seconds"].iloc[hit[0]])
                         if hit.size else math.nan,
                         "target_elbo": target})
    return pd.DataFrame(rows)


def summarise_model(model: pd.DataFrame, traces: pd.DataFrame | None,
                    notes: Sequence[str] = (), open_trees: bool = True,
                    correlations: Mapping[tuple[int, int], float] | None = None
                    ) -> ModelSummary:
    """Everything chapter 8 reports; ``open_trees=False`` leaves the DataTrees unread.
    ``correlations`` (from the config, when given) names the designs on the page."""
    fits = fit_summaries(model)
    designs = sorted({(int(a), int(b)) for a, b in zip(fits["k"], fits["design_seed"],
                                                         strict=True)})
    scored = fits[~fits["method"].isin((EXACT_POSTERIOR,))]
    by_method = (
        scored.groupby(["method", "family"], sort=False)
        .agg(mean_abs_error=("mean_abs_error", "mean"), max_abs_error=("max_abs_error", "max"),
             **{column: (column, "max") for column in _CORRECTED_ERRORS
                if column in scored.columns},
             **{column: (column, how) for column, how in FIT_COLUMNS.items()
                if column in scored.columns},
             runs=("k", "size"))
        .reset_index()
        .sort_values("mean_abs_error")
    )
    reached = time_to_elbo(traces, fits) if traces is not None else None
    trees = summarise_trees(fits) if open_trees else None
    labels = {}
    for design in designs:
        k, seed = design
        rho = None if correlations is None else correlations.get(design)
        kind = ("" if rho is None else
                ", independent design" if rho == 0 else f", correlation {rho:g}")
        labels[design] = f"k = {k} (design seed {seed}{kind})"
    return ModelSummary(model, fits, designs, by_method, target_checks(fits), traces,
                        reached, trees, labels, list(notes))


def render_model(summary: ModelSummary) -> Section:
    """Inclusion probabilities, the per-method table, the targets, accuracy against time, ELBO
    traces and the ArviZ plots."""
    section = CHAPTER.section()
    shown = summary.shown
    seeds = sorted(summary.model.loc[summary.model["family"] != NOT_A_FIT, "seed"].unique())
    section.add(
        "<p>Spike-and-slab regression fitted with <code>pmcgrad.fit</code> for each estimator "
        "and variational family, with the fitter's own optimiser and stopping rule (the "
        "config's <code>max_steps</code> is only a cap), beside PyMC's MCMC "
        "(<code>pm.sample</code>), the exact posterior inclusion probabilities, enumerated "
        "over all 2<sup>k</sup> inclusion vectors, and the best optimum of the mean-field "
        "family, found by coordinate ascent from many starts: no mean-field fit can do better "
        f"than it. {len(summary.designs)} design(s), {len(seeds)} seed(s) per fit; the figures "
        f"show {', '.join(summary.labels[d] for d in shown)}"
        f"{f', seed {seeds[0]}' if seeds else ''}.</p>",
        *[f'<p class="note">{note}</p>' for note in summary.notes],
    )
    run = _accuracy_run(summary.by_method)
    section.add("<h3>Inclusion probabilities</h3>")
    section.add_figure(Figure(
        key="inclusion", png=_inclusion_figure(summary.model, shown, summary.labels),
        alt="Inclusion probabilities per predictor",
        caption=caption(
            "markers should sit on the tops of the grey bars (the exact posterior); the black "
            "dashes are the mean-field optimum, where mean-field fits (circles) should sit, "
            "however far it is from exact; each fit's filled marker is its raw answer, the "
            "hollow one beside it the importance-corrected answer.",
            run,
        ),
    ))
    section.highlights.append(f"Model study: {run}")
    section.add(html_table(
        _method_table(summary), table_id="model-table",
        caption="Per method and family, over designs and seeds. Errors are against the exact "
                "posterior; wall time is the whole <code>pmcgrad.fit</code> call (compile and "
                "final ELBO included) or <code>pm.sample</code>; steps and wall time are "
                "medians; “converged” counts the fits whose stopping rule fired before the "
                "cap. “Seconds to ELBO” is the median wall time until a fit's smoothed ELBO "
                f"trace first comes within {ELBO_TOLERANCE:g} nat of the best final ELBO of any "
                "fit of its design."))
    _add_targets(section, summary)
    _add_corrected(section, summary)
    section.add("<h3>Accuracy against wall time</h3>")
    section.add_figure(Figure(
        key="accuracy_time", png=_accuracy_time_figure(summary.scored),
        alt="Inclusion error against wall time",
        caption=caption(
            "points towards the lower left are both fast and accurate; one point per fit and "
            "seed; MCMC is the diamond.",
            _accuracy_sentence(summary.scored),
        ),
    ))
    if summary.traces is None:
        section.add(absent("ELBO traces", "results/model_traces.csv"))
    else:
        _add_traces(section, summary)
    section.add("<h3>Posterior plots from the saved DataTrees (ArviZ)</h3>")
    render_trees(section, summary.trees)
    return section


def _add_targets(section: Section, summary: ModelSummary) -> None:
    """The issue's two targets, per design and method, and one key result."""
    targets = summary.targets
    if targets.empty:
        return
    table = targets.assign(
        design=[summary.labels.get((k, d), f"k = {k}") for k, d in
                zip(targets["k"], targets["design_seed"], strict=True)],
        fit=[f"<code>{m}</code> ({f})" for m, f in
             zip(targets["method"], targets["family"], strict=True)],
        met=[f"{w} of {n}" for w, n in zip(targets["within"], targets["seeds"], strict=True)],
    )[["design", "fit", "reference", "tolerance", "met", "worst"]].rename(columns={
        "reference": "measured against", "tolerance": "within", "met": "seeds within",
        "worst": "worst seed: max |inclusion − reference|"})
    section.add("<h3>Targets</h3>", html_table(
        table, raw=["fit"], table_id="model-targets",
        caption=f"Mean-field fits against the mean-field optimum (within "
                f"{MEANFIELD_TOLERANCE:g}), bit-conditioned fits against the exact posterior "
                f"(within {BIT_CONDITIONED_TOLERANCE:g}), every seed."))
    parts = []
    for family, reference, tolerance in (
            ("meanfield", "the mean-field optimum", MEANFIELD_TOLERANCE),
            ("bit_conditioned", "exact", BIT_CONDITIONED_TOLERANCE)):
        rows = targets[targets["family"] == family]
        if rows.empty:
            continue
        per_design = []
        for (k, design), group in rows.groupby(["k", "design_seed"], sort=True):
            per_design.append(
                f"{summary.labels.get((k, design), f'k = {k}')}: {int(group['within'].sum())} "
                f"of {int(group['seeds'].sum())} (worst {fmt(group['worst'].max())})")
        parts.append(f"{family} fits within {tolerance:g} of {reference} on "
                     + "; ".join(per_design))
    section.highlights.append("Model study targets: " + "; ".join(parts) + ".")


def corrected_table(summary: ModelSummary) -> pd.DataFrame:
    """Per design and fit (every seed): the PSIS k-hat, max |raw − exact| and max
    |importance-corrected − exact|, with MCMC's max |inclusion − exact| on the same design."""
    fits = summary.scored
    if "pareto_k" not in fits.columns or "inclusion_corrected_max_abs_error" not in fits:
        return pd.DataFrame()
    mcmc = (fits[fits["method"] == MCMC].groupby(["k", "design_seed"])["max_abs_error"]
            .max())
    rows = []
    for record in fits[fits["family"] != NOT_A_FIT].itertuples(index=False):
        at = (record.k, record.design_seed)
        rows.append({"design": summary.labels.get(at, f"k = {record.k}"),
                     "fit": f"<code>{record.method}</code> ({record.family})",
                     "seed": int(record.seed), "k-hat": record.pareto_k,
                     "max |raw − exact|": record.max_abs_error,
                     "max |corrected − exact|": record.inclusion_corrected_max_abs_error,
                     "MCMC: max |inclusion − exact|": mcmc.get(at, math.nan)})
    return pd.DataFrame(rows)


def _add_corrected(section: Section, summary: ModelSummary) -> None:
    """Raw and importance-corrected answers of every fit, with the k-hat that says whether the
    correction can be trusted, and one key result."""
    table = corrected_table(summary)
    if table.empty:
        section.add(absent("importance-corrected inclusion probabilities",
                           "model.csv's inclusion_corrected and pareto_k columns"))
        return
    khat = table["k-hat"].to_numpy(dtype=float)
    raw = table["max |raw − exact|"].to_numpy(dtype=float)
    corrected = table["max |corrected − exact|"].to_numpy(dtype=float)
    reliable = np.isfinite(khat) & (khat <= PARETO_K_THRESHOLD)
    better = np.isfinite(corrected) & (corrected < raw)
    sentence = (f"{int(reliable.sum())} of {len(table)} fits have k-hat ≤ "
                f"{PARETO_K_THRESHOLD:g}, where the importance-corrected answer can be "
                f"trusted; the correction brings the largest error closer to exact in "
                f"{int(better.sum())} of {len(table)} fits")
    if reliable.any():
        sentence += (f" (worst corrected error among the reliable ones "
                     f"{fmt(np.nanmax(corrected[reliable]))}, against "
                     f"{fmt(np.nanmax(raw[reliable]))} raw)")
    section.add("<h3>Raw and importance-corrected inclusion probabilities</h3>",
                f"<p>Each fit's answer as it stands, and reweighted by PSIS importance "
                f"weights p/q (<code>result.diagnostics.inclusion_probabilities_corrected"
                f"</code>), with the k-hat of those weights' tail "
                f"(<code>result.diagnostics.pareto_k</code>): above {PARETO_K_THRESHOLD:g} "
                f"the corrected answer is not reliable. {sentence}.</p>")
    section.add(html_table(
        table, raw=["fit"], table_id="model-corrected",
        caption="Errors against the exact posterior of each fit's raw and corrected "
                "inclusion probabilities, beside MCMC's on the same design."))
    section.highlights.append(f"Model study, importance correction: {sentence}.")


def _accuracy_run(by_method: pd.DataFrame) -> str:
    fits = by_method[~by_method["method"].isin((MCMC, *_REFERENCES))]
    mcmc = by_method[by_method["method"] == MCMC]
    run = ""
    if len(fits):
        best, worst = fits.iloc[0], fits.iloc[-1]
        run = (f"the most accurate fit uses <code>{best['method']}</code> ({best['family']} "
               f"family), with mean |inclusion − exact| = {fmt(best['mean_abs_error'])} (max "
               f"{fmt(best['max_abs_error'])}) in {fmt(best['seconds'])} s (median, "
               f"{fmt(best['steps'])} steps); the least accurate "
               f"uses <code>{worst['method']}</code> ({worst['family']} family), at "
               f"{fmt(worst['mean_abs_error'])}")
    if len(mcmc):
        m = mcmc.iloc[0]
        run += ("; " if run else "") + (
            f"MCMC reaches {fmt(m['mean_abs_error'])} (max {fmt(m['max_abs_error'])}) in "
            f"{fmt(m['seconds'])} s")
    return (run or "no fit to compare") + "."


def _method_table(summary: ModelSummary) -> pd.DataFrame:
    table = summary.by_method.rename(columns={
        "mean_abs_error": "mean |inclusion − exact|", "max_abs_error": "max |inclusion − exact|",
        "elbo": "final ELBO (nats)", "seconds": "wall time (s)", "steps": "steps",
        "converged": "converged", "runs": "runs",
        "inclusion_corrected_max_abs_error": "max |corrected − exact|",
        "pareto_k": "k-hat (median)",
    })
    is_fit = table["family"] != NOT_A_FIT
    table["steps"] = [fmt(v) if fit else "—" for v, fit in
                      zip(table["steps"], is_fit, strict=True)]
    for column in ("max |corrected − exact|", "k-hat (median)"):
        if column in table.columns:
            table[column] = [fmt(v) if fit and np.isfinite(v) else "—" for v, fit in
                             zip(table[column], is_fit, strict=True)]
    table["converged"] = [f"{int(c)} of {int(r)}" if fit else "—" for c, r, fit in
                          zip(table["converged"], table["runs"], is_fit, strict=True)]
    table["family"] = table["family"].replace(NOT_A_FIT, "—")
    table["method"] = table["method"].replace(MEANFIELD_OPTIMUM,
                                              "meanfield_optimum (coordinate ascent)")
    reached = summary.reached
    if reached is not None and not reached.empty:
        column = f"seconds to ELBO within {ELBO_TOLERANCE:g} nat of the best"
        per_method = (reached.groupby(["method", "family"])["seconds_to_tolerance"]
                      .median().rename(column).reset_index())
        per_method["traced"] = True
        table = table.merge(per_method, on=["method", "family"], how="left")
        table[column] = [
            ("not reached" if pd.isna(v) else fmt(v)) if traced is True else "—"
            for v, traced in zip(table[column], table["traced"], strict=True)
        ]
        table = table.drop(columns="traced")
    return table


def _add_traces(section: Section, summary: ModelSummary) -> None:
    traces, reached = summary.traces, summary.reached
    if "seed" in traces.columns and len(traces):
        traces = traces[traces["seed"] == traces["seed"].iloc[0]]
    shown = [d for d in summary.shown
             if ((traces["k"] == d[0]) & (traces["design_seed"] == d[1])).any()]
    if not shown:
        return
    fastest = reached.dropna(subset=["seconds_to_tolerance"]).sort_values("seconds_to_tolerance")
    never = reached[reached["seconds_to_tolerance"].isna()]
    if len(fastest):
        first = fastest.iloc[0]
        sentence = (f"the first fit to come within {ELBO_TOLERANCE:g} nat of its design's best "
                    f"final ELBO is <code>{first['method']}</code> ({first['family']}) after "
                    f"{fmt(first['seconds_to_tolerance'])} s")
    else:
        sentence = "no trace reaches the best final ELBO within tolerance"
    if len(never):
        sentence += f"; {len(never)} of {len(reached)} traces never do"
    lengths = traces.groupby(["k", "design_seed", "estimator", "family"])["step"].max()
    sentence += (f"; the fits shown ran {fmt(int(lengths.min()))} to "
                 f"{fmt(int(lengths.max()))} steps")
    section.add("<h3>ELBO traces</h3>")
    section.add_figure(Figure(
        key="elbo_traces", png=_elbo_trace_figure(traces, shown, summary.labels),
        alt="ELBO traces of the fits",
        caption=caption(
            "higher is better; each line ends where its fit stopped; the y-axis is zoomed on "
            "the last four fifths of the runs, and the right column shows the same traces "
            "against wall time.",
            sentence + ".",
        ),
    ))


def _accuracy_sentence(scored: pd.DataFrame) -> str:
    fits = scored[scored["method"] != MCMC]
    if fits.empty:
        return "no fits."
    fastest = fits.sort_values("seconds").iloc[0]
    best = fits.sort_values("mean_abs_error").iloc[0]
    text = (f"the fastest fit is <code>{fastest['method']}</code> ({fastest['family']}, "
            f"{fmt(fastest['seconds'])} s, error {fmt(fastest['mean_abs_error'])}); the most "
            f"accurate is <code>{best['method']}</code> ({best['family']}, "
            f"{fmt(best['seconds'])} s, error {fmt(best['mean_abs_error'])})")
    mcmc = scored[scored["method"] == MCMC]
    if len(mcmc):
        text += (f"; MCMC takes {fmt(mcmc['seconds'].mean())} s for error "
                 f"{fmt(mcmc['mean_abs_error'].mean())}")
    return text + "."


def _fit_label(method: str) -> str:
    """Legend label of a fit's estimator (the ``exact`` estimator is not the exact posterior)."""
    return {"exact": "exact (enumerated gradient)", MCMC: "MCMC (pm.sample)",
            MEANFIELD_OPTIMUM: "mean-field optimum"}.get(method, method)


def _family_legend(handles: list, labels: list[str], families: Sequence[str], *,
                   lines: bool = False) -> None:
    """Append a grey legend entry for each family's marker (or line style)."""
    for index, family in enumerate(families):
        style = ({"linestyle": FAMILY_LINES[index % len(FAMILY_LINES)]} if lines
                 else {"linestyle": "", "marker": family_marker(families, family)})
        handles.append(Line2D([], [], color="grey", **style))
        labels.append(f"family: {family}")


def _inclusion_figure(model: pd.DataFrame, designs: Sequence[tuple[int, int]],
                      labels: Mapping[tuple[int, int], str]) -> bytes:
    """Inclusion probability per predictor: each fit (first seed), MCMC, the mean-field
    optimum and the exact posterior."""
    fig, axes = new_figure(len(designs), 1, height_per_row=3.4)
    is_fit = model["family"] != NOT_A_FIT
    if is_fit.any():
        model = model[~is_fit | (model["seed"] == model.loc[is_fit, "seed"].iloc[0])]
        is_fit = model["family"] != NOT_A_FIT
    families = sorted(set(model.loc[is_fit, "family"]))
    fits = list(model[is_fit][["method", "family"]].drop_duplicates()
                .sort_values(["family", "method"]).itertuples(index=False))
    answers = [a for a in ANSWERS if a in model.columns]
    width = 0.8
    for row, (k, seed) in enumerate(designs):
        ax = axes[row, 0]
        sub = model[(model["k"] == k) & (model["design_seed"] == seed)]
        exact = sub.drop_duplicates("predictor").sort_values("predictor")
        ax.bar(exact["predictor"], exact["exact_inclusion"], width=width, color="#e4e7eb",
               edgecolor="#9aa3ad", label="exact posterior", zorder=1)
        optimum = sub[sub["method"] == MEANFIELD_OPTIMUM]
        ax.scatter(optimum["predictor"], optimum["inclusion"], marker="_", s=500,
                   color="black", linewidths=1.6, zorder=2)
        n_series = len(fits) * len(answers) + 1
        # Each series gets its own slot inside the predictor's bar, MCMC the last one.
        offsets = np.linspace(-width / 2 + width / (2 * n_series),
                              width / 2 - width / (2 * n_series), n_series)
        index = 0
        for method, family in fits:
            line = sub[(sub["method"] == method) & (sub["family"] == family)]
            for number, answer in enumerate(answers):  # a later answer: hollow markers
                ax.scatter(line["predictor"] + offsets[index], line[answer], s=22,
                           color=estimator_style(method)["color"] if number == 0 else "none",
                           edgecolors=("black" if number == 0
                                       else estimator_style(method)["color"]),
                           marker=family_marker(families, family), zorder=3, linewidths=0.3)
                index += 1
        mcmc = sub[sub["method"] == MCMC]
        if len(mcmc):
            ax.scatter(mcmc["predictor"] + offsets[-1], mcmc["inclusion"], s=40, marker="d",
                       color=estimator_style(MCMC)["color"], zorder=4)
        ax.set_ylim(-0.03, 1.05)
        ax.set_xticks(sorted(exact["predictor"].unique()))
        ax.set_xlabel("predictor j")
        ax.set_ylabel("inclusion probability\nP(z_j = 1 | y)")
        ax.set_title(labels.get((k, seed), f"k = {k}, design seed {seed}"), fontsize=10,
                     loc="left")
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#e4e7eb", ec="#9aa3ad")]
    labels_ = ["exact posterior (enumeration)"]
    if (model["method"] == MEANFIELD_OPTIMUM).any():
        handles.append(Line2D([], [], color="black", marker="_", markersize=14, linestyle=""))
        labels_.append("mean-field optimum")
    if (model["method"] == MCMC).any():
        handles.append(Line2D([], [], color=estimator_style(MCMC)["color"], marker="d",
                              linestyle=""))
        labels_.append("MCMC (pm.sample)")
    for method in dict.fromkeys(m for m, _ in fits):
        handles.append(colour_handle(method))
        labels_.append(_fit_label(method))
    _family_legend(handles, labels_, families)
    legend_below(fig, handles, labels_, ncols=5)
    return png_bytes(fig)


def _elbo_trace_figure(traces: pd.DataFrame, designs: Sequence[tuple[int, int]],
                       labels: Mapping[tuple[int, int], str]) -> bytes:
    """ELBO against steps and seconds per fit; y-axis zoomed on the converged part."""
    fig, axes = new_figure(len(designs), 2, height_per_row=3.2)
    families = sorted(set(traces["family"]))
    estimators = list(dict.fromkeys(traces["estimator"]))
    for row, (k, seed) in enumerate(designs):
        sub = traces[(traces["k"] == k) & (traces["design_seed"] == seed)]
        lows, highs = [], []
        for (name, family), line in sub.groupby(["estimator", "family"], sort=False):
            line = line.sort_values("step")
            style = FAMILY_LINES[families.index(family) % len(FAMILY_LINES)]
            for col, x_name in enumerate(["step", "seconds"]):
                axes[row, col].plot(line[x_name], line["elbo"], linewidth=1.1, linestyle=style,
                                    color=estimator_style(name)["color"])
            # Zoom on the last four fifths: the first steps' ELBO would flatten the rest.
            tail = line["elbo"].to_numpy(dtype=float)[len(line) // 5:]
            if tail.size:
                lows.append(np.nanmin(tail))
                highs.append(np.nanmax(tail))
        for col, x_name in enumerate(["step", "seconds"]):
            ax = axes[row, col]
            if lows:
                low, high = min(lows), max(highs)
                pad = 0.08 * (high - low) if high > low else 1.0
                ax.set_ylim(low - pad, high + pad)
            ax.set_xlabel("optimisation step" if x_name == "step" else "wall time (s)")
            ax.set_ylabel("ELBO estimate (nats)")
            ax.set_title(labels.get((k, seed), f"k = {k}, design seed {seed}"), fontsize=10,
                         loc="left")
            ax.grid(alpha=0.3)
    handles = [estimator_handle(n, marker="") for n in estimators]
    labels = list(estimators)
    _family_legend(handles, labels, families, lines=True)
    legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def _accuracy_time_figure(fits: pd.DataFrame) -> bytes:
    """Mean |inclusion − exact| against wall time, one point per fit (and MCMC run)."""
    fig, axes = new_figure(1, 1, height_per_row=3.8)
    ax = axes[0, 0]
    families = sorted(set(fits.loc[fits["family"] != NOT_A_FIT, "family"]))
    for record in fits.itertuples(index=False):
        marker = "d" if record.method == MCMC else family_marker(families, record.family)
        ax.scatter(record.seconds, record.mean_abs_error, marker=marker, s=40,
                   color=estimator_style(record.method)["color"], edgecolors="black",
                   linewidths=0.4, zorder=3)
    ax.set_xscale("log")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("wall time of the fit or of pm.sample (s, log scale)")
    ax.set_ylabel("mean |inclusion − exact|\n(probability)")
    ax.grid(alpha=0.3)
    methods = list(dict.fromkeys(fits["method"]))
    handles = [colour_handle(m) if m != MCMC else estimator_handle(m, linestyle="")
               for m in methods]
    labels = [_fit_label(m) for m in methods]
    _family_legend(handles, labels, families)
    legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def _correlations(config: Mapping | None) -> dict[tuple[int, int], float] | None:
    """Each model data set's correlation, from the config (None without one)."""
    try:
        return {(int(d["k"]), int(d["design_seed"])): float(d["correlation"])
                for d in config["model"]["datasets"]}
    except (TypeError, KeyError, ValueError):
        return None


def _build(inputs: ReportInputs) -> Section:
    return render_model(summarise_model(inputs.model, inputs.model_traces, inputs.notes,
                                        correlations=_correlations(inputs.config)))


CHAPTER = Chapter("model", "8. Model study: spike-and-slab regression",
                  needs=("model", "model_traces", "models"), build=_build,
                  requires=("model", "model study", "results/model.csv"))
