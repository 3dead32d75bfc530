"""Sections 8 and 9: performance (benchmarks, job wall times) and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pmcgrad.study.report import figures
from pmcgrad.study.report.inputs import StudyInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table
from pmcgrad.study.report.sections import caption, new_section

__all__ = ["benchmark_rows", "job_times", "section_performance", "section_reproducibility"]

MAX_BARS = 40  # per benchmark module


def _is_ratio(unit: str) -> bool:
    unit = str(unit).strip().lower()
    return "ratio" in unit or unit in ("x", "×", "speedup")


def job_times(inputs: StudyInputs) -> tuple[pd.DataFrame | None, str]:
    """Wall time of every job, ``(rule, job, seconds, max_rss_mb)``, and where it came from.

    Snakemake benchmark files when given, else runtimes.csv's rows in seconds (named
    ``<rule>/<job>`` by the workflow).
    """
    if inputs.benchmarks is not None:
        return inputs.benchmarks, "Snakemake benchmark files"
    runtimes = inputs.runtimes
    if runtimes is None:
        return None, ""
    rows = runtimes[runtimes["unit"].astype(str).str.strip() == "s"]
    if rows.empty:
        return None, ""
    names = rows["name"].astype(str)
    frame = pd.DataFrame({
        "rule": names.str.split("/").str[0],
        "job": names,
        "seconds": pd.to_numeric(rows["value"], errors="coerce"),
        "max_rss_mb": math.nan,
    })
    return frame, "results/runtimes.csv"


def benchmark_rows(inputs: StudyInputs) -> pd.DataFrame:
    """Every benchmark measurement with its ``source``: the suite's ``benchmarks/out/*.csv``
    (source: the module) and the ratios in results/runtimes.csv. Empty when none."""
    frames = []
    if inputs.runtimes is not None:
        ratios = inputs.runtimes[inputs.runtimes["unit"].fillna("").map(_is_ratio)]
        frames.append(ratios.assign(source="results/runtimes.csv"))
    if inputs.bench is not None:
        frames.append(inputs.bench)
    if not frames:
        return pd.DataFrame(columns=["name", "value", "unit", "note", "source"])
    rows = pd.concat(frames, ignore_index=True)
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows["unit"] = rows["unit"].fillna("").astype(str)
    rows["note"] = rows["note"].fillna("").astype(str)
    return rows[["source", "name", "value", "unit", "note"]]


def _targets(notes: pd.Series) -> str:
    """'n of m targets met' from notes that say 'target ...: PASS|FAIL'."""
    passed = int(notes.str.contains(r"target[^;]*:\s*PASS", regex=True).sum())
    failed = int(notes.str.contains(r"target[^;]*:\s*FAIL", regex=True).sum())
    if passed + failed == 0:
        return ""
    return f"; {passed} of {passed + failed} stated targets met"


def section_performance(inputs: StudyInputs) -> Section:
    section = new_section("performance")
    rows = benchmark_rows(inputs)
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
        ratios = group[group["unit"].map(_is_ratio) & np.isfinite(group["value"])]
        drawable = ratios[ratios["value"] > 0]
        section.add(f"<h3>{escape(str(source))}</h3>")
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
            slug = "".join(c if c.isalnum() else "_" for c in str(source))
        if len(drawable):
            section.add_figure(Figure(
                key=f"bench_{slug}", png=figures.runtimes_figure(drawable, max_bars=MAX_BARS),
                alt=f"Benchmark ratios of {source}",
                caption=caption("the line at 1 marks parity with the reference; a longer bar "
                                "is a larger ratio (for time ratios, slower than the "
                                "reference).", run),
            ))
        elif len(ratios):
            section.add(f"<p><b>In this run:</b> {run}</p>")
        table = group.drop(columns="source")
        section.add(_maybe_folded(html_table(table, table_id=f"bench-{escape(str(source))}",
                                             raw=[], numeric=["value"]), len(table)))
    times, source = job_times(inputs)
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
            key="job_times", png=figures.job_times_figure(times), alt="Wall time of each job",
            caption=caption(f"one dot per job, by rule (from {escape(source)}); the per-rule "
                            "totals are in section 10.", run),
        ))
    runtimes = inputs.runtimes
    others = None
    if runtimes is not None:
        unit = runtimes["unit"].fillna("").astype(str)
        others = runtimes[~unit.map(_is_ratio) & (unit.str.strip() != "s")]
    if others is not None and len(others):
        section.add("<h3>Other measurements</h3>",
                    _maybe_folded(html_table(others, table_id="other-runtimes-table"),
                                  len(others)))
    return section


def _maybe_folded(table: str, rows: int, limit: int = 30) -> str:
    if rows <= limit:
        return table
    return f"<details><summary>All {rows} rows</summary>{table}</details>"


# --- 9. reproducibility ---------------------------------------------------------------------

def section_reproducibility(inputs: StudyInputs, *, versions: dict[str, str], date: str,
                            commit: str | None, command: str | None = None) -> Section:
    from pmcgrad.study.report.inputs import file_digest
    from pmcgrad.study.report.provenance import config_seeds

    section = new_section("reproducibility")
    facts = [f"<li>Built {escape(date)}"
             + (f" from commit <code>{escape(commit)}</code>" if commit else "") + ".</li>"]
    if command:
        facts.append(f"<li>Command: <code>{escape(command)}</code></li>")
    section.add(f"<ul>{''.join(facts)}</ul>")
    section.add("<h3>Package versions</h3>", html_table(
        pd.DataFrame({"package": list(versions), "version": list(versions.values())}),
        table_id="versions-table", numeric=[]))

    section.add("<h3>Seeds</h3>")
    seeds = config_seeds(inputs.config)
    rows = [{"where": f"config: <code>{escape(k)}</code>", "seeds": escape(str(v))}
            for k, v in seeds.items()]
    for name, column in (("gradient", "seed"), ("chain", "seed"), ("optimisation", "seed"),
                         ("model", "design_seed"), ("model_traces", "design_seed")):
        frame = inputs.table(name)
        if frame is not None and column in frame.columns:
            values = sorted(pd.unique(frame[column]).tolist())
            rows.append({"where": f"{name}.csv: <code>{column}</code>",
                         "seeds": escape(", ".join(map(str, values)))})
    if rows:
        section.add(html_table(pd.DataFrame(rows), raw=["where", "seeds"], numeric=[],
                               table_id="seeds-table"))
    else:
        section.add('<p class="note">No seeds recorded (no config and no tables).</p>')

    section.add("<h3>Configuration</h3>")
    if inputs.config:
        text = config_text(inputs.config)
        section.add(f'<pre id="config">{escape(text)}</pre>')
    else:
        section.add('<p class="note">No configuration was passed to the report.</p>')

    section.add("<h3>Inputs</h3>")
    if inputs.files:
        files = pd.DataFrame(
            [{"input": escape(label), "path": f"<code>{escape(str(path))}</code>",
              "bytes": path.stat().st_size, "sha256 (first 12)": file_digest(path)}
             for label, path in inputs.files.items()]
        )
        section.add(html_table(files, raw=["input", "path", "sha256 (first 12)"],
                               table_id="inputs-table"))
    else:
        section.add('<p class="note">No input files.</p>')

    section.add("<h3>Runtime of each rule</h3>")
    times, source = job_times(inputs)
    if times is None:
        section.add('<p class="note" id="no-rule-runtimes">No Snakemake benchmark files were '
                    "given, so rule runtimes are not recorded here.</p>")
    else:
        per_rule = (times.groupby("rule")
                    .agg(jobs=("job", "size"), total_seconds=("seconds", "sum"),
                         max_seconds=("seconds", "max"), max_rss_mb=("max_rss_mb", "max"))
                    .reset_index().sort_values("total_seconds", ascending=False))
        per_rule.columns = ["rule", "jobs", "total (s)", "longest job (s)", "max RSS (MB)"]
        if per_rule["max RSS (MB)"].isna().all():
            per_rule = per_rule.drop(columns="max RSS (MB)")
        section.add(html_table(per_rule, table_id="rules-table",
                               caption=f"From {escape(source)}: {len(times)} job(s), "
                                       f"{fmt(times['seconds'].sum())} s of job time in all"))
    return section


def config_text(config) -> str:
    """The config as YAML (JSON where PyYAML, of the ``study`` extra, is not installed)."""
    try:
        import yaml
    except ImportError:
        import json

        return json.dumps(_plain(config), indent=2)
    return yaml.safe_dump(_plain(config), sort_keys=False, default_flow_style=None)


def _plain(value):
    """Config values as plain YAML-safe Python objects (Snakemake wraps them)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
