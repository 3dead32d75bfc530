"""Check each fit's ELBO trace against its contract and against the steps its fit ran, and
concatenate them: pmcgrad.study.model_study.concat_traces."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.model_study import concat_traces

        concat_traces(list(smk.input.tables), list(smk.input.fits), list(smk.params.k),
                      smk.params.thin, smk.output.table)


main(snakemake)  # noqa: F821
