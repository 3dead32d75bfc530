"""The README is the front door: its commands, table and examples must stay true."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from pmcgrad.estimators import estimator_table_markdown

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _examples() -> dict[str, str]:
    pattern = r"<!-- readme-example: (\S+) -->\s*```python\n(.*?)```"
    return dict(re.findall(pattern, README, flags=re.S))


def test_readme_opens_with_the_study_and_test_commands():
    """The first code block holds `make study` and `make test`."""
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "make study" in first_block and "make test" in first_block


def test_ci_runs_the_readme_test_command():
    """.ci/run calls `make test`, the command the README shows."""
    assert re.search(r"^make test\b", (ROOT / ".ci" / "run").read_text(), flags=re.M)


def test_estimator_table_matches_the_registry():
    """The README's estimator table is exactly the registry's (tools/update-readme-table)."""
    block = re.search(
        r"<!-- estimator-table:start -->\n(.*?)\n<!-- estimator-table:end -->", README, re.S
    )
    assert block is not None
    assert block.group(1) == estimator_table_markdown()


@pytest.mark.parametrize("name", sorted(_examples()))
def test_readme_example_runs_as_printed(name):
    """Each marked README example runs unchanged in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _examples()[name]], cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_fit_example_prints_what_the_readme_says():
    """The fit example converges and prints the inclusion probabilities the README quotes."""
    quoted = re.search(r"inclusion probabilities\s+`(\[[^`]*\])`", README)
    assert quoted is not None
    result = subprocess.run(
        [sys.executable, "-c", _examples()["fit"]], cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("converged ")
    assert lines[1].split() == quoted.group(1).split()
    assert lines[2] == "True"  # its k-hat is below 0.7, as the README says


def test_readme_has_the_expected_examples():
    """The first example (expectation) and the extension example are marked for testing."""
    assert {"first", "extend", "fit"} <= set(_examples())


@pytest.mark.slow
def test_spike_and_slab_example_prints_fitted_and_exact_inclusion():
    """examples/spike_and_slab.py runs and its fitted inclusion matches the exact to 0.05."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "spike_and_slab.py")], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("x")]
    assert len(rows) == 8
    for _, _, fitted, exact in rows:
        assert abs(float(fitted) - float(exact)) < 0.05


def test_find_python_refuses_an_old_interpreter(tmp_path):
    """tools/find-python names the version it found and what is needed."""
    old = tmp_path / "python-old"
    old.write_text("#!/bin/sh\necho 'Python 3.11.7'\nexit 1\n")
    old.chmod(0o755)
    result = subprocess.run(
        [str(ROOT / "tools" / "find-python")], env={"PYTHON": str(old), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "needs Python >= 3.12" in result.stderr
