"""The pmcgrad comparison study (DESIGN.md, "The study (Snakemake) and its report").

    snakemake --cores 8 --workflow-profile profiles/default           # the default study
    snakemake --cores 2 --configfile config/tiny.yaml                  # the test configuration
    snakemake --workflow-profile profiles/slurm --configfile config/full.yaml   # on a cluster

Tables land in results/ (columns: pmcgrad/study/columns.py), fitted DataTrees in
results/models/, logs in logs/, and the HTML report in
reports/index.html. The study's logic lives in pmcgrad.study; the rules only say which job
needs what.
"""


from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# Types and ranges first (the schema), then what only the estimator registry knows
# (common.smk calls pmcgrad.study.config.check_config): both before any job is scheduled.
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/gradient.smk"
include: "workflow/rules/chain.smk"
include: "workflow/rules/optimisation.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/sbn.smk"


include: "workflow/rules/report.smk"


rule all:
    """Every table, every saved fit, and the report."""
    default_target: True
    input:
        study_tables(),
        "results/sbn.csv",
        model_netcdfs(),
        "reports/index.html",


rule study:
    """The study without its report: `snakemake study`."""
    input:
        study_tables(),
        "results/sbn.csv",
        model_netcdfs(),


rule runtimes:
    """Every heavy job's wall time, memory and CPU time (Snakemake benchmarks) in one table."""
    input:
        benchmarks=benchmark_files(),
    output:
        table="results/runtimes.csv",
    params:
        names=benchmark_names(),
    log:
        "logs/runtimes.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "workflow/scripts/runtimes.py"
