"""One pmcgrad.fit of the model study: pmcgrad.study.model_study.run_fit_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        import logging

        from pmcgrad.study.model_study import run_fit_job
        from pmcgrad.study.settings import FitJob

        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        wildcards = smk.wildcards
        job = FitJob(int(wildcards.k), int(wildcards.design_seed), wildcards.estimator,
                     wildcards.family, int(wildcards.seed))
        run_fit_job(job, smk.params.settings, exact_table=smk.input.exact, out=smk.output.table,
                    traces=smk.output.traces, netcdf=smk.output.netcdf)


main(snakemake)  # noqa: F821
