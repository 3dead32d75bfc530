"""PyMC MCMC on one data set of the model study: pmcgrad.study.model_study.run_mcmc_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.model_study import run_mcmc_job

        settings = smk.params.settings
        data = settings.dataset(int(smk.wildcards.k), int(smk.wildcards.design_seed))
        run_mcmc_job(data, settings, exact_table=smk.input.exact, out=smk.output.table,
                     netcdf=smk.output.netcdf)


main(snakemake)  # noqa: F821
