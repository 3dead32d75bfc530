# Shared by the other .smk files: the config check the schema cannot make, wildcard constraints,
# the lists of per-job files each aggregation needs, the jobs' settings, and the localrules.

from pmcgrad.study.columns import (
    CHAIN_COLUMNS,
    GRADIENT_COLUMNS,
    MODEL_COLUMNS,
    MODEL_TRACE_COLUMNS,
    OPTIMISATION_COLUMNS,
)
from pmcgrad.study.config import (
    check_config,
    dataset,
    datasets,
    fit_jobs,
    gradient_jobs,
    optimisation_jobs,
    resolve_estimators,
    sbn_jobs,
)
from pmcgrad.vi import FAMILIES

# Estimator and family names against the registry, with the field named in the error.
check_config(config)


wildcard_constraints:
    problem=r"toy_t[0-9.]+|qubo|spike_slab",
    k=r"[0-9]+",
    design_seed=r"[0-9]+",
    estimator=r"[A-Za-z0-9_]+",
    family="|".join(FAMILIES),


# Aggregations only concatenate CSVs: run them on the submitting machine, not as cluster jobs.
localrules:
    all,
    study,
    gradient_table,
    chain_table,
    optimisation_table,
    model_table,
    model_traces_table,
    runtimes,


def gradient_tables():
    return [f"results/gradient/{problem}/k{k}.csv" for problem, k in gradient_jobs(config)]


def chain_tables():
    return [f"results/chain/k{k}.csv" for k in config["chain"]["k"]]


def optimisation_tables():
    return [f"results/optimisation/k{k}/{name}.csv" for k, name in optimisation_jobs(config)]


def dataset_dir(root, k, design_seed):
    return f"{root}/k{k}_d{design_seed}"


def model_tables():
    """Exact, fit and MCMC rows of every data set, in that order."""
    tables = []
    for data in datasets(config):
        folder = dataset_dir("results/model", data.k, data.design_seed)
        tables.append(f"{folder}/exact.csv")
        tables += [
            f"{folder}/{job.family}/{job.estimator}.csv"
            for job in fit_jobs(config)
            if (job.k, job.design_seed) == (data.k, data.design_seed)
        ]
        tables.append(f"{folder}/mcmc.csv")
    return tables


def model_trace_tables():
    return [
        f"{dataset_dir('results/model', job.k, job.design_seed)}/{job.family}/{job.estimator}.trace.csv"
        for job in fit_jobs(config)
    ]


def model_netcdfs():
    fits = [
        f"{dataset_dir('results/models', job.k, job.design_seed)}/{job.family}/{job.estimator}.nc"
        for job in fit_jobs(config)
    ]
    mcmc = [
        f"{dataset_dir('results/models', data.k, data.design_seed)}/mcmc.nc"
        for data in datasets(config)
    ]
    return fits + mcmc


def benchmark_names():
    """Row names of runtimes.csv: each benchmark file's path under results/benchmarks/."""
    prefix = "results/benchmarks/"
    return [path[len(prefix) : -len(".tsv")] for path in benchmark_files()]


def benchmark_files():
    """The benchmark file of every heavy job (see each rule's benchmark: directive)."""
    files = [f"results/benchmarks/gradient/{problem}/k{k}.tsv" for problem, k in gradient_jobs(config)]
    files += [f"results/benchmarks/chain/k{k}.tsv" for k in config["chain"]["k"]]
    files += [f"results/benchmarks/optimisation/k{k}/{name}.tsv" for k, name in optimisation_jobs(config)]
    for data in datasets(config):
        folder = dataset_dir("results/benchmarks/model", data.k, data.design_seed)
        files += [f"{folder}/exact.tsv", f"{folder}/mcmc.tsv"]
    files += [
        f"{dataset_dir('results/benchmarks/model', job.k, job.design_seed)}/{job.family}/{job.estimator}.tsv"
        for job in fit_jobs(config)
    ]
    files += [f"results/benchmarks/sbn/k{k}/{name}/s{seed}.tsv" for k, name, seed in sbn_jobs(config)]
    return files


def study_tables():
    """The tables the report reads (columns: pmcgrad/study/columns.py)."""
    return [
        "results/gradient.csv",
        "results/chain.csv",
        "results/optimisation.csv",
        "results/model.csv",
        "results/model_traces.csv",
        "results/runtimes.csv",
    ]


def model_settings(wildcards):
    """The data set of one job plus the model study's shared settings."""
    data = dataset(config, wildcards.k, wildcards.design_seed)
    model = config["model"]
    return {"n": model["n"], "n_true": model["n_true"], "correlation": data.correlation}


def gradient_settings(wildcards):
    gradient = config["gradient"]
    return {
        "estimators": resolve_estimators(gradient["estimators"], "gradient.estimators"),
        "logits": gradient["logits"],
        "seeds": gradient["seeds"],
        "replicates": gradient["replicates"],
        "max_evaluations": gradient["max_evaluations"],
        "exact_max_k": gradient["exact_max_k"],
        "instance_seed": gradient["instance_seed"],
    }


def chain_settings(wildcards):
    chain = config["chain"]
    return {
        "t": chain["t"],
        "estimators": resolve_estimators(chain["estimators"], "chain.estimators"),
        "seeds": chain["seeds"],
        "evaluations": chain["evaluations"],
        "replicates": chain["replicates"],
    }


def optimisation_settings(wildcards):
    optimisation = config["optimisation"]
    return {
        "targets": optimisation["t"],
        "seeds": optimisation["seeds"],
        "steps": optimisation["steps"],
        "learning_rate": optimisation["learning_rate"],
        "thin": optimisation["thin"],
        "evaluations_per_step": optimisation["evaluations_per_step"],
        "exact_max_k": optimisation["exact_max_k"],
    }


def fit_settings(wildcards):
    model = config["model"]
    return model_settings(wildcards) | {
        "steps": model["steps"],
        "samples": model["samples"],
        "learning_rate": model["learning_rate"],
        "seed": model["seed"],
        "draws": model["draws"],
        "thin": model["trace_thin"],
    }


def mcmc_settings(wildcards):
    model = config["model"]
    return model_settings(wildcards) | {
        "draws": model["mcmc"]["draws"],
        "tune": model["mcmc"]["tune"],
        "chains": model["mcmc"]["chains"],
        "seed": model["seed"],
    }
