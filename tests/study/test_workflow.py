"""The Snakemake workflow without running its jobs: dry runs, lint, and config validation."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CONDA_LINT = "Specify a conda environment or container for each rule."


def snakemake(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile in ``cwd`` (results, logs and .snakemake land there)."""
    return subprocess.run(
        [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.mark.parametrize("config", ["config.yaml", "full.yaml", "tiny.yaml"])
def test_dry_run(config, tmp_path):
    """Every shipped config validates and plans a DAG with every rule's jobs."""
    run = snakemake("-n", "--configfile", str(REPO / "config" / config), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    for rule in ["gradient", "chain", "optimisation", "model_exact", "model_fit", "model_mcmc",
                 "gradient_table", "model_table", "runtimes", "sbn", "scale", "scale_reference",
                 "scale_table", "categorical", "categorical_table"]:
        assert f"\n{rule} " in run.stdout, f"no {rule} job planned for {config}"
    assert not (tmp_path / "results").exists()


def test_without_a_configfile_the_default_study_runs(tmp_path):
    """No --configfile: config/config.yaml (found beside the Snakefile) is the config."""
    run = snakemake("-n", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^gradient\s+35$", run.stdout, re.M)  # 5 problems x 7 k of the default


@pytest.mark.parametrize("config", ["config.yaml", "full.yaml", "tiny.yaml"])
def test_configs_are_complete(config):
    """Each config sets every field itself: a --configfile is the whole config."""
    import jsonschema

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    data = yaml.safe_load((REPO / "config" / config).read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    for section, fields in schema["properties"].items():
        assert set(data[section]) == set(fields["properties"]), section


def test_lint_reports_only_missing_environments(tmp_path):
    """`snakemake --lint` finds nothing but the conda/container lint (we run in .venv)."""
    run = snakemake("--lint", "--configfile", str(REPO / "config" / "tiny.yaml"), cwd=tmp_path)
    # The parser of tools/lint-workflow, which `make lint` runs.
    findings = runpy.run_path(str(REPO / "tools" / "lint-workflow"))["findings"](
        run.stdout + run.stderr)
    assert any(title == CONDA_LINT for _, title in findings), "lint output not understood"
    problems = [
        f"{subject}: {title}" for subject, title in findings
        if title != CONDA_LINT
    ]
    assert not problems, "\n".join(problems)


def _write_config(tmp_path: Path, edit) -> Path:
    config = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["gradient"].update(k=[1, -2]), ["gradient", "'k'", "less than the minimum"]),
        (lambda c: c["chain"].update(replicates="many"), ["chain", "replicates"]),
        (lambda c: c["model"].update(stepz=10), ["model", "stepz"]),
        (lambda c: c["gradient"].update(estimators=["disarm", "dis_arm"]),
         ["gradient.estimators[1]", "unknown estimator 'dis_arm'",
          "registered bernoulli estimators"]),
        (lambda c: c["model"]["families"].update(meanfield="everything"),
         ["['families']['meanfield']", "'everything'"]),
        # A config file is not merged over config/config.yaml: what it lacks is missing.
        (lambda c: c.clear(), ["'gradient' is a required property"]),
        (lambda c: c.pop("sbn"), ["'sbn' is a required property"]),
        (lambda c: c["model"]["mcmc"].pop("tune"), ["'tune' is a required property",
                                                    "['model']['mcmc']"]),
        # Absurd sizes stop at validation, naming the field, not as a failed allocation later.
        (lambda c: c["chain"].update(evaluations=10**12),
         ["1000000000000 is greater than the maximum of 1024", "['chain']['evaluations']"]),
        (lambda c: c["gradient"].update(replicates=10**9),
         ["greater than the maximum", "['gradient']['replicates']"]),
        (lambda c: c["gradient"].update(problems=["toy_t0.49", "rastrigin"]),
         ["gradient.problems[1]", "unknown problem 'rastrigin'"]),
        (lambda c: c["sbn"].update(checkpoints=200),
         ["sbn.checkpoints", "sbn.datasets[0].steps=100"]),
    ],
    ids=["negative-k", "wrong-type", "unknown-field", "unknown-estimator", "bad-spec",
         "empty-config", "missing-section", "missing-key", "absurd-evaluations",
         "absurd-replicates", "unknown-problem", "checkpoints-over-steps"],
)
def test_bad_config_fails_before_any_job(edit, expected, tmp_path):
    """A bad or missing value stops the run at validation, naming the field, and nothing is
    computed."""
    # Targets before --configfile, which takes every following word as a file.
    run = snakemake("study", "--cores", "1", "--configfile", str(_write_config(tmp_path, edit)),
                    cwd=tmp_path)
    assert run.returncode != 0
    message = run.stdout + run.stderr
    for text in expected:
        assert text in message, message
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "logs").exists()
