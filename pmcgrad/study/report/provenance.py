"""What the reproducibility section records: versions, date, git commit, seeds."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGES", "config_seeds", "git_commit", "now_utc", "package_versions"]

PACKAGES = (
    "pmcgrad", "pymc", "pytensor", "numba", "numpy", "scipy", "pandas", "xarray", "arviz",
    "arviz-base", "arviz-stats", "arviz-plots", "h5netcdf", "matplotlib", "snakemake",
)


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Installed version of each package (``"not installed"`` where absent), plus Python."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def git_commit(directory: Path | None = None) -> str | None:
    """``HEAD``'s commit (with ``+dirty`` when the tree has changes), or ``None``."""
    try:
        cwd = str(directory or Path.cwd())
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def config_seeds(config: Mapping | None, prefix: str = "") -> dict[str, object]:
    """Every config entry whose key mentions ``seed``, by dotted path."""
    found: dict[str, object] = {}
    if not isinstance(config, Mapping):
        return found
    for key, value in config.items():
        path = f"{prefix}{key}"
        if "seed" in str(key).lower():
            found[path] = value
        elif isinstance(value, Mapping):
            found.update(config_seeds(value, prefix=f"{path}."))
    return found
