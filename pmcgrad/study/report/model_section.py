"""Section 7: the spike-and-slab model study, with ArviZ plots of the saved DataTrees."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmcgrad.study.report import figures
from pmcgrad.study.report.inputs import StudyInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table
from pmcgrad.study.report.sections import absent, caption, new_section

__all__ = ["ELBO_TOLERANCE", "is_exact_posterior", "section_model", "time_to_elbo"]


FOREST_PREFERENCE = ("disarm", "arm", "reinforce_loo", "reinforce")
MAX_FOREST_FITS = 5
ELBO_TOLERANCE = 1.0  # nats: "reached" means within this of the best final ELBO


def is_exact_posterior(frame: pd.DataFrame) -> pd.Series:
    """Rows of the enumerated posterior (method ``exact`` without a family); a fit that uses
    the ``exact`` gradient estimator has a family and is a fit like any other."""
    return (frame["method"] == "exact") & (frame["family"].fillna("") == "")


def _fits_summary(model: pd.DataFrame) -> pd.DataFrame:
    """One row per fit (design x method x family): accuracy, ELBO, seconds, DataTree."""
    keys = ["k", "design_seed", "method", "family"]
    agg = model.groupby(keys, sort=False).agg(
        mean_abs_error=("abs_error", "mean"), max_abs_error=("abs_error", "max"),
        elbo=("elbo", "first"), seconds=("seconds", "first"), netcdf=("netcdf", "first"),
    ).reset_index()
    if "netcdf_path" in model.columns:
        paths = model.groupby(keys, sort=False)["netcdf_path"].first().reset_index()
        agg = agg.merge(paths, on=keys, how="left")
    return agg


def time_to_elbo(traces: pd.DataFrame, fits: pd.DataFrame,
                 tolerance: float = ELBO_TOLERANCE) -> pd.DataFrame:
    """Seconds until each trace's smoothed ELBO first comes within ``tolerance`` nats of the
    best final ELBO of its design (NaN where it never does)."""
    rows = []
    for (k, seed), design in traces.groupby(["k", "design_seed"]):
        finals = fits[(fits["k"] == k) & (fits["design_seed"] == seed)]["elbo"].dropna()
        target = float(finals.max()) if len(finals) else float(design["elbo"].max())
        for (name, family), line in design.groupby(["estimator", "family"]):
            line = line.sort_values("step")
            smooth = line["elbo"].rolling(5, min_periods=1, center=True).median()
            hit = np.flatnonzero(smooth.to_numpy() >= target - tolerance)
            rows.append({"k": k, "design_seed": seed, "method": name, "family": family,
                         "seconds_to_tolerance": float(line["seconds"].iloc[hit[0]])
                         if hit.size else math.nan,
                         "target_elbo": target})
    return pd.DataFrame(rows)


def _flat_posterior(tree, draws: int):
    """The posterior as one chain of ``draws`` draws, so trees of different shapes compare."""
    import xarray as xr

    post = tree["posterior"].to_dataset()
    stacked = post.stack(sample=("chain", "draw")).drop_vars(["chain", "draw", "sample"],
                                                             errors="ignore")
    stacked = stacked.isel(sample=slice(0, draws)).rename(sample="draw")
    stacked = stacked.expand_dims(chain=[0]).transpose("chain", "draw", ...)
    stacked = stacked.assign_coords(draw=np.arange(stacked.sizes["draw"]))
    return xr.DataTree.from_dict({"posterior": stacked})


def _select_trees(fits: pd.DataFrame) -> tuple[tuple[int, int] | None, dict[str, object]]:
    """The design with DataTrees and, for it, MCMC plus a few fits (preferred estimators)."""
    if "netcdf_path" not in fits.columns:
        return None, {}
    available = fits[fits["netcdf_path"].notna()]
    if available.empty:
        return None, {}
    k, seed = (int(v) for v in available.iloc[0][["k", "design_seed"]])
    design = available[(available["k"] == k) & (available["design_seed"] == seed)]
    order = {name: i for i, name in enumerate(FOREST_PREFERENCE)}
    chosen = []
    mcmc = design[design["method"] == "mcmc"]
    candidates = design[(design["method"] != "mcmc") & ~is_exact_posterior(design)].copy()
    candidates["rank"] = candidates["method"].map(lambda m: order.get(m, len(order)))
    candidates = candidates.sort_values(["rank", "family"])
    chosen = list(candidates.head(MAX_FOREST_FITS).itertuples(index=False))
    trees: dict[str, object] = {}
    import xarray as xr

    for record in [*mcmc.itertuples(index=False), *chosen]:
        label = record.method if record.method == "mcmc" else (
            f"{record.method} ({record.family})" if record.family else record.method)
        trees[label] = xr.open_datatree(record.netcdf_path)
    return (k, seed), trees


def _continuous(posterior, names) -> list[str]:
    """Float variables without a point mass at zero (so ``effect = z * beta`` is left out)."""
    out = []
    for name in names:
        values = posterior[name].values
        if values.dtype.kind == "f" and float(np.mean(values == 0)) < 0.05:
            out.append(name)
    return out


def section_model(inputs: StudyInputs) -> Section:
    section = new_section("model")
    model = inputs.model
    if model is None:
        section.add(absent("model study", "results/model.csv"))
        return section
    fits = _fits_summary(model)
    designs = sorted({(int(a), int(b)) for a, b in zip(fits["k"], fits["design_seed"],
                                                         strict=True)})
    shown = designs[:4]
    section.add(
        "<p>Spike-and-slab regression fitted with <code>pmcgrad.fit</code> for each estimator "
        "and variational family, beside PyMC's MCMC (<code>pm.sample</code>) and the exact "
        "posterior inclusion probabilities, enumerated over all 2<sup>k</sup> inclusion "
        f"vectors. {len(designs)} design(s); the figures show "
        f"{', '.join(f'k = {k} (seed {s})' for k, s in shown)}.</p>",
        *[f'<p class="note">{note}</p>' for note in inputs.notes],
    )
    scored = fits[~is_exact_posterior(fits)]
    by_method = (
        scored.groupby(["method", "family"], sort=False)
        .agg(mean_abs_error=("mean_abs_error", "mean"), max_abs_error=("max_abs_error", "max"),
             elbo=("elbo", "mean"), seconds=("seconds", "mean"), designs=("k", "size"))
        .reset_index()
        .sort_values("mean_abs_error")
    )
    best = by_method[by_method["method"] != "mcmc"].head(1)
    mcmc = by_method[by_method["method"] == "mcmc"]
    run = ""
    if len(best):
        b = best.iloc[0]
        run = (f"the most accurate fit uses <code>{b['method']}</code> ({b['family']} family), "
               f"with mean |inclusion − exact| = {fmt(b['mean_abs_error'])} (max "
               f"{fmt(b['max_abs_error'])}) in {fmt(b['seconds'])} s")
        worst = by_method[by_method["method"] != "mcmc"].iloc[-1]
        run += (f"; the least accurate uses <code>{worst['method']}</code> ({worst['family']}"
                f" family), at {fmt(worst['mean_abs_error'])}")
    if len(mcmc):
        m = mcmc.iloc[0]
        run += ("; " if run else "") + (
            f"MCMC reaches {fmt(m['mean_abs_error'])} in {fmt(m['seconds'])} s")
    run = (run or "no fit to compare") + "."
    section.add("<h3>Inclusion probabilities</h3>")
    section.add_figure(
        Figure(
            key="inclusion", png=figures.inclusion_figure(model, shown),
            alt="Inclusion probabilities per predictor",
            caption=caption(
                "markers should sit on the tops of the grey bars (the exact posterior); "
                "mean-field fits tend to push probabilities towards 0 or 1.",
                run,
            ),
        )
    )
    section.highlights.append(f"Model study: {run}")
    table = by_method.rename(columns={
        "mean_abs_error": "mean |inclusion − exact|", "max_abs_error": "max |inclusion − exact|",
        "elbo": "final ELBO (nats)", "seconds": "wall time (s)", "designs": "designs",
    })
    table["family"] = table["family"].replace("", "—")

    traces = inputs.model_traces
    reached = time_to_elbo(traces, fits) if traces is not None else None
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
    section.add(html_table(
        table, table_id="model-table",
        caption="Per method and family, averaged over designs. “Seconds to ELBO” is the "
                "median wall time until a fit's smoothed ELBO trace first comes within "
                f"{ELBO_TOLERANCE:g} nat of the best final ELBO of any fit of its design."))

    section.add("<h3>Accuracy against wall time</h3>")
    section.add_figure(
        Figure(
            key="accuracy_time", png=figures.accuracy_time_figure(scored),
            alt="Inclusion error against wall time",
            caption=caption(
                "points towards the lower left are both fast and accurate; MCMC is the "
                "diamond.",
                _accuracy_sentence(scored),
            ),
        )
    )

    if traces is not None:
        shown_traces = [d for d in shown
                        if ((traces["k"] == d[0]) & (traces["design_seed"] == d[1])).any()]
        if shown_traces:
            fastest = reached.dropna(subset=["seconds_to_tolerance"]).sort_values(
                "seconds_to_tolerance")
            never = reached[reached["seconds_to_tolerance"].isna()]
            if len(fastest):
                first = fastest.iloc[0]
                sentence = (
                    f"the first fit to come within {ELBO_TOLERANCE:g} nat of its design's best "
                    f"final ELBO is <code>{first['method']}</code> ({first['family']}) after "
                    f"{fmt(first['seconds_to_tolerance'])} s"
                )
            else:
                sentence = "no trace reaches the best final ELBO within tolerance"
            if len(never):
                sentence += f"; {len(never)} of {len(reached)} traces never do"
            section.add("<h3>ELBO traces</h3>")
            section.add_figure(
                Figure(
                    key="elbo_traces", png=figures.elbo_trace_figure(traces, shown_traces),
                    alt="ELBO traces of the fits",
                    caption=caption(
                        "higher is better; the y-axis is zoomed on the last four fifths of "
                        "the runs, and the right column shows the same traces against wall "
                        "time.",
                        sentence + ".",
                    ),
                )
            )
    else:
        section.add(absent("ELBO traces", "results/model_traces.csv"))

    section.add("<h3>Posterior plots from the saved DataTrees (ArviZ)</h3>")
    design, trees = _select_trees(fits)
    if not trees:
        section.add('<p class="note">No DataTree of the model study was found, so there are '
                    "no ArviZ plots in this run.</p>")
        return section
    draws = min(1000, *(int(t["posterior"].sizes["chain"] * t["posterior"].sizes["draw"])
                        for t in trees.values()))
    flat = {label: _flat_posterior(tree, draws) for label, tree in trees.items()}
    posterior = next(iter(flat.values()))["posterior"]
    names = [n for n in posterior.data_vars if n in {*posterior.data_vars}]
    floats = [n for n in names if posterior[n].dtype.kind == "f"]
    continuous = _continuous(posterior, floats)
    labels = ", ".join(f"<code>{escape(label)}</code>" for label in flat)
    section.add(
        f"<p>For k = {design[0]} (design seed {design[1]}): {labels}, each thinned to its first "
        f"{draws} draws so that the fits (one chain) and MCMC (several chains) align.</p>"
    )
    if floats:
        forest_png = figures.arviz_forest_figure(flat, floats)
        spread = _interval_sentence(flat, floats)
        section.add_figure(
            Figure(
                key="forest", png=forest_png, alt="Forest plot of fits and MCMC",
                caption=caption(
                    "for each coefficient, the fits' intervals should overlap MCMC's; "
                    "<code>azp.plot_forest</code>, mean and 89% equal-tailed interval "
                    "(thick: 50%).",
                    spread,
                ),
            )
        )
    if continuous:
        dist_png = figures.arviz_dist_figure(flat, continuous)
        section.add_figure(
            Figure(
                key="posterior_dist", png=dist_png,
                alt="Posterior distributions of the continuous parameters",
                caption=caption(
                    "the shape of each fit's marginal against MCMC's; a Gaussian family "
                    "cannot show the spike-and-slab mixture that MCMC finds for predictors "
                    "with uncertain inclusion (<code>azp.plot_dist</code>, KDE).",
                    _sd_sentence(flat, continuous),
                ),
            )
        )
    section.add(_summary_tables(trees, names))
    return section


def _accuracy_sentence(scored: pd.DataFrame) -> str:
    fits = scored[scored["method"] != "mcmc"]
    if fits.empty:
        return "no fits."
    fastest = fits.sort_values("seconds").iloc[0]
    best = fits.sort_values("mean_abs_error").iloc[0]
    text = (f"the fastest fit is <code>{fastest['method']}</code> ({fastest['family']}, "
            f"{fmt(fastest['seconds'])} s, error {fmt(fastest['mean_abs_error'])}); the most "
            f"accurate is <code>{best['method']}</code> ({best['family']}, "
            f"{fmt(best['seconds'])} s, error {fmt(best['mean_abs_error'])})")
    mcmc = scored[scored["method"] == "mcmc"]
    if len(mcmc):
        text += (f"; MCMC takes {fmt(mcmc['seconds'].mean())} s for error "
                 f"{fmt(mcmc['mean_abs_error'].mean())}")
    return text + "."


def _interval_sentence(trees: dict, names: Sequence[str]) -> str:
    """Share of (fit, coefficient) means inside MCMC's 89% interval."""
    if "mcmc" not in trees:
        return "there is no MCMC run to compare with."
    reference = trees["mcmc"]["posterior"]
    inside, total = 0, 0
    for label, tree in trees.items():
        if label == "mcmc":
            continue
        for name in names:
            lo = reference[name].quantile(0.055, dim=("chain", "draw"))
            hi = reference[name].quantile(0.945, dim=("chain", "draw"))
            mean = tree["posterior"][name].mean(("chain", "draw"))
            inside += int(((mean >= lo) & (mean <= hi)).sum())
            total += int(mean.size)
    return (f"{inside} of {total} posterior means of the fits lie inside MCMC's 89% "
            "interval.")


def _sd_sentence(trees: dict, names: Sequence[str]) -> str:
    if "mcmc" not in trees:
        return "there is no MCMC run to compare with."
    reference = trees["mcmc"]["posterior"]
    ratios = []
    for label, tree in trees.items():
        if label == "mcmc":
            continue
        for name in names:
            ratio = (tree["posterior"][name].std(("chain", "draw"))
                     / reference[name].std(("chain", "draw")))
            ratios.extend(np.asarray(ratio).ravel().tolist())
    ratios = np.asarray(ratios, dtype=float)
    ratios = ratios[np.isfinite(ratios)]
    if not ratios.size:
        return "no standard deviations to compare."
    return (f"the fits' posterior standard deviations are {fmt(np.median(ratios))}× MCMC's "
            f"(median over fits and coefficients; range {fmt(ratios.min())}–"
            f"{fmt(ratios.max())}).")


def _summary_tables(trees: dict, names: Sequence[str]) -> str:
    import arviz as az

    frames = []
    # One-chain variational draws make ArviZ log a shape notice per variable; r_hat is NaN.
    loggers = [logging.getLogger(name) for name in ("arviz", "arviz_base", "arviz_stats")]
    levels = [logger.level for logger in loggers]
    for label, tree in trees.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for logger in loggers:
                logger.setLevel(logging.WARNING)
            try:
                summary = az.summary(tree, var_names=list(names))
            finally:
                for logger, level in zip(loggers, levels, strict=True):
                    logger.setLevel(level)
        summary = summary[[c for c in summary.columns
                           if c in ("mean", "sd", "eti89_lb", "eti89_ub", "ess_bulk",
                                    "ess_tail", "r_hat")]]
        summary.insert(0, "fit", label)
        summary.insert(1, "parameter", summary.index)
        frames.append(summary.reset_index(drop=True))
    table = pd.concat(frames, ignore_index=True)
    return (
        "<h3><code>az.summary</code> of each DataTree</h3>"
        '<p class="note">r_hat needs several chains, so it is empty (—) for the one-chain '
        "variational draws.</p>"
        + _fold(html_table(table, table_id="summary-table"), len(table))
    )


def _fold(table: str, rows: int, limit: int = 30) -> str:
    """Long tables start folded (a click on the summary opens them)."""
    if rows <= limit:
        return table
    return f"<details><summary>Show all {rows} rows</summary>{table}</details>"
