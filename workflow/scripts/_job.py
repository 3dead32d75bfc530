"""What every job script does first: its threads, its output into the rule's log file, and an
exit status that says whether it was interrupted.

Jobs run side by side (``--cores 8`` starts up to eight) and must not each start a thread per
core. Snakemake sets the BLAS variables for ``shell:`` rules only, not for ``script:`` rules,
and by the time a script's body runs its preamble has already unpickled the rule's params (the
settings objects of :mod:`pmcgrad.study.settings`), which imports NumPy and its BLAS. So the
variables are set for the libraries that load later (SciPy's BLAS loads at the first compiled
call), and the libraries already loaded are limited through threadpoolctl and Numba's own
``set_num_threads``.

A job that receives SIGINT or SIGTERM (Ctrl-C, or a cluster scheduler cancelling it: some send
SIGINT first) must not look finished. Left to Python, SIGINT becomes a ``KeyboardInterrupt``
that a library may catch and treat as "stop early" (a fit that returns its partial result), and
the job would then write its outputs and exit 0, so Snakemake would keep a half-done result as
complete. Here both signals raise :class:`JobInterrupted`, which is no ``KeyboardInterrupt`` and
no ``Exception``, so ``except KeyboardInterrupt`` and ``except Exception`` let it through; and
whatever the code in between did with it, the job then removes the outputs it wrote and exits
with ``128 + signal``, as a shell reports a job killed by that signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

__all__ = ["INTERRUPTS", "JobInterrupted", "job_environment"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

#: The signals that stop a job.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class JobInterrupted(BaseException):
    """SIGINT or SIGTERM reached the job."""

    def __init__(self, signum: int):
        super().__init__(f"{signal.Signals(signum).name} received")
        self.signum = signum


@contextlib.contextmanager
def job_environment(smk) -> Iterator[None]:
    """Limit threads to ``smk.threads``, send stdout/stderr (C level too) to ``smk.log[0]``,
    and turn SIGINT / SIGTERM into a non-zero exit that leaves no output behind."""
    _limit_threads(smk.threads)
    received: list[int] = []

    def interrupt(signum, frame):
        received.append(signum)
        if len(received) == 1:  # a second signal must not break the clean-up of the first
            raise JobInterrupted(signum)

    started = time.time()
    previous = {signum: signal.signal(signum, interrupt) for signum in INTERRUPTS}
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
        except JobInterrupted:
            pass  # reported below, with the outputs removed
        except KeyboardInterrupt:
            # pmcgrad.fit answers SIGINT with a handler of its own while it runs, and raises
            # FitInterrupted (a KeyboardInterrupt) between blocks: this handler never saw it.
            traceback.print_exc()
            if not received:
                received.append(signal.SIGINT)
        except BaseException:
            # Into the rule's log too: Python prints the traceback only at exit, after the
            # descriptors are restored, where `snakemake --show-failed-logs` would not see it.
            traceback.print_exc()
            if not received:
                raise
            # Else an interrupt surfaced as another error (one raised inside compiled code
            # comes out as SystemError): the job was still interrupted.
        finally:
            if received:
                removed = _remove_outputs(smk, since=started)
                print(f"job interrupted by {signal.Signals(received[0]).name}; removed its "
                      f"outputs {removed}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    if received:
        raise SystemExit(128 + received[0])


def _limit_threads(threads: int) -> None:
    """At most ``threads`` threads in every numeric library, loaded now or later."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # BLAS and OpenMP libraries loaded so far
    numba = sys.modules.get("numba")
    if numba is not None:  # NUMBA_NUM_THREADS is read only when Numba is imported
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def _remove_outputs(smk, since: float) -> list[str]:
    """Remove the outputs this job wrote (modified after ``since``); an older file at an output
    path is a previous run's result that this job did not replace, and is kept."""
    removed = []
    for output in smk.output:
        path = Path(output)
        if path.is_file() and path.stat().st_mtime >= since:
            path.unlink()
            removed.append(str(path))
    return removed
