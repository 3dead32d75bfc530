"""One timed method of the scale study: pmcgrad.study.scale.run_scale_job."""

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        import logging

        from pmcgrad.study.scale import run_scale_job
        from pmcgrad.study.settings import ScaleJob

        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        w = smk.wildcards
        references = list(smk.input.reference)
        run_scale_job(ScaleJob(w.design, int(w.k), w.family, w.method), smk.params.settings,
                      out=smk.output.table, reference_table=references[0] if references else None)


main(snakemake)  # noqa: F821
