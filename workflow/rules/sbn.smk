# The sigmoid belief network on binarised 8x8 digits (pmcgrad.study.sbn_study): one job per
# k x estimator x seed records training curves and held-out bounds; results/sbn.csv joins them.

from pmcgrad.study.columns import SBN_COLUMNS
from pmcgrad.study.config import sbn_jobs


localrules:
    sbn_table,


rule sbn:
    """One SBN fit: its checkpoint rows (CSV) and the report's image grid (npz)."""
    wildcard_constraints:
        seed=r"[0-9]+",
    output:
        table="results/sbn/k{k}/{estimator}/s{seed}.csv",
        images="results/sbn/k{k}/{estimator}/s{seed}.npz",
    params:
        settings={
            name: config["sbn"][name]
            for name in ("steps", "samples", "checkpoints", "train_size", "test_size",
                         "heldout_steps", "heldout_draws")
        },
    log:
        "logs/sbn/k{k}/{estimator}/s{seed}.log",
    benchmark:
        "results/benchmarks/sbn/k{k}/{estimator}/s{seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/sbn.py"


rule sbn_table:
    """results/sbn.csv: every SBN job's checkpoint rows."""
    input:
        tables=[f"results/sbn/k{k}/{name}/s{seed}.csv" for k, name, seed in sbn_jobs(config)],
    output:
        table="results/sbn.csv",
    params:
        columns=SBN_COLUMNS,
    log:
        "logs/sbn_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
