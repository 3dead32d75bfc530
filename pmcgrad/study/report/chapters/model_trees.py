"""The ArviZ part of chapter 8: the saved DataTrees of one design, MCMC's and a few fits'.

It shows what the inclusion probabilities cannot: the continuous parameters. A forest plot
and posterior densities set the fits beside MCMC, and ``az.summary`` tabulates each. The trees
are the files the workflow passed in (model.csv's ``netcdf_path``), opened with
:func:`pmcgrad.study.report.inputs.open_datatree`, which names a damaged file.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC
from pmcgrad.study.report.inputs import open_datatree
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table, png_bytes
from pmcgrad.study.report.style import WIDTH
from pmcgrad.study.report.wording import caption

__all__ = ["FOREST_PREFERENCE", "MAX_FOREST_FITS", "TreesSummary", "render_trees",
           "summarise_trees"]

#: Estimators whose fits the plots prefer, in order, and how many fits they show beside MCMC.
FOREST_PREFERENCE = ("disarm", "arm", "reinforce_loo", "reinforce")
MAX_FOREST_FITS = 5


@dataclass(frozen=True)
class TreesSummary:
    """The chosen trees, flattened to one chain of equal length, and what they say."""

    design: tuple[int, int]  # (k, design_seed)
    trees: dict[str, object]  # label -> flattened DataTree
    draws: int  # draws per tree after flattening
    floats: list[str]  # float variables (forest plot, summary)
    continuous: list[str]  # float variables without a point mass at 0 (density plot)
    interval_sentence: str
    sd_sentence: str
    summary: pd.DataFrame  # az.summary of each tree


def summarise_trees(fits: pd.DataFrame) -> TreesSummary | None:
    """Open the design's MCMC tree and up to :data:`MAX_FOREST_FITS` fits' (``None`` when no
    fit has a DataTree file)."""
    if "netcdf_path" not in fits.columns:
        return None
    available = fits[fits["netcdf_path"].notna()]
    if available.empty:
        return None
    k, seed = (int(v) for v in available.iloc[0][["k", "design_seed"]])
    design = available[(available["k"] == k) & (available["design_seed"] == seed)]
    rank = {name: i for i, name in enumerate(FOREST_PREFERENCE)}
    candidates = design[~design["method"].isin([MCMC, EXACT_POSTERIOR])].copy()
    if "seed" in candidates.columns and len(candidates):  # one fit per method: the first seed
        candidates = candidates[candidates["seed"] == candidates["seed"].iloc[0]]
    candidates["rank"] = candidates["method"].map(lambda m: rank.get(m, len(rank)))
    chosen = candidates.sort_values(["rank", "family"]).head(MAX_FOREST_FITS)
    raw = {}
    for record in [*design[design["method"] == MCMC].itertuples(index=False),
                   *chosen.itertuples(index=False)]:
        label = record.method if record.method == MCMC else f"{record.method} ({record.family})"
        raw[label] = open_datatree(record.netcdf_path)
    draws = min(1000, *(int(t["posterior"].sizes["chain"] * t["posterior"].sizes["draw"])
                        for t in raw.values()))
    trees = {label: _flat_posterior(tree, draws) for label, tree in raw.items()}
    posterior = next(iter(trees.values()))["posterior"]
    names = list(posterior.data_vars)
    floats = [n for n in names if posterior[n].dtype.kind == "f"]
    continuous = _continuous(posterior, floats)
    return TreesSummary((k, seed), trees, draws, floats, continuous,
                        _interval_sentence(trees, floats), _sd_sentence(trees, continuous),
                        _summary_table(raw, names))


def render_trees(section: Section, summary: TreesSummary | None) -> None:
    """Add the forest and density plots and the ``az.summary`` tables to ``section``."""
    if summary is None:
        section.add('<p class="note">No DataTree of the model study was given, so there are '
                    "no ArviZ plots in this run.</p>")
        return
    labels = ", ".join(f"<code>{escape(label)}</code>" for label in summary.trees)
    section.add(
        f"<p>For k = {summary.design[0]} (design seed {summary.design[1]}): {labels}, each "
        f"thinned to its first {summary.draws} draws so that the fits (one chain) and MCMC "
        "(several chains) align.</p>"
    )
    if summary.floats:
        section.add_figure(Figure(
            key="forest", png=_forest_figure(summary.trees, summary.floats),
            alt="Forest plot of fits and MCMC",
            caption=caption(
                "for each coefficient, the fits' intervals should overlap MCMC's; "
                "<code>azp.plot_forest</code>, mean and 89% equal-tailed interval (thick: 50%).",
                summary.interval_sentence,
            ),
        ))
    if summary.continuous:
        section.add_figure(Figure(
            key="posterior_dist", png=_dist_figure(summary.trees, summary.continuous),
            alt="Posterior distributions of the continuous parameters",
            caption=caption(
                "the shape of each fit's marginal against MCMC's; a Gaussian family cannot "
                "show the spike-and-slab mixture that MCMC finds for predictors with uncertain "
                "inclusion (<code>azp.plot_dist</code>, KDE).",
                summary.sd_sentence,
            ),
        ))
    table = summary.summary
    section.add(
        "<h3><code>az.summary</code> of each DataTree</h3>"
        '<p class="note">r_hat needs several chains, so it is empty (—) for the one-chain '
        "variational draws.</p>"
        + _fold(html_table(table, table_id="summary-table"), len(table))
    )


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


def _continuous(posterior, names) -> list[str]:
    """Float variables without a point mass at zero (so ``effect = z * beta`` is left out)."""
    return [name for name in names
            if posterior[name].values.dtype.kind == "f"
            and float(np.mean(posterior[name].values == 0)) < 0.05]


def _interval_sentence(trees: dict, names: Sequence[str]) -> str:
    """Share of (fit, coefficient) means inside MCMC's 89% interval."""
    if MCMC not in trees:
        return "there is no MCMC run to compare with."
    reference = trees[MCMC]["posterior"]
    inside, total = 0, 0
    for label, tree in trees.items():
        if label == MCMC:
            continue
        for name in names:
            lo = reference[name].quantile(0.055, dim=("chain", "draw"))
            hi = reference[name].quantile(0.945, dim=("chain", "draw"))
            mean = tree["posterior"][name].mean(("chain", "draw"))
            inside += int(((mean >= lo) & (mean <= hi)).sum())
            total += int(mean.size)
    return f"{inside} of {total} posterior means of the fits lie inside MCMC's 89% interval."


def _sd_sentence(trees: dict, names: Sequence[str]) -> str:
    """The fits' posterior standard deviations relative to MCMC's."""
    if MCMC not in trees:
        return "there is no MCMC run to compare with."
    reference = trees[MCMC]["posterior"]
    ratios = []
    for label, tree in trees.items():
        if label == MCMC:
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


def _summary_table(trees: dict, names: Sequence[str]) -> pd.DataFrame:
    """``az.summary`` of every tree, one block of rows per tree."""
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
    return pd.concat(frames, ignore_index=True)


def _rows_of(first, var_names: Sequence[str]) -> int:
    """Panels the variables take: one per coordinate beyond chain and draw."""
    return sum(int(np.prod([s for d, s in first[v].sizes.items()
                            if d not in ("chain", "draw")] or [1])) for v in var_names)


def _forest_figure(trees: dict, var_names: Sequence[str]) -> bytes:
    """``arviz_plots.plot_forest`` comparing several DataTrees (one colour per tree)."""
    import arviz_plots as azp

    n_rows = _rows_of(trees[next(iter(trees))]["posterior"], var_names)
    height = min(12.0, 1.2 + 0.22 * n_rows * max(1, len(trees)) ** 0.5 + 0.3 * n_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pc = azp.plot_forest(
            dict(trees), var_names=list(var_names), combined=True, backend="matplotlib",
            figure_kwargs={"figsize": (WIDTH, height), "layout": "constrained"},
        )
        pc.add_legend("model", loc="outside upper center", ncols=min(4, len(trees)),
                      title="fit")
    fig = pc.viz["figure"].item()
    fig.supxlabel("posterior value (units of the parameter)", fontsize=10)
    return png_bytes(fig)


def _dist_figure(trees: dict, var_names: Sequence[str]) -> bytes:
    """``arviz_plots.plot_dist`` of the continuous parameters, one colour per DataTree."""
    import arviz_plots as azp

    panels = _rows_of(trees[next(iter(trees))]["posterior"], var_names)
    ncols = min(4, panels)
    nrows = int(np.ceil(panels / ncols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pc = azp.plot_dist(
            dict(trees), var_names=list(var_names), backend="matplotlib", kind="kde",
            visuals={"point_estimate_text": False}, col_wrap=ncols,
            figure_kwargs={"figsize": (WIDTH, 2.2 * nrows + 1.0), "layout": "constrained"},
        )
        pc.add_legend("model", loc="outside upper center", ncols=min(4, len(trees)),
                      title="fit")
    fig = pc.viz["figure"].item()
    fig.supxlabel("parameter value (units of the parameter); curves are posterior densities",
                  fontsize=10)
    return png_bytes(fig)


def _fold(table: str, rows: int, limit: int = 30) -> str:
    """Long tables start folded (a click on the summary opens them)."""
    if rows <= limit:
        return table
    return f"<details><summary>Show all {rows} rows</summary>{table}</details>"
