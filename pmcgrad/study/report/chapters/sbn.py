"""Chapter 10, sigmoid belief networks: training curves, gradient variance during training,
the held-out log-likelihood bound against training time, and what the model reconstructs and
generates.

It tests the estimators where the model study cannot: many local latents (k codes per image),
where the estimator's variance decides how fast the training ELBO rises. Each data set (the
binarised digits; images drawn from a known SBN, with minibatches, in the full study) gets its
own curves; on synthetic images the known SBN's exact held-out log-likelihood is the ceiling.
The image grid is one of the npz files the workflow passes in (``sbn_images``), chosen by the
data set, k, estimator and seed saved inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import estimator_style
from pmcgrad.study.report.wording import caption, registry_order
from pmcgrad.study.sbn_study import GRID_PANELS

__all__ = ["CHAPTER", "SbnSummary", "choose_grid", "render_sbn", "summarise_sbn"]


@dataclass(frozen=True)
class SbnSummary:
    """The curves, each fit's final checkpoint, and the chosen image grid."""

    sbn: pd.DataFrame  # sbn.csv
    order: list[str]
    panels: list[tuple[str, int]]  # (dataset, k) of each row of curves
    final: pd.DataFrame  # the last checkpoint of every (dataset, k, estimator, seed)
    table: pd.DataFrame  # per (dataset, k, estimator): held-out bound mean and sd, ...
    best: dict  # per data set: the table's row with the best held-out bound
    worst: dict
    grid: dict | None  # GRID_PANELS arrays and dataset, k, estimator, seed; None without


def choose_grid(images: Sequence[Path], estimator: str, k: int,
                dataset: str = "digits") -> dict | None:
    """The image grid of ``estimator`` at ``k`` on ``dataset`` (its lowest seed), else the
    first given one; ``None`` without images. Reads what is saved in each file (a file
    without a data set is one of the digits)."""
    grids = []
    for path in images:
        with np.load(path) as data:
            grids.append({"dataset": "digits"} | {name: data[name] for name in data.files}
                         | {"path": Path(path)})
    if not grids:
        return None
    matching = [g for g in grids if str(g["estimator"]) == estimator and int(g["k"]) == k
                and str(g["dataset"]) == dataset]
    return min(matching, key=lambda g: int(g["seed"])) if matching else grids[0]


def summarise_sbn(sbn: pd.DataFrame, images: Sequence[Path] = ()) -> SbnSummary:
    """Final checkpoints, the per-estimator table, the best and worst fit of each data set and
    the grid of the best fit of the first data set."""
    fit = ["dataset", "k", "estimator", "seed"]
    final = sbn[sbn["step"] == sbn.groupby(fit)["step"].transform("max")]
    table = (final.groupby(["dataset", "k", "estimator"], sort=False)
             .agg(heldout=("heldout_log_likelihood", "mean"),
                  heldout_sd=("heldout_log_likelihood", "std"),
                  reference=("reference_log_likelihood", "first"),
                  train_elbo=("train_elbo", "mean"), seconds=("seconds", "mean"),
                  seeds=("seed", "size"))
             .reset_index().sort_values(["dataset", "k", "heldout"],
                                        ascending=[True, True, False]))
    datasets = list(dict.fromkeys(sbn["dataset"]))
    best = {name: table[table["dataset"] == name].sort_values("heldout", ascending=False)
            .iloc[0].to_dict() for name in datasets}
    worst = {name: table[table["dataset"] == name].sort_values("heldout").iloc[0].to_dict()
             for name in datasets}
    panels = [(name, int(k)) for name in datasets
              for k in sorted(sbn.loc[sbn["dataset"] == name, "k"].unique())]
    first = best[datasets[0]]
    return SbnSummary(sbn, registry_order(sbn["estimator"]), panels, final, table, best,
                      worst, choose_grid(images, first["estimator"], int(first["k"]),
                                         datasets[0]))


def render_sbn(summary: SbnSummary) -> Section:
    """Curves, held-out bounds against time, the table and the image grid."""
    section = CHAPTER.section()
    runs = []
    for name, best in summary.best.items():
        worst = summary.worst[name]
        text = (f"on {_DATASET_NAMES.get(name, name)}, the best held-out bound is "
                f"{fmt(best['heldout'])} nats per image, by <code>{best['estimator']}</code> at "
                f"k = {int(best['k'])} after {fmt(best['seconds'])} s of training; the worst is "
                f"{fmt(worst['heldout'])} (<code>{worst['estimator']}</code>, k = "
                f"{int(worst['k'])})")
        if np.isfinite(best["reference"]):
            text += (f"; the SBN that drew the images scores {fmt(best['reference'])} nats per "
                     "test image (exact)")
        runs.append(text)
    run = "; ".join(runs) + "."
    section.add(
        "<p>A one-layer sigmoid belief network (k binary codes per image) fitted with "
        "<code>pmcgrad.fit</code>, one fit per estimator and seed, to binarised 8×8 digits "
        "and, where the config lists it, to images drawn from a known SBN (trained on "
        "minibatches); the held-out bound is an importance-sampled lower bound on log p(x) "
        "for test images, with local q(z | x) fitted at fixed W and c. On synthetic images "
        "the known SBN's exact log-likelihood (its codes enumerated) is the ceiling.</p>")
    section.add_figure(Figure(
        key="sbn_curves", png=_curves_png(summary.sbn, summary.order, summary.panels),
        alt="SBN training ELBO against steps and wall time, and logit-gradient variance",
        caption=caption("higher ELBO is better; bands span the seeds. Lower gradient variance "
                        "should go with faster ELBO gains.", run)))
    section.highlights.append(f"Sigmoid belief networks: {run}")
    section.add_figure(Figure(
        key="sbn_heldout", png=_heldout_time_png(summary.sbn, summary.order, summary.panels),
        alt="Held-out log-likelihood bound against training time",
        caption=caption("the held-out bound at each checkpoint against the wall time of "
                        "training so far (mean over seeds); higher is better, and the dashed "
                        "line is the generating SBN's exact value where there is one.", run)))
    table = summary.table.rename(columns={
        "heldout": "held-out bound / image", "heldout_sd": "sd over seeds",
        "reference": "generating SBN / image", "train_elbo": "training ELBO / image",
        "seconds": "wall time (s)"})
    section.add(html_table(table, table_id="sbn-table",
                           caption="Final checkpoint per data set, k and estimator, mean over "
                                   "seeds."))
    grid = summary.grid
    if grid is not None:
        agreement = float(np.mean((grid["reconstruction"] > 0.5) == grid["test"]))
        section.add_figure(Figure(
            key="sbn_images", png=_grid_png(grid), alt="Test images, reconstructions, samples",
            caption=caption(
                "reconstructions should resemble the test images above them; samples show "
                "what the model generates from z ~ Bernoulli(1/2).",
                f"fit {grid['estimator']}, {grid['dataset']}, k{int(grid['k'])}, seed "
                f"{int(grid['seed'])}; mean pixel agreement of the reconstructions with the "
                f"test images is {fmt(agreement)}.")))
    return section


_DATASET_NAMES = {"digits": "the digits", "synthetic": "images from a known SBN"}


def _bands(ax, sbn: pd.DataFrame, x: str, y: str, order, dataset: str, k: int) -> None:
    """Mean over seeds as a line, the range over seeds as a band, per estimator."""
    rows = sbn[(sbn["dataset"] == dataset) & (sbn["k"] == k)]
    for name in order:
        one = rows[rows["estimator"] == name]
        if one.empty:
            continue
        stats = one.groupby("step").agg(x=(x, "mean"), mean=(y, "mean"), lo=(y, "min"),
                                        hi=(y, "max"))
        colour = estimator_style(name)["color"]
        ax.plot(stats["x"], stats["mean"], label=name, color=colour)
        ax.fill_between(stats["x"], stats["lo"], stats["hi"], alpha=0.2, color=colour)


def _curves_png(sbn: pd.DataFrame, order, panels) -> bytes:
    fig, axes = plt.subplots(len(panels), 3, figsize=(10, 3.0 * len(panels) + 0.6),
                             squeeze=False, layout="constrained")
    for row, (dataset, k) in enumerate(panels):
        _bands(axes[row, 0], sbn, "step", "train_elbo", order, dataset, k)
        _bands(axes[row, 1], sbn, "seconds", "train_elbo", order, dataset, k)
        _bands(axes[row, 2], sbn, "step", "logit_gradient_variance", order, dataset, k)
        axes[row, 2].set_yscale("log")
        axes[row, 0].set(xlabel="step",
                         ylabel=f"{dataset}, k = {k}:\ntraining ELBO / image (nats)")
        axes[row, 1].set(xlabel="wall time (s, compile included)")
        axes[row, 2].set(xlabel="step", ylabel="logit-gradient variance")
    axes[0, 0].legend(fontsize=8)
    return png_bytes(fig)


def _heldout_time_png(sbn: pd.DataFrame, order, panels) -> bytes:
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(10, 3.0 * rows + 0.4), squeeze=False,
                             layout="constrained")
    for index, (dataset, k) in enumerate(panels):
        ax = axes[index // columns, index % columns]
        _bands(ax, sbn, "seconds", "heldout_log_likelihood", order, dataset, k)
        reference = sbn.loc[(sbn["dataset"] == dataset) & (sbn["k"] == k),
                            "reference_log_likelihood"].dropna()
        if len(reference):
            ax.axhline(float(reference.iloc[0]), color="black", linestyle="--", linewidth=1,
                       label="generating SBN")
        ax.set(xlabel="training wall time (s)", ylabel="held-out bound / image (nats)",
               title=f"{dataset}, k = {k}")
        ax.title.set_fontsize(10)
    for index in range(len(panels), rows * columns):
        axes[index // columns, index % columns].axis("off")
    axes[0, 0].legend(fontsize=8)
    return png_bytes(fig)


def _grid_png(grid: dict) -> bytes:
    count = len(grid["test"])
    fig, axes = plt.subplots(3, count, figsize=(count * 0.8, 2.6), layout="constrained")
    for r, name in enumerate(GRID_PANELS):
        for c in range(count):
            axes[r, c].imshow(grid[name][c], cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=7)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_sbn(summarise_sbn(inputs.sbn, inputs.sbn_images))


CHAPTER = Chapter("sbn", "10. Sigmoid belief networks", needs=("sbn", "sbn_images"),
                  build=_build,
                  requires=("sbn", "sigmoid belief network results", "results/sbn.csv"))
