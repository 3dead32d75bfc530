"""Every categorical estimator at one K: pmcgrad.study.categorical.run_categorical_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.categorical import run_categorical_job

        run_categorical_job(int(smk.wildcards.K), smk.params.settings, out=smk.output.table)


main(snakemake)  # noqa: F821
