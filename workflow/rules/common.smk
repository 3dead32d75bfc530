# Shared by the other .smk files: the config parsed once into typed settings, the wildcard
# constraints, the expected rows of every per-job table, and the localrules.
#
# Lists of other rules' outputs are built with expand(rules.<rule>.output.<name>, ...) in the
# rule that needs them, so every path is written once, in the rule that makes it.

from pathlib import Path

# Imported under their own names: the Snakefile shares its namespace with Snakemake's
# workflow module, where a global called `chain` (itertools) must not be shadowed.
from pmcgrad.study.categorical import rows_per_job as categorical_rows_per_job
from pmcgrad.study.chain import rows_per_job as chain_rows_per_job
from pmcgrad.study.columns import MCMC, NOT_A_FIT
from pmcgrad.study.gradient import rows_per_job as gradient_rows_per_job
from pmcgrad.study.model_study import reference_rows
from pmcgrad.study.optimisation import rows_per_job as optimisation_rows_per_job
from pmcgrad.study.sbn_study import rows_per_job as sbn_rows_per_job
from pmcgrad.study.objectives import PROBLEM_PATTERN
from pmcgrad.study.scale import DESIGNS
from pmcgrad.study.settings import StudySettings
from pmcgrad.vi import FAMILIES

# The config, validated against the schema by the Snakefile, parsed once; estimator and
# family names are checked against the registry here, naming the field, before any job runs.
SETTINGS = StudySettings.from_config(config)


wildcard_constraints:
    problem=PROBLEM_PATTERN,
    k=r"[0-9]+",
    K=r"[0-9]+",
    design_seed=r"[0-9]+",
    seed=r"[0-9]+",
    estimator=r"[A-Za-z0-9_]+",
    family="|".join(FAMILIES),
    design="|".join(DESIGNS),
    dataset=r"[a-z]+",


# Aggregations only check and concatenate CSVs: run them on the submitting machine, not as
# cluster jobs.
localrules:
    all,
    study,
    gradient_table,
    chain_table,
    optimisation_table,
    model_table,
    model_traces_table,
    sbn_table,
    scale_table,
    categorical_table,
    runtimes,


def gradient_jobs():
    """Wildcard values of the gradient jobs, as expand(..., zip, **gradient_jobs()) takes them."""
    jobs = SETTINGS.gradient.jobs()
    return {"problem": [problem.name for problem, _ in jobs], "k": [k for _, k in jobs]}


def gradient_rows():
    return [gradient_rows_per_job(SETTINGS.gradient, k) for _, k in SETTINGS.gradient.jobs()]


def optimisation_jobs():
    jobs = SETTINGS.optimisation.jobs()
    return {"k": [k for k, _ in jobs], "estimator": [name for _, name in jobs]}


def fit_jobs(data=None):
    jobs = SETTINGS.model.fit_jobs(data)
    return {field: [getattr(job, field) for job in jobs]
            for field in ("k", "design_seed", "family", "estimator", "seed")}


def datasets():
    data = SETTINGS.model.datasets
    return {"k": [d.k for d in data], "design_seed": [d.design_seed for d in data]}


def sbn_jobs():
    jobs = SETTINGS.sbn.jobs()
    return {"dataset": [data for data, _, _, _ in jobs], "k": [k for _, k, _, _ in jobs],
            "estimator": [name for _, _, name, _ in jobs],
            "seed": [seed for _, _, _, seed in jobs]}


def model_tables():
    """Reference, fit and MCMC tables of every data set, in that order (model.csv's row
    order)."""
    tables = []
    for data in SETTINGS.model.datasets:
        where = {"k": data.k, "design_seed": data.design_seed}
        tables += expand(rules.model_exact.output.table, **where)
        tables += expand(rules.model_fit.output.table, zip, **fit_jobs(data))
        tables += expand(rules.model_mcmc.output.table, **where)
    return tables


def model_rows():
    """Rows of each table of model_tables(): two per predictor for the references (exact
    posterior, mean-field optimum), one per predictor for a fit or MCMC."""
    return [rows for data in SETTINGS.model.datasets
            for rows in [reference_rows(data.k)]
            + [data.k] * (len(SETTINGS.model.fit_jobs(data)) + 1)]


def model_netcdfs():
    """Every saved DataTree: the fits', then MCMC's."""
    return (expand(rules.model_fit.output.netcdf, zip, **fit_jobs())
            + expand(rules.model_mcmc.output.netcdf, zip, **datasets()))


def scale_jobs():
    """Wildcards of the scale jobs, as expand(..., zip, **scale_jobs()) takes them."""
    jobs = SETTINGS.scale.jobs()
    return {field: [getattr(job, field) for job in jobs]
            for field in ("design", "k", "family", "method")}


def scale_reference(wildcards):
    """The MCMC reference a correlated design is measured against (none for an orthogonal
    one, whose reference is a closed form)."""
    if wildcards.design == "correlated":
        return expand(rules.scale_reference.output.table, k=wildcards.k)
    return []


def benchmark_files():
    """The benchmark file of every heavy job (each rule's benchmark: directive)."""
    return (expand(rules.gradient.benchmark, zip, **gradient_jobs())
            + expand(rules.chain.benchmark, k=SETTINGS.chain.jobs())
            + expand(rules.optimisation.benchmark, zip, **optimisation_jobs())
            + expand(rules.model_exact.benchmark, zip, **datasets())
            + expand(rules.model_mcmc.benchmark, zip, **datasets())
            + expand(rules.model_fit.benchmark, zip, **fit_jobs())
            + expand(rules.sbn.benchmark, zip, **sbn_jobs())
            + expand(rules.scale_reference.benchmark, k=SETTINGS.scale.correlated_k)
            + expand(rules.scale.benchmark, zip, **scale_jobs())
            + expand(rules.categorical.benchmark, K=SETTINGS.categorical.jobs()))


def study_tables():
    """The study's tables (columns: pmcgrad/study/columns.py)."""
    return [rules.gradient_table.output.table, rules.chain_table.output.table,
            rules.optimisation_table.output.table, rules.model_table.output.table,
            rules.model_traces_table.output.table, rules.sbn_table.output.table,
            rules.scale_table.output.table, rules.categorical_table.output.table,
            rules.runtimes.output.table]


# The benchmark suite's tables (`make bench`), shown in the report when they exist: the suite
# runs outside the workflow, so what it wrote is listed here, at the workflow's edge.
BENCHMARK_SUITE_TABLES = sorted(str(path) for path in Path("benchmarks/out").glob("*.csv"))


def report_inputs():
    """Each input a report chapter declares (pmcgrad.study.report.REPORT_INPUTS), with its
    files; a chapter that needs an input the workflow does not make stops the DAG here."""
    from pmcgrad.study.report import REPORT_INPUTS

    files = {
        "gradient": rules.gradient_table.output.table,
        "chain": rules.chain_table.output.table,
        "optimisation": rules.optimisation_table.output.table,
        "model": rules.model_table.output.table,
        "model_traces": rules.model_traces_table.output.table,
        "sbn": rules.sbn_table.output.table,
        "sbn_images": expand(rules.sbn.output.images, zip, **sbn_jobs()),
        "scale": rules.scale_table.output.table,
        "categorical": rules.categorical_table.output.table,
        "runtimes": rules.runtimes.output.table,
        "models": model_netcdfs(),
        "benchmarks": benchmark_files(),
        "benchmark_suite": BENCHMARK_SUITE_TABLES,
    }
    missing = sorted(set(REPORT_INPUTS) - set(files))
    if missing:
        raise ValueError(f"report chapters need inputs the workflow does not make: {missing}")
    return {name: files[name] for name in REPORT_INPUTS}
