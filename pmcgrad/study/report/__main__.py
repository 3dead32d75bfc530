"""``python -m pmcgrad.study.report RESULTS [OUTPUT] [--config F] [--benchmarks D] [--bench D]``."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from pmcgrad.study.report import build_report_from_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pmcgrad.study.report",
                                     description="Build the study's HTML report.")
    parser.add_argument("results", type=Path, help="directory holding the study's tables")
    parser.add_argument("output", type=Path, nargs="?", default=Path("reports/index.html"))
    parser.add_argument("--config", type=Path, help="the study's YAML config, to record")
    parser.add_argument("--benchmarks", type=Path,
                        help="directory of Snakemake benchmark TSV files (searched recursively)")
    parser.add_argument("--bench", type=Path,
                        help="the benchmark suite's output folder (benchmarks/out)")
    parser.add_argument("--figures", type=Path, help="also write each figure here as PNG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = None
    if args.config is not None:
        import yaml

        config = yaml.safe_load(args.config.read_text())
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "pmcgrad.study.report",
                                                *(argv if argv is not None else sys.argv[1:])])
    # The command line names folders; the files in them are this entry point's to find.
    path = build_report_from_results(
        args.results, args.output, config=config,
        benchmarks=sorted(args.benchmarks.rglob("*.tsv")) if args.benchmarks else [],
        benchmark_suite=sorted(args.bench.glob("*.csv")) if args.bench else [],
        figures_dir=args.figures, command=command)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
