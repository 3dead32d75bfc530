"""The long MCMC reference of a correlated scale design: pmcgrad.study.scale.run_reference_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.scale import run_reference_job

        run_reference_job(int(smk.wildcards.k), smk.params.settings, out=smk.output.table)


main(snakemake)  # noqa: F821
