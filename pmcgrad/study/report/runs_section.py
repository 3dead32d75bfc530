"""Sections 8 and 9: performance (benchmarks, job wall times) and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pmcgrad.study.report import figures
from pmcgrad.study.report.inputs import StudyInputs
from pmcgrad.study.report.page import Figure, Section, escape, fmt, html_table
from pmcgrad.study.report.sections import caption, new_section

__all__ = ["job_times", "section_performance", "section_reproducibility"]


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


def section_performance(inputs: StudyInputs) -> Section:
    section = new_section("performance")
    runtimes = inputs.runtimes
    ratios = None
    if runtimes is not None:
        runtimes = runtimes.copy()
        runtimes["value"] = pd.to_numeric(runtimes["value"], errors="coerce")
        runtimes["unit"] = runtimes["unit"].fillna("").astype(str)
        ratios = runtimes[runtimes["unit"].map(_is_ratio)]
    if ratios is None or ratios.empty:
        where = ("results/runtimes.csv is absent" if runtimes is None
                 else "results/runtimes.csv holds no ratio")
        section.add(f'<p id="no-benchmarks">No benchmarks were run for this report ({where}), '
                    "so there are no benchmark ratios to show.</p>")
    else:
        ordered = ratios.sort_values("value")
        low, top = ordered.iloc[0], ordered.iloc[-1]
        run = (f"{len(ratios)} ratio(s), from {fmt(low['value'])} "
               f"(<code>{escape(str(low['name']))}</code>) to {fmt(top['value'])} "
               f"(<code>{escape(str(top['name']))}</code>).")
        if len(ratios) > 25:
            run += " The figure shows the 25 largest; the table lists all."
        section.add("<p>Benchmark ratios written by the study (results/runtimes.csv): each "
                    "compares pmcgrad with the reference named in its note.</p>")
        section.add_figure(Figure(
            key="runtimes", png=figures.runtimes_figure(ratios), alt="Benchmark ratios",
            caption=caption("the line at 1 marks parity with the reference; longer bars are "
                            "slower than it.", run),
        ))
        section.add(_maybe_folded(html_table(ratios, table_id="runtimes-table"), len(ratios)))
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
                            "totals are in section 9.", run),
        ))
    others = None
    if runtimes is not None:
        others = runtimes[~runtimes["unit"].map(_is_ratio)
                          & (runtimes["unit"].str.strip() != "s")]
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
