"""What every job script does first: one thread, and its output into the rule's log file.

Imported before NumPy, PyTensor or Numba load, so the thread settings take effect: jobs run
side by side (``--cores 8`` starts up to eight) and must not each start a thread per core.
Snakemake sets the BLAS variables for ``shell:`` rules only, not for ``script:`` rules.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


@contextlib.contextmanager
def job_environment(smk) -> Iterator[None]:
    """Limit threads to ``smk.threads`` and send stdout/stderr (C level too) to ``smk.log[0]``."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(smk.threads)
    if "numpy" in sys.modules:
        raise RuntimeError("job_environment() must run before NumPy is imported")
    log_path = smk.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "w") as log:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        # Descriptor-level redirection also catches Numba, PyTensor and PyMC's C-level output.
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
