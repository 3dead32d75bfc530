"""pmcgrad.study.runtimes: the one parser of Snakemake's benchmark files."""

import math

import pytest

from pmcgrad.study.runtimes import benchmark_name, job_times, read_benchmark, runtime_rows
from pmcgrad.study.tables import TableError

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"


def _benchmark(tmp_path, name="results/benchmarks/gradient/qubo/k1.tsv", lines=("1.5",)):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"{s}\t0:00:01\t100.0\t1\t1\t1\t0\t0\t9\t1.2" for s in lines]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_runtime_rows(tmp_path):
    """A benchmark file becomes one runtimes.csv row per repeat, named by its path."""
    (row,) = runtime_rows([_benchmark(tmp_path)])
    assert row == {"name": "gradient/qubo/k1", "value": 1.5, "unit": "s",
                   "note": "max_rss 100 MB; cpu 1.2 s"}


def test_job_times_average_the_repeats(tmp_path):
    """The report's view: rule, job, mean seconds and memory per file."""
    times = job_times([_benchmark(tmp_path, lines=("1.0", "3.0"))])
    assert times.to_dict("records")[0] | {"file": None} == {
        "file": None, "rule": "gradient", "job": "gradient/qubo/k1", "seconds": 2.0,
        "max_rss_mb": 100.0}
    assert job_times([]) is None


def test_names_follow_the_workflow_layout(tmp_path):
    """The job's name is its path under the last benchmarks/ folder, without .tsv."""
    assert benchmark_name("results/benchmarks/gradient/toy_t0.49/k2.tsv") == "gradient/toy_t0.49/k2"
    assert benchmark_name("elsewhere/fit.tsv") == "fit"


def test_a_damaged_benchmark_file_is_named(tmp_path):
    """An empty file, one without 's' or with a wall time that is no number names itself."""
    path = tmp_path / "b.tsv"
    path.write_text("")
    with pytest.raises(TableError, match=r"b\.tsv' cannot be read"):
        read_benchmark(path)
    path.write_text("x\ty\n1\t2\n")
    with pytest.raises(TableError, match=r"b\.tsv' has no wall time"):
        read_benchmark(path)
    bad = _benchmark(tmp_path, lines=("1.0", "oops"))
    with pytest.raises(TableError, match=r"k1\.tsv', line 3, column 's': 'oops'"):
        read_benchmark(bad)
    path.write_text("s\tmax_rss\n2.0\tNA\n")
    assert math.isnan(read_benchmark(path)["max_rss"].iloc[0])
