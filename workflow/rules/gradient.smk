# The gradient study: bias, variance and cost of every estimator against the exact gradient.
# One job per problem x k; each compiles one graph per estimator and reuses it for every
# logit setting and seed (pmcgrad.study.gradient).


rule gradient:
    """Every estimator x logit setting x seed on one problem at one k."""
    output:
        table="results/gradient/{problem}/k{k}.csv",
    params:
        settings=SETTINGS.gradient,
    log:
        "logs/gradient/{problem}/k{k}.log",
    benchmark:
        "results/benchmarks/gradient/{problem}/k{k}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/gradient.py"


rule gradient_table:
    """results/gradient.csv: one row per problem x estimator x k x logit setting x seed."""
    input:
        tables=expand(rules.gradient.output.table, zip, **gradient_jobs()),
    output:
        table="results/gradient.csv",
    params:
        contract="gradient",
        rows=gradient_rows(),
    log:
        "logs/gradient_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
