# The sigmoid belief network (pmcgrad.study.sbn_study) on binarised 8x8 digits and on images
# drawn from a known SBN: one job per data set x k x estimator x seed records training curves
# and held-out bounds against wall time; results/sbn.csv joins them.


rule sbn:
    """One SBN fit: its checkpoint rows (CSV) and the report's image grid (npz)."""
    output:
        table="results/sbn/{dataset}/k{k}/{estimator}/s{seed}.csv",
        images="results/sbn/{dataset}/k{k}/{estimator}/s{seed}.npz",
    params:
        settings=SETTINGS.sbn,
    log:
        "logs/sbn/{dataset}/k{k}/{estimator}/s{seed}.log",
    benchmark:
        "results/benchmarks/sbn/{dataset}/k{k}/{estimator}/s{seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=240,
    script:
        "../scripts/sbn.py"


rule sbn_table:
    """results/sbn.csv: every SBN job's checkpoint rows."""
    input:
        tables=expand(rules.sbn.output.table, zip, **sbn_jobs()),
    output:
        table="results/sbn.csv",
    params:
        contract="sbn",
        rows=[sbn_rows_per_job(SETTINGS.sbn)] * len(SETTINGS.sbn.jobs()),
    log:
        "logs/sbn_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
