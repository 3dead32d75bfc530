"""Exact posterior inclusion probabilities of one data set: model_study.run_exact_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.model_study import run_exact_job

        run_exact_job(int(smk.wildcards.k), int(smk.wildcards.design_seed),
                      out=smk.output.table, **smk.params.settings)


main(snakemake)  # noqa: F821
