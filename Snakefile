"""The pmcgrad comparison study: gradient estimators (Bernoulli and categorical), optimisation,
model fits, the scale study (VI or MCMC?), sigmoid belief networks and a report.

    snakemake --cores 8 --workflow-profile profiles/default           # the default study
    snakemake --cores 2 --configfile config/tiny.yaml                  # the test configuration
    snakemake --workflow-profile profiles/slurm --configfile config/full.yaml   # on a cluster

Tables land in results/ (columns: pmcgrad/study/columns.py), fitted DataTrees in
results/models/, logs in logs/, and the HTML report in
reports/index.html. The study's logic lives in pmcgrad.study; the rules only say which job
needs what.
"""

from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# The default study, used only when no --configfile is given. A config file given on the
# command line is the whole config: it is not merged over this one, so a section or key it
# lacks fails validation by name instead of silently taking the default's value.
if not workflow.overwrite_configfiles:

    configfile: Path(workflow.basedir) / "config" / "config.yaml"


# Types, required keys and ranges first (the schema), then what only the estimator registry
# knows (common.smk parses the config into pmcgrad.study.settings): both before any job.
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/gradient.smk"
include: "workflow/rules/chain.smk"
include: "workflow/rules/optimisation.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/sbn.smk"
include: "workflow/rules/scale.smk"
include: "workflow/rules/categorical.smk"


rule runtimes:
    """Every heavy job's wall time, memory and CPU time (Snakemake benchmarks) in one table."""
    input:
        benchmarks=benchmark_files(),
    output:
        table="results/runtimes.csv",
    log:
        "logs/runtimes.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "workflow/scripts/runtimes.py"


include: "workflow/rules/report.smk"


rule all:
    """Every table, every saved fit, and the report."""
    default_target: True
    input:
        study_tables(),
        model_netcdfs(),
        rules.report.output.html,


rule study:
    """The study without its report: `snakemake study`."""
    input:
        study_tables(),
        model_netcdfs(),
