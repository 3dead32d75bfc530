# The study's HTML report, reports/index.html (pmcgrad.study.report), and the key figures it
# also writes to results/figures/ so that Snakemake's own `--report` shows them with captions.
#
# Inputs: the tidy tables under results/ that some rule of the workflow produces. runtimes.csv
# is optional: it is an input only when a rule makes it (or it already exists). The DataTrees
# named in model.csv need no declaration: the rule writing model.csv depends on them.


import os

REPORT_TABLES = {
    "gradient": "results/gradient.csv",
    "chain": "results/chain.csv",
    "optimisation": "results/optimisation.csv",
    "model": "results/model.csv",
    "model_traces": "results/model_traces.csv",
    "runtimes": "results/runtimes.csv",
}
REPORT_OPTIONAL = {"runtimes"}


def _made_by_workflow(path):
    """True when some rule's output pattern is exactly ``path``."""
    return any(str(item) == path for rule in workflow.rules for item in rule.output)


def report_inputs(wildcards):
    """Named inputs of rule report: every table, optional ones only when they can exist."""
    return {
        name: path
        for name, path in REPORT_TABLES.items()
        if name not in REPORT_OPTIONAL or _made_by_workflow(path) or os.path.exists(path)
    }


rule report:
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
        # Snakemake benchmark files are searched here when the report runs (after every job).
        benchmark_dir=config.get("benchmark_dir", "benchmarks"),
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../scripts/report.py"
