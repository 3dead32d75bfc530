# The optimisation study: Adam on the toy's logits with each estimator, loss against steps
# and seconds (pmcgrad.study.optimisation). One job per k x estimator.


rule optimisation:
    """Every target t x seed for one estimator at one k."""
    output:
        table="results/optimisation/k{k}/{estimator}.csv",
    params:
        settings=SETTINGS.optimisation,
    log:
        "logs/optimisation/k{k}/{estimator}.log",
    benchmark:
        "results/benchmarks/optimisation/k{k}/{estimator}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/optimisation.py"


rule optimisation_table:
    """results/optimisation.csv: loss curves, one row per recorded step."""
    input:
        tables=expand(rules.optimisation.output.table, zip, **optimisation_jobs()),
    output:
        table="results/optimisation.csv",
    params:
        contract="optimisation",
        rows=[optimisation_rows_per_job(SETTINGS.optimisation)]
        * len(SETTINGS.optimisation.jobs()),
    log:
        "logs/optimisation_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
