"""Exact posterior inclusion probabilities of one data set: model_study.run_exact_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.model_study import run_exact_job

        settings = smk.params.settings
        data = settings.dataset(int(smk.wildcards.k), int(smk.wildcards.design_seed))
        run_exact_job(data, settings, out=smk.output.table)


main(snakemake)  # noqa: F821
