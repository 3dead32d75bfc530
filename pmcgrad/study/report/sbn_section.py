"""The report's section on the sigmoid belief network fitted to binarised digits."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pmcgrad.study.report.figures import estimator_style
from pmcgrad.study.report.inputs import StudyInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.sections import absent, caption, new_section, registry_order

__all__ = ["section_sbn"]


def _bands(ax, sbn: pd.DataFrame, x: str, y: str, order, k: int) -> None:
    rows = sbn[sbn["k"] == k]
    for name in order:
        one = rows[rows["estimator"] == name]
        if one.empty:
            continue
        stats = one.groupby("step").agg(x=(x, "mean"), mean=(y, "mean"), lo=(y, "min"),
                                        hi=(y, "max"))
        colour = estimator_style(name).get("color")
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
            ax.plot([i + 0.15 * offset] * len(values), values["heldout_log_likelihood"], ls="none",
                    color=estimator_style(name).get("color"), label=f"k = {k}" if i == 0 else None,
                    marker="os^D"[offset % 4])
    ax.set_xticks(range(len(order)), order)
    ax.set_ylabel("held-out log-likelihood bound / image")
    ax.legend(fontsize=8)
    return png_bytes(fig)


def _grid_png(grid: dict) -> bytes:
    names = ["test", "reconstruction", "samples"]
    count = len(grid["test"])
    fig, axes = plt.subplots(3, count, figsize=(count * 0.8, 2.6), layout="constrained")
    for r, name in enumerate(names):
        for c in range(count):
            axes[r, c].imshow(grid[name][c], cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=7)
    return png_bytes(fig)


def section_sbn(inputs: StudyInputs) -> Section:
    section = new_section("sbn")
    sbn = inputs.sbn
    if sbn is None:
        section.add(absent("sigmoid belief network results", "results/sbn.csv"))
        return section
    order = registry_order(sbn["estimator"])
    ks = sorted(int(k) for k in sbn["k"].unique())
    final = sbn[sbn["step"] == sbn.groupby(["k", "estimator", "seed"])["step"].transform("max")]
    summary = (final.groupby(["k", "estimator"])
               .agg(heldout=("heldout_log_likelihood", "mean"),
                    heldout_sd=("heldout_log_likelihood", "std"),
                    train_elbo=("train_elbo", "mean"), seconds=("seconds", "mean"),
                    seeds=("seed", "size"))
               .reset_index().sort_values(["k", "heldout"], ascending=[True, False]))
    best = summary.sort_values("heldout", ascending=False).iloc[0]
    worst = summary.sort_values("heldout").iloc[0]
    run = (f"the best held-out bound is {fmt(best['heldout'])} nats per image, by "
           f"<code>{best['estimator']}</code> at k = {int(best['k'])}; the worst is "
           f"{fmt(worst['heldout'])} (<code>{worst['estimator']}</code>, k = {int(worst['k'])}).")
    section.add(
        "<p>A one-layer sigmoid belief network (k binary codes per image) fitted with "
        "<code>pmcgrad.fit</code> to binarised 8×8 digits, one fit per estimator and seed; the "
        "held-out bound is an importance-sampled lower bound on log p(x) for test images, "
        "with local q(z | x) fitted at fixed W and c.</p>")
    section.add_figure(Figure(
        key="sbn_curves", png=_curves_png(sbn, order, ks),
        alt="SBN training ELBO against steps and wall time, and logit-gradient variance",
        caption=caption("higher ELBO is better; bands span the seeds. Lower gradient variance "
                        "should go with faster ELBO gains.", run)))
    section.highlights.append(f"Sigmoid belief network: {run}")
    section.add_figure(Figure(
        key="sbn_heldout", png=_heldout_png(final, order),
        alt="Held-out log-likelihood bound per estimator",
        caption=caption("one point per seed at the end of training; higher is better.", run)))
    table = summary.rename(columns={
        "heldout": "held-out bound / image", "heldout_sd": "sd over seeds",
        "train_elbo": "training ELBO / image", "seconds": "wall time (s)"})
    section.add(html_table(table, table_id="sbn-table",
                           caption="Final checkpoint per k and estimator, mean over seeds."))
    path = inputs.files.get("sbn")
    npz = sorted(Path(path).parent.glob("sbn/k*/*/s*.npz")) if path is not None else []
    if npz:
        chosen = next((p for p in npz if p.parent.name == best["estimator"]
                       and p.parent.parent.name == f"k{int(best['k'])}"), npz[0])
        with np.load(chosen) as data:
            grid = {name: data[name] for name in ("test", "reconstruction", "samples")}
        label = f"{chosen.parent.name}, {chosen.parent.parent.name}, seed {chosen.stem[1:]}"
        section.add_figure(Figure(
            key="sbn_images", png=_grid_png(grid), alt="Test digits, reconstructions, samples",
            caption=caption(
                "reconstructions should resemble the test digits above them; samples show what "
                "the model generates from z ~ Bernoulli(1/2).",
                f"fit {label}; mean pixel agreement of the reconstructions with the test "
                f"images is {fmt(float(np.mean((grid['reconstruction'] > 0.5) == grid['test'])))}"
                ".")))
    return section
