# The coupling chain exp_score -> ar -> arm -> disarm (plus antithetic_exp, reinforce and
# reinforce_loo) at equal f-evaluations on the toy at phi = 0 (pmcgrad.study.chain).


rule chain:
    """Every chain estimator x seed at one k, each estimate costing the same evaluations."""
    output:
        table="results/chain/k{k}.csv",
    params:
        settings=chain_settings,
    log:
        "logs/chain/k{k}.log",
    benchmark:
        "results/benchmarks/chain/k{k}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/chain.py"


rule chain_table:
    """results/chain.csv, with MATH.md's closed-form variances at k = 1."""
    input:
        tables=chain_tables(),
    output:
        table="results/chain.csv",
    params:
        columns=CHAIN_COLUMNS,
    log:
        "logs/chain_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
