"""Where every job of the study gets its randomness: one seed derivation for all of them.

A job names the piece of work it is doing (the config's seed, then strings and integers such
as ``"fit"``, k, the estimator) and derives its ``SeedSequence`` from those names alone, so the
same job draws the same numbers in every process, on every machine, whatever ran before it.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["job_seed", "job_seed_int"]


def job_seed(*parts: int | str) -> np.random.SeedSequence:
    """A ``SeedSequence`` from the config's seed and the names that identify one piece of work.

    Strings enter through CRC-32 rather than ``hash()``, which Python salts per process: the
    same (seed, problem, k, estimator, ...) must give the same draws in every job, on every
    machine, so a rerun of one job reproduces its rows exactly. Raises ``ValueError`` for a
    negative integer part.
    """
    entropy = [
        zlib.crc32(part.encode()) if isinstance(part, str) else int(part) for part in parts
    ]
    if any(value < 0 for value in entropy):
        raise ValueError(f"seed parts must be non-negative, got {parts!r}")
    return np.random.SeedSequence(entropy)


def job_seed_int(*parts: int | str) -> int:
    """:func:`job_seed` as one 32-bit integer, for APIs that take an int (``pm.sample``,
    ``pmcgrad.fit``)."""
    return int(job_seed(*parts).generate_state(1)[0])
