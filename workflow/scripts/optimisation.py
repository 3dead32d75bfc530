"""Optimisation study, one estimator at one k: pmcgrad.study.optimisation.run_optimisation_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.optimisation import run_optimisation_job

        run_optimisation_job(int(smk.wildcards.k), smk.wildcards.estimator, smk.params.settings,
                             out=smk.output.table)


main(snakemake)  # noqa: F821
