"""Concatenate per-job tables into one study table: pmcgrad.study.io.concat_tables."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.io import concat_tables

        concat_tables(list(smk.input.tables), smk.output.table, smk.params.columns)


main(snakemake)  # noqa: F821
