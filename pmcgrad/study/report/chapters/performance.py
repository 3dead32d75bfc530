"""Chapter 11, performance: the benchmark suite's ratios (``make bench``) and where the study's
own wall time went.

It shows what pmcgrad costs against the references the suite times it with (a ratio of 1 is
parity), and which rules and jobs of this run were slow: the jobs' times come from their
Snakemake benchmark files (:func:`pmcgrad.study.runtimes.job_times`), else from runtimes.csv.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table, png_bytes
from pmcgrad.study.report.style import WIDTH, new_figure, placeholder_png, plain_log_ticks
from pmcgrad.study.report.wording import caption

__all__ = [
    "CHAPTER",
    "MAX_BARS",
    "PerformanceSummary",
    "benchmark_rows",
    "fold",
    "is_ratio",
    "job_times",
    "render_performance",
    "summarise_performance",
]

MAX_BARS = 40  # per benchmark module


@dataclass(frozen=True)
class PerformanceSummary:
    """The suite's measurements, the jobs' times and the other runtimes.csv rows."""

    benchmarks: pd.DataFrame  # source, name, value, unit, note
    times: pd.DataFrame | None  # rule, job, seconds, max_rss_mb
    times_source: str
    others: pd.DataFrame | None  # runtimes.csv rows that are neither ratios nor seconds


def is_ratio(unit: str) -> bool:
    """Whether a unit names a ratio (drawn against a line at 1)."""
    unit = str(unit).strip().lower()
    return "ratio" in unit or unit in ("x", "×", "speedup")


def job_times(times: pd.DataFrame | None, runtimes: pd.DataFrame | None
              ) -> tuple[pd.DataFrame | None, str]:
    """Wall time of every job, ``(rule, job, seconds, max_rss_mb)``, and where it came from:
    the Snakemake benchmark files when given, else runtimes.csv's rows in seconds (named
    ``<rule>/<job>`` by the workflow)."""
    if times is not None:
        return times, "Snakemake benchmark files"
    if runtimes is None:
        return None, ""
    rows = runtimes[runtimes["unit"].str.strip() == "s"]
    if rows.empty:
        return None, ""
    return pd.DataFrame({"rule": rows["name"].str.split("/").str[0], "job": rows["name"],
                         "seconds": rows["value"], "max_rss_mb": math.nan}), "results/runtimes.csv"


def benchmark_rows(runtimes: pd.DataFrame | None, suite: pd.DataFrame | None) -> pd.DataFrame:
    """Every benchmark measurement with its ``source``: the suite's tables (source: the
    module) and the ratios in results/runtimes.csv. Empty when none."""
    frames = []
    if runtimes is not None:
        frames.append(runtimes[runtimes["unit"].map(is_ratio)].assign(
            source="results/runtimes.csv"))
    if suite is not None:
        frames.append(suite)
    if not frames:
        return pd.DataFrame(columns=["source", "name", "value", "unit", "note"])
    return pd.concat(frames, ignore_index=True)[["source", "name", "value", "unit", "note"]]


def summarise_performance(runtimes: pd.DataFrame | None, suite: pd.DataFrame | None,
                          times: pd.DataFrame | None) -> PerformanceSummary:
    """The measurements chapter 11 shows."""
    jobs, source = job_times(times, runtimes)
    others = None
    if runtimes is not None:
        unit = runtimes["unit"]
        others = runtimes[~unit.map(is_ratio) & (unit.str.strip() != "s")]
    return PerformanceSummary(benchmark_rows(runtimes, suite), jobs, source, others)


def render_performance(summary: PerformanceSummary) -> Section:
    """One part per benchmark module, then the jobs' wall times."""
    section = CHAPTER.section()
    rows = summary.benchmarks
    if rows.empty:
        section.add('<p id="no-benchmarks">No benchmarks were run for this report (no '
                    "<code>benchmarks/out/*.csv</code> from <code>python -m benchmarks</code> "
                    "and no ratio in <code>results/runtimes.csv</code>), so there are no "
                    "benchmark ratios to show.</p>")
    else:
        section.add("<p>Measurements of the benchmark suite (<code>make bench</code>, "
                    "<code>python -m benchmarks</code>), one part per module. A ratio "
                    "compares pmcgrad with the reference its note names; the notes also "
                    "state the targets.</p>")
    for source, group in rows.groupby("source", sort=False):
        _add_module(section, str(source), group)
    times = summary.times
    if times is not None:
        per_rule = times.groupby("rule")["seconds"].agg(["size", "sum", "max"])
        busiest = per_rule["sum"].idxmax()
        slowest = times.loc[times["seconds"].idxmax()]
        run = (f"{len(times)} jobs took {fmt(times['seconds'].sum())} s of wall time in all; "
               f"rule <code>{escape(busiest)}</code> took the most "
               f"({fmt(per_rule.loc[busiest, 'sum'])} s over {per_rule.loc[busiest, 'size']} "
               f"jobs), and the slowest job was <code>{escape(str(slowest['job']))}</code> "
               f"({fmt(slowest['seconds'])} s).")
        section.add("<h3>Where the study's time went</h3>")
        section.add_figure(Figure(
            key="job_times", png=_job_times_figure(times), alt="Wall time of each job",
            caption=caption(f"one dot per job, by rule (from {escape(summary.times_source)}); "
                            "the per-rule totals are in section 12.", run),
        ))
    if summary.others is not None and len(summary.others):
        section.add("<h3>Other measurements</h3>",
                    fold(html_table(summary.others, table_id="other-runtimes-table"),
                         len(summary.others)))
    return section


def fold(table: str, rows: int, limit: int = 30) -> str:
    """Long tables start folded (a click on the summary opens them)."""
    if rows <= limit:
        return table
    return f"<details><summary>All {rows} rows</summary>{table}</details>"


def _targets(notes: pd.Series) -> str:
    """'n of m targets met' from notes that say 'target ...: PASS|FAIL'."""
    passed = int(notes.str.contains(r"target[^;]*:\s*PASS", regex=True).sum())
    failed = int(notes.str.contains(r"target[^;]*:\s*FAIL", regex=True).sum())
    if passed + failed == 0:
        return ""
    return f"; {passed} of {passed + failed} stated targets met"


def _add_module(section: Section, source: str, group: pd.DataFrame) -> None:
    ratios = group[group["unit"].map(is_ratio) & np.isfinite(group["value"])]
    drawable = ratios[ratios["value"] > 0]
    section.add(f"<h3>{escape(source)}</h3>")
    if len(ratios):
        ordered = ratios.sort_values("value")
        low, top = ordered.iloc[0], ordered.iloc[-1]
        if len(ratios) == 1:
            run = (f"one ratio, <code>{escape(str(top['name']))}</code> = "
                   f"{fmt(top['value'])}{_targets(group['note'])}.")
        else:
            run = (f"{len(ratios)} ratios, from {fmt(low['value'])} "
                   f"(<code>{escape(str(low['name']))}</code>) to {fmt(top['value'])} "
                   f"(<code>{escape(str(top['name']))}</code>); "
                   f"{int((ratios['value'] <= 1).sum())} at or below 1"
                   f"{_targets(group['note'])}.")
        if len(ratios) > MAX_BARS:
            run += f" The figure shows the {MAX_BARS} largest; the table lists all."
        if len(drawable):
            slug = "".join(c if c.isalnum() else "_" for c in source)
            section.add_figure(Figure(
                key=f"bench_{slug}", png=_runtimes_figure(drawable, max_bars=MAX_BARS),
                alt=f"Benchmark ratios of {source}",
                caption=caption("the line at 1 marks parity with the reference; a longer bar "
                                "is a larger ratio (for time ratios, slower than the "
                                "reference).", run),
            ))
        else:
            section.add(f"<p><b>In this run:</b> {run}</p>")
    table = group.drop(columns="source")
    section.add(fold(html_table(table, table_id=f"bench-{escape(source)}", raw=[],
                                numeric=["value"]), len(table)))


def _runtimes_figure(runtimes: pd.DataFrame, max_bars: int = 25) -> bytes:
    """Horizontal bars of benchmark values, one panel per unit (its largest ``max_bars``),
    each bar labelled with its value; a log axis when the values span more than 20x."""
    import matplotlib.pyplot as plt

    runtimes = runtimes[np.isfinite(runtimes["value"]) & (runtimes["value"] > 0)]
    runtimes = (runtimes.sort_values("value", ascending=False).groupby("unit", sort=False)
                .head(max_bars))
    if runtimes.empty:
        return placeholder_png("No positive, finite value to draw.")
    units = list(dict.fromkeys(runtimes["unit"]))
    heights = [max(1.2, 0.26 * (runtimes["unit"] == u).sum() + 0.7) for u in units]
    fig, axes = plt.subplots(len(units), 1, figsize=(WIDTH, sum(heights) + 0.3),
                             layout="constrained", squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, unit in zip(axes[:, 0], units, strict=True):
        sub = runtimes[runtimes["unit"] == unit]
        values = sub["value"].to_numpy(dtype=float)
        positions = np.arange(len(sub))
        ax.barh(positions, values, color="#4c78a8", height=0.7)
        ax.set_yticks(positions, sub["name"].astype(str), fontsize=8)
        ax.set_ylim(len(sub) - 0.5, -0.5)
        if values.max() / values.min() > 20:
            ax.set_xscale("log")
            plain_log_ticks(ax, "x")
        for y, value in zip(positions, values, strict=True):
            ax.annotate(f"{value:.3g}", (value, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        if "ratio" in unit:
            ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"value ({unit})" if unit else "value")
        ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def _job_times_figure(times: pd.DataFrame) -> bytes:
    """Wall time of each job (dots, log scale), one row per rule, busiest rule on top."""
    order = times.groupby("rule")["seconds"].sum().sort_values(ascending=False).index.tolist()
    fig, axes = new_figure(1, 1, height_per_row=max(1.6, 0.45 * len(order) + 0.6))
    ax = axes[0, 0]
    rng = np.random.default_rng(0)  # jitter only
    for row, rule in enumerate(order):
        seconds = times.loc[times["rule"] == rule, "seconds"].to_numpy(dtype=float)
        ax.scatter(np.maximum(seconds, 1e-3), row + rng.uniform(-0.18, 0.18, seconds.size),
                   s=16, alpha=0.7, color="#4c78a8", linewidths=0)
    ax.set_yticks(range(len(order)),
                  [f"{r} ({(times['rule'] == r).sum()} jobs, "
                   f"{times.loc[times['rule'] == r, 'seconds'].sum():.0f} s)" for r in order])
    ax.invert_yaxis()
    ax.set_xscale("log")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("wall time of one job (s, log scale)")
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_performance(summarise_performance(inputs.runtimes, inputs.benchmark_suite,
                                                    inputs.job_times))


CHAPTER = Chapter("performance", "11. Performance",
                  needs=("runtimes", "benchmarks", "benchmark_suite"), build=_build)
