"""workflow/scripts/_job.py: a job that receives SIGINT or SIGTERM exits non-zero and leaves
none of the outputs it wrote, even when the code it runs swallows the interrupt.

Each case is a real process (the wrapper around a small body, no Snakemake) sent a real
signal; the end-to-end case, a fit job under Snakemake, is in test_workflow_run.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The body writes its first output, says it is ready, then waits for the signal. With
# "swallow" it catches every exception, as a library that treats Ctrl-C as "stop early"
# would, and writes its output again before returning normally.
JOB = """
import sys, time
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, {scripts!r})
from _job import job_environment

work = Path({work!r})
smk = SimpleNamespace(threads=1, log=[str(work / "job.log")],
                      output=[str(work / "new.csv"), str(work / "old.csv")])
with job_environment(smk):
    (work / "new.csv").write_text("partial")
    (work / "ready").write_text("")
    try:
        time.sleep(60)
    except BaseException:
        if {swallow!r}:
            (work / "new.csv").write_text("as if finished")
        else:
            raise
"""


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "swallowed"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_job_fails_and_removes_what_it_wrote(signum, swallow, tmp_path):
    """Exit status 128 + signal; the output it wrote is gone; an older file at an output path
    (a previous run's, such as the last good report) is kept."""
    old = tmp_path / "old.csv"
    old.write_text("previous run")
    os.utime(old, (time.time() - 3600,) * 2)
    script = JOB.format(scripts=str(REPO / "workflow" / "scripts"), work=str(tmp_path),
                        swallow=swallow)
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "ready").exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        process.send_signal(signum)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert returncode == 128 + signum
    assert not (tmp_path / "new.csv").exists()
    assert old.read_text() == "previous run"
    assert f"job interrupted by {signal.Signals(signum).name}" in (tmp_path / "job.log").read_text()


def test_a_job_that_finishes_keeps_its_outputs(tmp_path):
    """Without a signal nothing is removed and the exit status is 0."""
    script = JOB.replace("time.sleep(60)", "pass").format(
        scripts=str(REPO / "workflow" / "scripts"), work=str(tmp_path), swallow=False)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "new.csv").read_text() == "partial"
