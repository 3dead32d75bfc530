"""Chapter 12, reproducibility: what produced this page, so that it can be produced again.

It records the package versions, the date and git commit, the command, every seed (from the
config and from the tables), the config itself, each input file with its checksum, and each
rule's runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.chapters.performance import job_times
from pmcgrad.study.report.inputs import ReportInputs, file_digest
from pmcgrad.study.report.page import Section, escape, fmt, html_table
from pmcgrad.study.report.provenance import config_seeds

__all__ = ["CHAPTER", "ReproducibilitySummary", "config_text", "render_reproducibility",
           "summarise_reproducibility"]

# Which column of which table holds its seeds.
_SEED_COLUMNS = (("gradient", "seed"), ("chain", "seed"), ("optimisation", "seed"),
                 ("model", "design_seed"), ("model_traces", "design_seed"), ("sbn", "seed"))


@dataclass(frozen=True)
class ReproducibilitySummary:
    """Everything chapter 12 lists."""

    provenance: dict  # versions, date, commit, command
    seeds: pd.DataFrame  # where, seeds
    config: str | None  # the config as YAML
    files: pd.DataFrame  # input, path, bytes, sha256 (first 12)
    rules: pd.DataFrame | None  # per rule: jobs, total, longest, max RSS
    rules_caption: str


def summarise_reproducibility(inputs: ReportInputs) -> ReproducibilitySummary:
    """Seeds, config, input checksums and per-rule runtimes from the loaded inputs."""
    seeds = [{"where": f"config: <code>{escape(k)}</code>", "seeds": escape(str(v))}
             for k, v in config_seeds(inputs.config).items()]
    for name, column in _SEED_COLUMNS:
        frame = getattr(inputs, name)
        if frame is not None:
            values = sorted(pd.unique(frame[column]).tolist())
            seeds.append({"where": f"{name}.csv: <code>{column}</code>",
                          "seeds": escape(", ".join(map(str, values)))})
    files = pd.DataFrame(
        [{"input": escape(label), "path": f"<code>{escape(str(path))}</code>",
          "bytes": path.stat().st_size, "sha256 (first 12)": file_digest(path)}
         for label, path in inputs.files.items()],
        columns=["input", "path", "bytes", "sha256 (first 12)"])
    times, source = job_times(inputs.job_times, inputs.runtimes)
    rules, rules_caption = None, ""
    if times is not None:
        rules = (times.groupby("rule")
                 .agg(jobs=("job", "size"), total_seconds=("seconds", "sum"),
                      max_seconds=("seconds", "max"), max_rss_mb=("max_rss_mb", "max"))
                 .reset_index().sort_values("total_seconds", ascending=False))
        rules.columns = ["rule", "jobs", "total (s)", "longest job (s)", "max RSS (MB)"]
        if rules["max RSS (MB)"].isna().all():
            rules = rules.drop(columns="max RSS (MB)")
        rules_caption = (f"From {escape(source)}: {len(times)} job(s), "
                         f"{fmt(times['seconds'].sum())} s of job time in all")
    return ReproducibilitySummary(dict(inputs.provenance), pd.DataFrame(seeds),
                                  config_text(inputs.config) if inputs.config else None, files,
                                  rules, rules_caption)


def render_reproducibility(summary: ReproducibilitySummary) -> Section:
    """Facts, versions, seeds, config, inputs and rule runtimes."""
    section = CHAPTER.section()
    facts = summary.provenance
    items = [f"<li>Built {escape(str(facts.get('date', 'at an unknown date')))}"
             + (f" from commit <code>{escape(facts['commit'])}</code>" if facts.get("commit")
                else "") + ".</li>"]
    if facts.get("command"):
        items.append(f"<li>Command: <code>{escape(facts['command'])}</code></li>")
    section.add(f"<ul>{''.join(items)}</ul>")
    versions = facts.get("versions", {})
    section.add("<h3>Package versions</h3>", html_table(
        pd.DataFrame({"package": list(versions), "version": list(versions.values())}),
        table_id="versions-table", numeric=[]))
    section.add("<h3>Seeds</h3>")
    if len(summary.seeds):
        section.add(html_table(summary.seeds, raw=["where", "seeds"], numeric=[],
                               table_id="seeds-table"))
    else:
        section.add('<p class="note">No seeds recorded (no config and no tables).</p>')
    section.add("<h3>Configuration</h3>")
    if summary.config:
        section.add(f'<pre id="config">{escape(summary.config)}</pre>')
    else:
        section.add('<p class="note">No configuration was passed to the report.</p>')
    section.add("<h3>Inputs</h3>")
    if len(summary.files):
        section.add(html_table(summary.files, raw=["input", "path", "sha256 (first 12)"],
                               table_id="inputs-table"))
    else:
        section.add('<p class="note">No input files.</p>')
    section.add("<h3>Runtime of each rule</h3>")
    if summary.rules is None:
        section.add('<p class="note" id="no-rule-runtimes">No Snakemake benchmark files were '
                    "given, so rule runtimes are not recorded here.</p>")
    else:
        section.add(html_table(summary.rules, table_id="rules-table",
                               caption=summary.rules_caption))
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


def _build(inputs: ReportInputs) -> Section:
    return render_reproducibility(summarise_reproducibility(inputs))


CHAPTER = Chapter("reproducibility", "12. Reproducibility",
                  needs=("gradient", "chain", "optimisation", "model", "model_traces", "sbn",
                         "runtimes", "benchmarks"), build=_build)
