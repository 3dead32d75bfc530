"""Gradient study, one problem at one k: pmcgrad.study.gradient.run_gradient_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        from pmcgrad.study.gradient import run_gradient_job
        from pmcgrad.study.objectives import Problem

        # The problem's name is a string only in the file path: parsed once, here.
        run_gradient_job(Problem.parse(smk.wildcards.problem), int(smk.wildcards.k),
                         smk.params.settings, out=smk.output.table)


main(snakemake)  # noqa: F821
