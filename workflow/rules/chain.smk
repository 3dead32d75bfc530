# The coupling chain exp_score -> ar -> arm -> disarm (plus antithetic_exp, reinforce and
# reinforce_loo) at equal f-evaluations on the toy at phi = 0 (pmcgrad.study.chain).


rule chain:
    """Every chain estimator x seed at one k, each estimate costing the same evaluations."""
    output:
        table="results/chain/k{k}.csv",
    params:
        settings=SETTINGS.chain,
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
    """results/chain.csv, with the closed-form variances at k = 1."""
    input:
        tables=expand(rules.chain.output.table, k=SETTINGS.chain.jobs()),
    output:
        table="results/chain.csv",
    params:
        contract="chain",
        rows=[chain_rows_per_job(SETTINGS.chain)] * len(SETTINGS.chain.jobs()),
    log:
        "logs/chain_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
