"""Rule ``report``: build reports/index.html and the figures of Snakemake's --report."""

import logging
from pathlib import Path

from pmcgrad.study.report import REPORT_FIGURES, build_report


def main(smk) -> None:
    logging.basicConfig(filename=smk.log[0], filemode="w", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    tables = dict(smk.input.items())
    benchmark_dir = Path(smk.params.benchmark_dir)
    benchmarks = sorted(benchmark_dir.rglob("*.tsv")) if benchmark_dir.is_dir() else []
    build_report(
        smk.output.html,
        **tables,
        benchmarks=benchmarks,
        config=smk.config,
        figures_dir=Path(smk.output.bias).parent,
        figure_keys=REPORT_FIGURES,
        command=f"snakemake (rule {smk.rule})",
    )


main(snakemake)  # noqa: F821 -- injected by Snakemake's script directive
