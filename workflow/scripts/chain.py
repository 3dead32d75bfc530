"""The coupling chain at one k: pmcgrad.study.chain.run_chain_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.chain import run_chain_job

        run_chain_job(int(smk.wildcards.k), smk.params.settings, out=smk.output.table)


main(snakemake)  # noqa: F821
