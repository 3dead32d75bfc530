"""The tiny config end to end: tables, reruns, an interrupted run, and a cluster executor.

One session-scoped run of ``config/tiny.yaml`` (``tiny_run`` in conftest.py; target ``study``:
everything but the report) serves every test; the tests that delete outputs restore them byte
for byte.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

import pmcgrad
from pmcgrad.study import columns
from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC, NOT_A_FIT
from tests.study.conftest import REPO, SNAKEMAKE, TINY, snakemake, snakemake_command

pytestmark = pytest.mark.slow

TABLES = {
    "gradient.csv": columns.GRADIENT_COLUMNS,
    "chain.csv": columns.CHAIN_COLUMNS,
    "optimisation.csv": columns.OPTIMISATION_COLUMNS,
    "model.csv": columns.MODEL_COLUMNS,
    "model_traces.csv": columns.MODEL_TRACE_COLUMNS,
    "runtimes.csv": columns.RUNTIME_COLUMNS,
    "sbn.csv": columns.SBN_COLUMNS,
    "scale.csv": columns.SCALE_COLUMNS,
    "categorical.csv": columns.CATEGORICAL_COLUMNS,
}
# Columns that may hold NaN, and when (every other cell must be a value).
MAY_BE_NAN = {
    ("gradient.csv", "max_bias_z"): lambda rows: rows["variance"] < 1e-12,  # se ~ rounding
    ("chain.csv", "closed_form"): lambda rows: rows["k"] > 1,
    ("model.csv", "elbo"): lambda rows: rows["family"] == NOT_A_FIT,  # mcmc, exact posterior
    # a fit's answers: none for MCMC and the references
    ("model.csv", "inclusion_corrected"): lambda rows: rows["family"] == NOT_A_FIT,
    ("model.csv", "pareto_k"): lambda rows: rows["family"] == NOT_A_FIT,
    # only images drawn from a known SBN have an exact log-likelihood
    ("sbn.csv", "reference_log_likelihood"): lambda rows: rows["dataset"] != "synthetic",
    ("categorical.csv", "max_bias_z"): lambda rows: rows["variance"] < 1e-12,
    # no untimed warm-up call, hence no time for it, unless the config asks for one
    ("scale.csv", "warmup_seconds"): lambda rows: pd.Series(
        not yaml.safe_load(Path(TINY).read_text())["scale"]["warmup"], index=rows.index),
}


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" table of a run or dry run: ``{rule: count}``."""
    counts, in_table = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats:"):
            in_table, counts = True, {}
        elif in_table and (row := re.match(r"^(\w+)\s+(\d+)$", line.strip())):
            if row.group(1) != "total":
                counts[row.group(1)] = int(row.group(2))
            else:
                in_table = False
    return counts


@pytest.fixture(scope="module")
def tiny(tiny_run) -> Path:
    """A working directory where the tiny config has run to completion."""
    return tiny_run


def read(workdir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(workdir / "results" / name, keep_default_na=False, na_values=["NaN"])


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_follow_the_column_contract(tiny, name):
    """Each table has exactly its contract's columns, rows, and NaN only where allowed."""
    table = read(tiny, name)
    assert list(table.columns) == TABLES[name]
    assert len(table) > 0
    for column in table.columns:
        missing = table[column].isna()
        if (name, column) in MAY_BE_NAN:
            missing &= ~MAY_BE_NAN[(name, column)](table)
        assert not missing.any(), f"{name}: NaN in {column}:\n{table[missing]}"


def test_gradient_table(tiny):
    """Every estimator appears; every row flagged unbiased shows its bias within error."""
    table = read(tiny, "gradient.csv")
    assert set(table["estimator"]) == set(pmcgrad.estimator_names())
    unbiased = table[table["unbiased"]]
    assert unbiased["bias_within_error"].all(), unbiased[~unbiased["bias_within_error"]]
    naive = table[(table["estimator"] == "uniform_naive") & table["problem"].str.startswith("toy")]
    assert not naive["bias_within_error"].any()
    boundary = table[table["estimator"] == "uniform_boundary"]
    assert (boundary["evaluations_per_draw"] == boundary["k"] + 1).all()
    np.testing.assert_allclose(table["variance_x_evaluations"],
                               table["variance"] * table["evaluations_per_draw"])


def test_chain_table(tiny):
    """Equal evaluations everywhere; at k = 1 the variances match the closed forms."""
    table = read(tiny, "chain.csv")
    assert (table["evaluations"] == 2).all()
    k1 = table[table["k"] == 1]
    error = (k1["variance"] - k1["closed_form"]).abs()
    assert (error <= 4 * k1["variance_se"] + 1e-12).all(), k1


def test_model_outputs(tiny):
    """model.csv has exact, fitted and MCMC rows, and every netcdf it names opens."""
    table = read(tiny, "model.csv")
    assert {MCMC, EXACT_POSTERIOR, "exact"} <= set(table["method"])  # "exact": the estimator
    assert {"meanfield", "fullrank", "bit_conditioned", NOT_A_FIT} == set(table["family"])
    exact = table[table["method"] == EXACT_POSTERIOR]
    assert (exact["family"] == NOT_A_FIT).all() and (exact["netcdf"] == "").all()
    assert (exact["abs_error"] == 0).all()
    assert ((table["inclusion"] >= 0) & (table["inclusion"] <= 1)).all()
    for path in table.loc[table["netcdf"] != "", "netcdf"].unique():
        tree = xr.open_datatree(tiny / path, engine="h5netcdf")
        assert "z" in tree["posterior"].data_vars
    traces = read(tiny, "model_traces.csv")
    assert (traces.groupby(["estimator", "family"])["seconds"].apply(
        lambda s: s.is_monotonic_increasing)).all()


def test_second_run_does_nothing(tiny):
    """With nothing changed, Snakemake has nothing to do."""
    run = snakemake("study", "--cores", "2", "-n", cwd=tiny)
    assert "Nothing to be done" in run.stdout + run.stderr


def test_deleting_an_output_reruns_only_its_dependents(tiny):
    """Deleting one fit's netcdf reruns that fit and the tables on it, with the same numbers.

    (A deleted per-job CSV whose aggregate is still up to date is not rebuilt: Snakemake
    treats it like a temporary file. The saved fits are targets, so they are.)
    """
    netcdf = tiny / "results" / "models" / "k4_d1" / "meanfield" / "disarm" / "s0.nc"
    table = tiny / "results" / "model" / "k4_d1" / "meanfield" / "disarm" / "s0.csv"
    before = pd.read_csv(table)
    netcdf.unlink()
    planned = snakemake("study", "--cores", "2", "-n", cwd=tiny)
    assert job_counts(planned.stdout + planned.stderr) == {
        "model_fit": 1, "model_table": 1, "model_traces_table": 1, "runtimes": 1, "study": 1}
    snakemake("study", "--cores", "2", cwd=tiny)
    after = pd.read_csv(table)
    # The same seeds give the same fit; only the timing differs.
    pd.testing.assert_frame_equal(after.drop(columns="seconds"), before.drop(columns="seconds"))
    assert netcdf.exists()


def test_interrupted_run_finishes_the_rest(tiny):
    """Ctrl-C mid-run, then rerun: only the unfinished jobs run; results equal the first run's."""
    folder = tiny / "results" / "gradient"
    originals = {path: path.read_bytes() for path in sorted(folder.rglob("*.csv"))}
    table = tiny / "results" / "gradient.csv"
    combined = table.read_bytes()
    for path in [*originals, table]:
        path.unlink()

    # On a loaded machine the remaining jobs can finish before the interrupt lands; then there
    # is nothing left to rerun, so the outputs are removed and the run interrupted again.
    for _attempt in range(3):
        present = _interrupt_after_two_outputs(tiny, originals)
        if len(present) < len(originals):
            break
        for path in [*present, table]:
            path.unlink(missing_ok=True)
    assert len(present) < len(originals), (
        "every job finished despite the interrupt, three times; the test process had SIGINT "
        f"handler {signal.getsignal(signal.SIGINT)} and blocked signals "
        f"{signal.pthread_sigmask(signal.SIG_BLOCK, [])}"
    )
    newest = max(present, key=lambda path: path.stat().st_mtime_ns)
    finished = {path: path.stat().st_mtime_ns for path in present if path != newest}
    assert finished and len(present) < len(originals), "interrupt came too early or too late"

    rerun = snakemake("results/gradient.csv", "--cores", "2", cwd=tiny)
    redone = job_counts(rerun.stdout + rerun.stderr).get("gradient", 0)
    assert len(originals) - len(present) <= redone <= len(originals) - len(finished)
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime  # finished jobs were not redone
    for path, content in originals.items():
        assert path.read_bytes() == content
    assert table.read_bytes() == combined


def _deliverable_sigint() -> None:
    """In the child before exec: SIGINT unblocked and at its default, whatever the test
    process inherited, so that Snakemake installs its Ctrl-C handler. (A shell without job
    control starts a background command, ``make test &``, with SIGINT ignored; Snakemake would
    inherit that and run every job to the end.)"""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_after_two_outputs(tiny, originals) -> list:
    """Start the gradient jobs on one core, Ctrl-C the run once two outputs exist, and return
    the outputs present after it stopped."""
    process = subprocess.Popen(
        snakemake_command("results/gradient.csv", "--cores", "1"), cwd=tiny,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_deliverable_sigint,
    )
    try:
        # With one core the jobs run one after another: once a second output appears, the
        # job that wrote the first has finished (the newest may still be running).
        deadline = time.monotonic() + 300
        while (sum(path.exists() for path in originals) < 2
               and time.monotonic() < deadline):
            time.sleep(0.05)
        # Interrupt the whole run, as Ctrl-C in a terminal would (its own process group).
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return [path for path in originals if path.exists()]


def test_cluster_generic_executor(tiny, tmp_path):
    """Each job as its own detached process (cluster-generic): the same bytes as a local run."""
    submit = tmp_path / "submit.sh"
    submitted = tmp_path / "submitted.txt"
    submit.write_text(
        "#!/usr/bin/env bash\n"
        "# A stand-in for sbatch/qsub: start the job script as its own detached session and\n"
        "# print a job id. No shared memory with the submitting Snakemake is possible.\n"
        f'setsid nohup bash "$1" > "$1.out" 2>&1 < /dev/null &\n'
        f'echo "$!" >> {submitted}\n'
        'echo "local-$!"\n'
    )
    submit.chmod(0o755)
    workdir = tmp_path / "work"
    workdir.mkdir()
    snakemake("results/chain.csv", "--executor", "cluster-generic",
              "--cluster-generic-submit-cmd", str(submit), "--jobs", "2", "--latency-wait", "10",
              cwd=workdir)
    pids = submitted.read_text().split()
    assert len(pids) == len(set(pids)) == 2  # chain k1, k4; the aggregation is a localrule
    for name in ["chain/k1.csv", "chain/k4.csv", "chain.csv"]:
        assert (workdir / "results" / name).read_bytes() == (tiny / "results" / name).read_bytes()
    assert not math.isnan(read(workdir, "chain.csv")["variance"].sum())


def _copy(tiny: Path, tmp_path: Path) -> Path:
    """A copy of the tiny run's working directory, results and Snakemake's records included."""
    work = tmp_path / "work"
    shutil.copytree(tiny, work, symlinks=True)
    return work


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def test_a_damaged_job_table_stops_its_aggregation(tiny, tmp_path):
    """A per-job table cut mid-row, or short of rows, fails where it is concatenated, naming
    the file and the line or the row count, and the aggregate is not written."""
    work = _copy(tiny, tmp_path)
    job = work / "results" / "chain" / "k1.csv"
    text = job.read_text()
    job.write_text(text[:-7])
    run = _run("results/chain.csv", "--cores", "1", cwd=work)
    assert run.returncode != 0
    log = (work / "logs" / "chain_table.log").read_text()
    assert "results/chain/k1.csv' is truncated: its last line (line 8)" in log, log[-2000:]
    assert not (work / "results" / "chain.csv").exists()
    job.write_text("".join(text.splitlines(keepends=True)[:-2]))
    run = _run("results/chain.csv", "--cores", "1", cwd=work)
    assert run.returncode != 0
    log = (work / "logs" / "chain_table.log").read_text()
    assert "results/chain/k1.csv' has 5 rows, expected 7 for its job" in log, log[-2000:]


def test_a_failed_report_keeps_the_last_good_one(tiny, tmp_path):
    """The report is rebuilt when an input changes; if the rebuild fails (a damaged table
    here), the previous report is still there, byte for byte."""
    work = _copy(tiny, tmp_path)
    snakemake("reports/index.html", "--cores", "1", cwd=work)
    report = work / "reports" / "index.html"
    good = report.read_bytes()
    chain = work / "results" / "chain.csv"
    chain.write_text(chain.read_text()[:-7])
    run = _run("reports/index.html", "--cores", "1", cwd=work)
    assert run.returncode != 0
    assert "results/chain.csv' is truncated" in (work / "logs" / "report.log").read_text()
    assert report.read_bytes() == good


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _job_process(root: int, script: str) -> int | None:
    for pid in _descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if script.encode() in cmdline and b"python" in cmdline:
            return pid
    return None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_fit_job_that_receives_a_signal_fails_and_writes_nothing(signum, tmp_path):
    """SIGINT or SIGTERM sent to a running fit job alone (as a cluster scheduler cancelling
    it would): the job exits 128 + signal, Snakemake marks it failed, and none of its outputs
    exist, so a rerun fits again (a fit used to catch the interrupt, write a partial fit and
    exit 0)."""
    config = yaml.safe_load(TINY.read_text())
    config["model"].update(max_steps=1_000_000, families={"meanfield": ["disarm"]})
    configfile = tmp_path / "long_fit.yaml"
    configfile.write_text(yaml.safe_dump(config))
    target = "results/model/k4_d1/meanfield/disarm/s0.csv"
    command = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), target,
               "--cores", "1", "--configfile", str(configfile)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    log = tmp_path / "logs" / "model" / "k4_d1" / "meanfield" / "disarm" / "s0.log"
    try:
        deadline = time.monotonic() + 300
        # The fit has compiled and is stepping: the interrupt lands inside pmcgrad.fit.
        while not (log.exists() and "first block of steps done" in log.read_text()):
            assert time.monotonic() < deadline and process.poll() is None, "the fit never ran"
            time.sleep(0.2)
        job = _job_process(process.pid, "model_fit.py")
        assert job is not None
        os.kill(job, signum)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0
    assert f"non-zero exit status {128 + signum}" in output, output[-3000:]
    assert f"job interrupted by {signal.Signals(signum).name}" in log.read_text()
    for name in (target, target.replace(".csv", ".trace.csv"),
                 "results/models/k4_d1/meanfield/disarm/s0.nc"):
        assert not (tmp_path / name).exists(), name
