# The scale study (pmcgrad.study.scale): wall time to max |inclusion - reference| <= target
# against k, for pmcgrad.fit and for pm.sample, on orthogonal designs (closed-form reference)
# and correlated ones (a long MCMC reference, computed once by its own rule and kept).


rule scale_reference:
    """The long pm.sample run a correlated design at k is measured against."""
    output:
        table="results/scale/reference/k{k}.csv",
    params:
        # Only what the reference depends on, so that changing the methods or the target does
        # not rerun it.
        settings=SETTINGS.scale.reference_settings(),
    log:
        "logs/scale/reference/k{k}.log",
    benchmark:
        "results/benchmarks/scale/reference/k{k}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    script:
        "../scripts/scale_reference.py"


rule scale:
    """One method timed on one design at k: a warm-up, then whole calls (pm.sample grown in
    draws until it reaches the target)."""
    wildcard_constraints:
        family="|".join([*FAMILIES, NOT_A_FIT]),
        method=r"[A-Za-z0-9_]+",
    input:
        reference=scale_reference,
    output:
        table="results/scale/{design}/k{k}/{family}/{method}.csv",
    params:
        settings=SETTINGS.scale,
    log:
        "logs/scale/{design}/k{k}/{family}/{method}.log",
    benchmark:
        "results/benchmarks/scale/{design}/k{k}/{family}/{method}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    script:
        "../scripts/scale.py"


rule scale_table:
    """results/scale.csv: one row per design x k x method."""
    input:
        tables=expand(rules.scale.output.table, zip, **scale_jobs()),
    output:
        table="results/scale.csv",
    params:
        contract="scale",
        rows=[1] * len(SETTINGS.scale.jobs()),
    log:
        "logs/scale_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"
