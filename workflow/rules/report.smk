# The study's HTML report, reports/index.html (pmcgrad.study.report), and the key figures it
# also writes to results/figures/ so that Snakemake's own `--report` shows them with captions.
#
# Inputs come from common.smk: the tables, the saved fits (model_netcdfs) and the jobs'
# benchmark files (benchmark_files). Functions live in common.smk: a .smk file that mixes
# functions and rules fails `snakemake --lint`.


rule report:
    """The self-contained HTML report and the figures of Snakemake's --report."""
    input:
        gradient="results/gradient.csv",
        chain="results/chain.csv",
        optimisation="results/optimisation.csv",
        model="results/model.csv",
        model_traces="results/model_traces.csv",
        sbn="results/sbn.csv",
        sbn_images=[
            f"results/sbn/k{k}/{name}/s{seed}.npz" for k, name, seed in sbn_jobs(config)
        ],
        runtimes="results/runtimes.csv",
        models=model_netcdfs(),
        benchmarks=benchmark_files(),
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
