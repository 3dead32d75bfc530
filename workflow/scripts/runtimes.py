"""Collect the rules' benchmark files into runtimes.csv: pmcgrad.study.runtimes.write_runtimes."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.runtimes import write_runtimes

        write_runtimes(list(smk.input.benchmarks), smk.output.table)


main(snakemake)  # noqa: F821
