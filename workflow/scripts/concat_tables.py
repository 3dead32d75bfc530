"""Check the per-job tables against their contract and concatenate them into one study table:
pmcgrad.study.tables.concat_tables."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.columns import CONTRACTS
        from pmcgrad.study.tables import concat_tables

        concat_tables(list(smk.input.tables), smk.output.table, CONTRACTS[smk.params.contract],
                      rows=list(smk.params.rows))


main(snakemake)  # noqa: F821
