"""Run the benchmark suite and print a summary: ``python -m benchmarks [--quick] [--all]``.

Each module prints its own table and writes ``benchmarks/out/<module>.csv``. ``--all`` adds the
slow ``vi_scale`` sweep (hours: it grows ``pm.sample`` to k = 1000); ``--quick`` runs tiny sizes
and skips the modules without a quick mode.
A module that raises (``backends`` on wrong numbers, ``against_numpy`` when its NumPy reference
disagrees) is reported, the others still run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback
import warnings

from benchmarks.harness import format_table

MODULES = (
    "estimator_overhead", "against_numpy", "scaling", "backends", "fit_step", "sbn_step",
    "fit_cost", "fit_backends",
)
SLOW_MODULES = ("vi_scale", "cold_start")


def run(names, quick: bool) -> tuple[list[list], list[list]]:
    """Run each module's ``main``; returns one summary line per module, and the missed targets
    as ``[module, row name, value, note]``."""
    summary, missed = [], []
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        accepts_quick = "quick" in inspect.signature(module.main).parameters
        if quick and not accepts_quick:
            print("skipped: no quick mode")
            summary.append([name, "skipped", "", "", "", ""])
            continue
        start = time.perf_counter()
        try:
            rows = module.main(quick=quick) if accepts_quick else module.main()
            status = "ok"
        except Exception:
            traceback.print_exc()
            rows, status = [], "FAILED"
        notes = [str(row.get("note", "")) for row in rows]
        missed += [[name, row["name"], row["value"], row["note"].split(";")[0]]
                   for row, note in zip(rows, notes, strict=True) if "FAIL" in note]
        summary.append([name, status, len(rows), sum("PASS" in n for n in notes),
                        sum("FAIL" in n for n in notes), f"{time.perf_counter() - start:.0f}"])
    return summary, missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--all", action="store_true",
                        help="also run the slow vi_scale sweep and cold_start")
    parser.add_argument("--only", nargs="+", choices=MODULES + SLOW_MODULES,
                        help="run only these modules")
    args = parser.parse_args(argv)
    names = args.only or (MODULES + SLOW_MODULES if args.all else MODULES)
    # Known, harmless notices: the C backend without a tuned BLAS, and JAX copying shared RNGs.
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    warnings.filterwarnings("ignore", message=".*RandomType SharedVariables.*")
    summary, missed = run(names, args.quick)
    if missed:
        print("\n=== targets missed (reported, not fatal) ===")
        print(format_table(["module", "row", "value", "verdict"], missed))
    print("\n=== summary (targets are read from each row's note) ===")
    print(format_table(["module", "status", "rows", "PASS", "FAIL", "seconds"], summary))
    return 1 if any(line[1] == "FAILED" for line in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
