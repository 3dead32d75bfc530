"""One sigmoid-belief-network fit: pmcgrad.study.sbn_study.run_sbn_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.sbn_study import run_sbn_job

        run_sbn_job(smk.wildcards.dataset, int(smk.wildcards.k), smk.wildcards.estimator,
                    int(smk.wildcards.seed), smk.params.settings, out=smk.output.table,
                    images=smk.output.images)


main(snakemake)  # noqa: F821
