"""Chapter 9 (performance): ratios and the jobs' times, from whichever source there is."""

import math

import pandas as pd

from pmcgrad.study.columns import RUNTIME_COLUMNS
from pmcgrad.study.report.chapters.performance import is_ratio, summarise_performance


def test_times_fall_back_to_runtimes_csv():
    """Without benchmark files, the seconds rows of runtimes.csv give the jobs' times."""
    runtimes = pd.DataFrame([["gradient/qubo/k1", 2.0, "s", ""],
                             ["chain/k1", 1.0, "s", ""],
                             ["fit_ratio", 1.4, "ratio", "target <= 2: PASS"],
                             ["rss", 300.0, "MB", ""]], columns=RUNTIME_COLUMNS)
    summary = summarise_performance(runtimes, None, None)
    assert summary.times_source == "results/runtimes.csv"
    assert summary.times["rule"].tolist() == ["gradient", "chain"]
    assert math.isnan(summary.times["max_rss_mb"].iloc[0])
    assert summary.benchmarks["name"].tolist() == ["fit_ratio"]
    assert summary.others["name"].tolist() == ["rss"]


def test_ratio_units():
    assert is_ratio("ratio") and is_ratio(" X ") and not is_ratio("s")
