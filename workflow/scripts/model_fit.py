"""One pmcgrad.fit of the model study: pmcgrad.study.model_study.run_fit_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.model_study import run_fit_job

        run_fit_job(int(smk.wildcards.k), int(smk.wildcards.design_seed), smk.wildcards.estimator,
                    smk.wildcards.family, exact_table=smk.input.exact, out=smk.output.table,
                    traces=smk.output.traces, netcdf=smk.output.netcdf, **smk.params.settings)


main(snakemake)  # noqa: F821
