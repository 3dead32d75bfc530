"""Collect the rules' benchmark files into runtimes.csv: pmcgrad.study.io.write_runtimes."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.io import write_runtimes

        write_runtimes(list(smk.input.benchmarks), list(smk.params.names), smk.output.table)


main(snakemake)  # noqa: F821
