# The study's HTML report, reports/index.html (pmcgrad.study.report), and the key figures it
# also writes to results/figures/ so that Snakemake's own `--report` shows them with captions.
#
# The report's chapters declare the inputs they read (pmcgrad.study.report.REPORT_INPUTS);
# report_inputs() in common.smk gives each its files, from the rules that make them.
#
# reports/index.html is flagged update(): Snakemake does not delete it before the job, and
# restores it if the job fails, while the script writes the new page beside it and renames it
# into place. A failed or interrupted build therefore leaves the last good report.


rule report:
    """The self-contained HTML report and the figures of Snakemake's --report."""
    input:
        **report_inputs(),
    output:
        html=report(
            update("reports/index.html"),
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
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../scripts/report.py"
