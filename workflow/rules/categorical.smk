# The categorical study (pmcgrad.study.categorical): bias and variance x evaluations of every
# categorical estimator against the exact gradient, on a toy objective and on a mixture's ELBO
# integrand. One job per K; each compiles one graph per estimator, for every k.


rule categorical:
    """Every categorical estimator x k x problem x logit setting x seed at one K."""
    output:
        table="results/categorical/K{K}.csv",
    params:
        settings=SETTINGS.categorical,
    log:
        "logs/categorical/K{K}.log",
    benchmark:
        "results/benchmarks/categorical/K{K}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/categorical.py"


rule categorical_table:
    """results/categorical.csv: one row per problem x estimator x K x k x logit setting x
    seed."""
    input:
        tables=expand(rules.categorical.output.table, K=SETTINGS.categorical.jobs()),
    output:
        table="results/categorical.csv",
    params:
        contract="categorical",
        rows=[categorical_rows_per_job(SETTINGS.categorical, K)
              for K in SETTINGS.categorical.jobs()],
    log:
        "logs/categorical_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
