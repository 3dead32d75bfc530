"""Chapter 8, the sigmoid belief network on binarised digits: training curves, gradient
variance during training, held-out log-likelihood, and what the model reconstructs and
generates.

It tests the estimators where the model study cannot: many local latents (k codes per image),
where the estimator's variance decides how fast the training ELBO rises. The image grid is one
of the npz files the workflow passes in (``sbn_images``), chosen by the k, estimator and seed
saved inside it.
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
    ks: list[int]
    final: pd.DataFrame  # the last checkpoint of every (k, estimator, seed)
    table: pd.DataFrame  # per (k, estimator): held-out bound mean and sd, ELBO, seconds
    best: dict  # the table's row with the best held-out bound
    worst: dict
    grid: dict | None  # GRID_PANELS arrays and k, estimator, seed; None without images


def choose_grid(images: Sequence[Path], estimator: str, k: int) -> dict | None:
    """The image grid of ``estimator`` at ``k`` (its lowest seed), else the first given one;
    ``None`` without images. Reads the k, estimator and seed saved in each file."""
    grids = []
    for path in images:
        with np.load(path) as data:
            grids.append({name: data[name] for name in data.files} | {"path": Path(path)})
    if not grids:
        return None
    matching = [g for g in grids if str(g["estimator"]) == estimator and int(g["k"]) == k]
    return min(matching, key=lambda g: int(g["seed"])) if matching else grids[0]


def summarise_sbn(sbn: pd.DataFrame, images: Sequence[Path] = ()) -> SbnSummary:
    """Final checkpoints, the per-estimator table and the grid of the best fit."""
    final = sbn[sbn["step"] == sbn.groupby(["k", "estimator", "seed"])["step"].transform("max")]
    table = (final.groupby(["k", "estimator"])
             .agg(heldout=("heldout_log_likelihood", "mean"),
                  heldout_sd=("heldout_log_likelihood", "std"),
                  train_elbo=("train_elbo", "mean"), seconds=("seconds", "mean"),
                  seeds=("seed", "size"))
             .reset_index().sort_values(["k", "heldout"], ascending=[True, False]))
    best = table.sort_values("heldout", ascending=False).iloc[0].to_dict()
    worst = table.sort_values("heldout").iloc[0].to_dict()
    return SbnSummary(sbn, registry_order(sbn["estimator"]),
                      sorted(int(k) for k in sbn["k"].unique()), final, table, best, worst,
                      choose_grid(images, best["estimator"], int(best["k"])))


def render_sbn(summary: SbnSummary) -> Section:
    """Curves, held-out bounds, the table and the image grid."""
    section = CHAPTER.section()
    best, worst = summary.best, summary.worst
    run = (f"the best held-out bound is {fmt(best['heldout'])} nats per image, by "
           f"<code>{best['estimator']}</code> at k = {int(best['k'])}; the worst is "
           f"{fmt(worst['heldout'])} (<code>{worst['estimator']}</code>, k = {int(worst['k'])}).")
    section.add(
        "<p>A one-layer sigmoid belief network (k binary codes per image) fitted with "
        "<code>pmcgrad.fit</code> to binarised 8×8 digits, one fit per estimator and seed; the "
        "held-out bound is an importance-sampled lower bound on log p(x) for test images, "
        "with local q(z | x) fitted at fixed W and c.</p>")
    section.add_figure(Figure(
        key="sbn_curves", png=_curves_png(summary.sbn, summary.order, summary.ks),
        alt="SBN training ELBO against steps and wall time, and logit-gradient variance",
        caption=caption("higher ELBO is better; bands span the seeds. Lower gradient variance "
                        "should go with faster ELBO gains.", run)))
    section.highlights.append(f"Sigmoid belief network: {run}")
    section.add_figure(Figure(
        key="sbn_heldout", png=_heldout_png(summary.final, summary.order),
        alt="Held-out log-likelihood bound per estimator",
        caption=caption("one point per seed at the end of training; higher is better.", run)))
    table = summary.table.rename(columns={
        "heldout": "held-out bound / image", "heldout_sd": "sd over seeds",
        "train_elbo": "training ELBO / image", "seconds": "wall time (s)"})
    section.add(html_table(table, table_id="sbn-table",
                           caption="Final checkpoint per k and estimator, mean over seeds."))
    grid = summary.grid
    if grid is not None:
        agreement = float(np.mean((grid["reconstruction"] > 0.5) == grid["test"]))
        section.add_figure(Figure(
            key="sbn_images", png=_grid_png(grid), alt="Test digits, reconstructions, samples",
            caption=caption(
                "reconstructions should resemble the test digits above them; samples show what "
                "the model generates from z ~ Bernoulli(1/2).",
                f"fit {grid['estimator']}, k{int(grid['k'])}, seed {int(grid['seed'])}; mean "
                f"pixel agreement of the reconstructions with the test images is "
                f"{fmt(agreement)}.")))
    return section


def _bands(ax, sbn: pd.DataFrame, x: str, y: str, order, k: int) -> None:
    """Mean over seeds as a line, the range over seeds as a band, per estimator."""
    rows = sbn[sbn["k"] == k]
    for name in order:
        one = rows[rows["estimator"] == name]
        if one.empty:
            continue
        stats = one.groupby("step").agg(x=(x, "mean"), mean=(y, "mean"), lo=(y, "min"),
                                        hi=(y, "max"))
        colour = estimator_style(name)["color"]
        ax.plot(stats["x"], stats["mean"], label=name, color=colour)
        ax.fill_between(stats["x"], stats["lo"], stats["hi"], alpha=0.2, color=colour)


def _curves_png(sbn: pd.DataFrame, order, ks) -> bytes:
    fig, axes = plt.subplots(len(ks), 3, figsize=(10, 3.0 * len(ks) + 0.6), squeeze=False,
                             layout="constrained")
    for row, k in enumerate(ks):
        _bands(axes[row, 0], sbn, "step", "train_elbo", order, k)
        _bands(axes[row, 1], sbn, "seconds", "train_elbo", order, k)
        _bands(axes[row, 2], sbn, "step", "logit_gradient_variance", order, k)
        axes[row, 2].set_yscale("log")
        axes[row, 0].set(xlabel="step", ylabel=f"k = {k}: training ELBO / image (nats)")
        axes[row, 1].set(xlabel="wall time (s, compile included)")
        axes[row, 2].set(xlabel="step", ylabel="logit-gradient variance")
    axes[0, 0].legend(fontsize=8)
    return png_bytes(fig)


def _heldout_png(final: pd.DataFrame, order) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    for offset, k in enumerate(sorted(final["k"].unique())):
        for i, name in enumerate(order):
            values = final[(final["k"] == k) & (final["estimator"] == name)]
            ax.plot([i + 0.15 * offset] * len(values), values["heldout_log_likelihood"],
                    ls="none", color=estimator_style(name)["color"],
                    label=f"k = {k}" if i == 0 else None, marker="os^D"[offset % 4])
    ax.set_xticks(range(len(order)), order)
    ax.set_ylabel("held-out log-likelihood bound / image")
    ax.legend(fontsize=8)
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


CHAPTER = Chapter("sbn", "8. Sigmoid belief network on digits", needs=("sbn", "sbn_images"),
                  build=_build,
                  requires=("sbn", "sigmoid belief network results", "results/sbn.csv"))
