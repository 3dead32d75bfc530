"""Rule ``report``: build reports/index.html and the figures of Snakemake's --report."""

from pathlib import Path

from _job import job_environment


def main(smk) -> None:
    with job_environment(smk):
        import logging

        from pmcgrad.study.report import REPORT_FIGURES, TABLES, build_report

        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.captureWarnings(True)
        named = dict(smk.input.items())
        tables = {name: path for name, path in named.items() if name in TABLES}
        benchmarks = list(named["benchmarks"])
        bench_dir = Path(smk.params.bench_dir)
        bench_tables = sorted(bench_dir.glob("*.csv")) if bench_dir.is_dir() else []
        build_report(
            smk.output.html,
            **tables,
            benchmarks=benchmarks,
            bench_tables=bench_tables,
            config=smk.config,
            figures_dir=Path(smk.output.bias).parent,
            figure_keys=REPORT_FIGURES,
            command=f"snakemake (rule {smk.rule})",
        )


main(snakemake)  # noqa: F821 -- injected by Snakemake's script directive
