# The study's HTML report, reports/index.html (pmcgrad.study.report), and the key figures it
# also writes to results/figures/ so that Snakemake's own `--report` shows them with captions.
#
# Inputs come from common.smk: the tables (study_tables), the saved fits (model_netcdfs) and
# the jobs' benchmark files (benchmark_files). Without common.smk (the report rules on their
# own) the rule reads whichever results/*.csv a rule makes or that already exist.

import os

REPORT_TABLES = {
    "gradient": "results/gradient.csv",
    "chain": "results/chain.csv",
    "optimisation": "results/optimisation.csv",
    "model": "results/model.csv",
    "model_traces": "results/model_traces.csv",
    "runtimes": "results/runtimes.csv",
}


def _made_by_workflow(path):
    """True when some rule's output pattern is exactly ``path``."""
    return any(str(item) == path for rule in workflow.rules for item in rule.output)


def report_inputs(wildcards):
    """Named inputs of rule report: the tables by name, plus models and benchmarks lists."""
    shared = globals()
    if "study_tables" in shared:
        tables = {os.path.basename(path)[: -len(".csv")]: path for path in study_tables()}
    else:
        tables = {
            name: path
            for name, path in REPORT_TABLES.items()
            if _made_by_workflow(path) or os.path.exists(path)
        }
    inputs = {name: path for name, path in tables.items() if name in REPORT_TABLES}
    if "model_netcdfs" in shared:
        inputs["models"] = model_netcdfs()
    if "benchmark_files" in shared:
        inputs["benchmarks"] = benchmark_files()
    return inputs


rule report:
    """The self-contained HTML report and the figures of Snakemake's --report."""
    input:
        unpack(report_inputs),
    output:
        html=report(
            "reports/index.html",
            caption="../report/index.rst",
            category="0. Study report",
        ),
        bias=report(
            "results/figures/bias.png",
            caption="../report/bias.rst",
            category="1. Gradient estimators",
        ),
        variance=report(
            "results/figures/variance.png",
            caption="../report/variance.rst",
            category="1. Gradient estimators",
        ),
        chain=report(
            "results/figures/chain.png",
            caption="../report/chain.rst",
            category="1. Gradient estimators",
        ),
        optimisation=report(
            "results/figures/optimisation.png",
            caption="../report/optimisation.rst",
            category="2. Optimisation",
        ),
        inclusion=report(
            "results/figures/inclusion.png",
            caption="../report/inclusion.rst",
            category="3. Model study",
        ),
        forest=report(
            "results/figures/forest.png",
            caption="../report/forest.rst",
            category="3. Model study",
        ),
    params:
        # Searched for Snakemake benchmark files when no benchmark list is an input.
        benchmark_dir=config.get("benchmark_dir", "results/benchmarks"),
        # The benchmark suite's tables (`make bench`), shown when present; not an input, since
        # the suite runs outside the workflow.
        bench_dir=config.get("bench_dir", "benchmarks/out"),
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../scripts/report.py"
