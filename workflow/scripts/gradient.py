"""Gradient study, one problem at one k: pmcgrad.study.gradient.run_gradient_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.gradient import run_gradient_job

        run_gradient_job(smk.wildcards.problem, int(smk.wildcards.k), out=smk.output.table,
                         **smk.params.settings)


main(snakemake)  # noqa: F821
