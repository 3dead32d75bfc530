"""Rule ``report``: build reports/index.html and the figures of Snakemake's --report."""

from pathlib import Path

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        import logging

        from pmcgrad.study.report import REPORT_FIGURES, REPORT_INPUTS, build_report

        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.captureWarnings(True)
        named = dict(smk.input.items())
        build_report(
            smk.output.html,
            {name: named[name] for name in REPORT_INPUTS},
            config=smk.config,
            figures_dir=Path(smk.output.bias).parent,
            figure_keys=REPORT_FIGURES,
            command=f"snakemake (rule {smk.rule})",
        )


main(snakemake)  # noqa: F821 -- injected by Snakemake's script directive
