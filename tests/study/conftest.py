"""One run of the tiny config serves the workflow tests and the report's browser test."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TINY = REPO / "config" / "tiny.yaml"


def snakemake_command(*args: str) -> list[str]:
    # Targets must come before --configfile, which takes every following word as a file.
    return [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), *args, "--configfile", str(TINY)]


def snakemake(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    run = subprocess.run(snakemake_command(*args), cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, check=False)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    return run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A working directory where the tiny config's study (everything but the report) ran."""
    workdir = tmp_path_factory.mktemp("tiny")
    start = time.perf_counter()
    snakemake("study", "--cores", "2", cwd=workdir)
    seconds = time.perf_counter() - start
    # Printed, not asserted: a wall-time bound fails on a loaded machine, not on a slow
    # workflow (the tiny run took 232 s on a shared 2-core machine with the scale and
    # categorical sections).
    print(f"tiny config end to end: {seconds:.0f} s")
    return workdir
