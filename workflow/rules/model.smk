# The model study: spike-and-slab regression per data set (k, design_seed), fitted with
# pmcgrad.fit (one job per estimator x family x seed, each converging by the fitter's own
# stopping rule) and with PyMC MCMC, against the exact posterior inclusion probabilities and
# the mean-field family's best optimum (pmcgrad.study.model_study).


rule model_exact:
    """The references of one data set: exact posterior inclusion probabilities (enumeration)
    and the best mean-field optimum (multi-start coordinate ascent)."""
    output:
        table="results/model/k{k}_d{design_seed}/exact.csv",
    params:
        settings=SETTINGS.model,
    log:
        "logs/model/k{k}_d{design_seed}/exact.log",
    benchmark:
        "results/benchmarks/model/k{k}_d{design_seed}/exact.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/model_exact.py"


rule model_fit:
    """One pmcgrad.fit (converging, model.max_steps its cap): its inclusion probabilities,
    steps, ELBO trace and draws (netcdf)."""
    input:
        exact=rules.model_exact.output.table,
    output:
        table="results/model/k{k}_d{design_seed}/{family}/{estimator}/s{seed}.csv",
        traces="results/model/k{k}_d{design_seed}/{family}/{estimator}/s{seed}.trace.csv",
        netcdf="results/models/k{k}_d{design_seed}/{family}/{estimator}/s{seed}.nc",
    params:
        settings=SETTINGS.model,
    log:
        "logs/model/k{k}_d{design_seed}/{family}/{estimator}/s{seed}.log",
    benchmark:
        "results/benchmarks/model/k{k}_d{design_seed}/{family}/{estimator}/s{seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/model_fit.py"


rule model_mcmc:
    """pm.sample on one data set (cores=1: the job is one process)."""
    input:
        exact=rules.model_exact.output.table,
    output:
        table="results/model/k{k}_d{design_seed}/mcmc.csv",
        netcdf="results/models/k{k}_d{design_seed}/mcmc.nc",
    params:
        settings=SETTINGS.model,
    log:
        "logs/model/k{k}_d{design_seed}/mcmc.log",
    benchmark:
        "results/benchmarks/model/k{k}_d{design_seed}/mcmc.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/model_mcmc.py"


rule model_table:
    """results/model.csv: exact, fitted and sampled inclusion probabilities per predictor."""
    input:
        tables=model_tables(),
    output:
        table="results/model.csv",
    params:
        contract="model",
        rows=model_rows(),
    log:
        "logs/model_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_tables.py"


rule model_traces_table:
    """results/model_traces.csv: thinned ELBO traces of every fit, each as long as the steps
    its fit ran (read from the fit's own table)."""
    input:
        tables=expand(rules.model_fit.output.traces, zip, **fit_jobs()),
        fits=expand(rules.model_fit.output.table, zip, **fit_jobs()),
    output:
        table="results/model_traces.csv",
    params:
        k=fit_jobs()["k"],
        thin=SETTINGS.model.trace_thin,
    log:
        "logs/model_traces_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/concat_traces.py"
