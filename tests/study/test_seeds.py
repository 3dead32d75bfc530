"""pmcgrad.study.seeds: one derivation of every job's randomness."""

import pytest

from pmcgrad.study.seeds import job_seed, job_seed_int


def test_job_seed_is_stable():
    """Seeds come from CRC-32 of names, not from the per-process salted hash()."""
    assert job_seed(0, "disarm").entropy == [0, 2_819_641_639]
    with pytest.raises(ValueError, match="non-negative"):
        job_seed(-1)


def test_job_seed_int_is_the_first_word_of_the_sequence():
    """The int seed is the SeedSequence's first 32-bit word, so both agree on the names."""
    assert job_seed_int(3, "fit", 4) == int(job_seed(3, "fit", 4).generate_state(1)[0])
    assert job_seed_int(3, "fit", 4) != job_seed_int(3, "fit", 5)
    assert 0 <= job_seed_int(0) < 2**32
