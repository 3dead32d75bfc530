"""Enumeration of every configuration, and the one limit on how many that may be.

``exact`` and ``categorical_exact`` evaluate ``f`` on every configuration of the latents: the
``2^k`` bit vectors, or the ``K^k`` category codes. :data:`DEFAULT_EXACT_LIMIT` is the project's
one default for how far that may go, counted in bits: at most ``2^exact_limit``
configurations, so ``k <= exact_limit`` Bernoulli latents or ``K^k <= 2^exact_limit``
categorical ones.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "check_enumeration_size",
    "configuration_count",
    "enumerate_bits",
    "enumerate_categories",
]

#: Enumerate at most ``2^20`` (about a million) configurations unless told otherwise: a cold
#: Numba compile of such a graph takes tens of seconds, and each call evaluates f that often.
DEFAULT_EXACT_LIMIT = 20


def enumerate_bits(k: int, dtype: str = "float64") -> np.ndarray:
    """All ``2^k`` bit vectors, ``(2^k, k)``: row ``r`` is ``r`` in binary, bit 0 first.

    Bit ``i`` of row ``r`` is ``(r >> i) & 1``, so the first column alternates fastest. (This is
    the estimators' order; ``pmcgrad.problems`` tables put the most significant bit first.)
    """
    return enumerate_categories(k, 2).astype(dtype)


def enumerate_categories(k: int, categories: int) -> np.ndarray:
    """All ``K^k`` code vectors of ``k`` variables with ``K`` categories, ``(K^k, k)`` int64.

    Row ``r`` holds the base-``K`` digits of ``r``, least significant first: variable 0
    changes fastest. With ``K = 2`` this is :func:`enumerate_bits`.
    """
    rows = np.arange(categories**k, dtype=np.int64)[:, None]
    place = categories ** np.arange(k, dtype=np.int64)[None, :]
    return (rows // place) % categories


def configuration_count(k: int, categories: int = 2) -> int:
    """``K^k`` as an exact Python int (no overflow for a huge ``K`` or ``k``)."""
    return int(categories) ** int(k)


def check_enumeration_size(name: str, k: int | None, categories: int, exact_limit: int) -> None:
    """Refuse, before any table is built, an enumeration above ``2^exact_limit`` configurations.

    The message names the estimator, ``k``, ``K``, the count and the limit, and says what to
    do instead.
    """
    if k is None:
        raise ValueError(
            f"estimator {name!r} enumerates every configuration and needs a static number of "
            "variables k; give logits a known shape (e.g. pt.specify_shape)"
        )
    count, limit = configuration_count(k, categories), 2**exact_limit
    if count <= limit:
        return
    if categories == 2:
        raise ValueError(
            f"estimator {name!r} would enumerate 2^{k} bit vectors: k={k} is above its limit "
            f"of {exact_limit} (raise exact_limit=... to allow it); for large k use a sampling "
            "estimator such as 'disarm' or 'reinforce_loo'"
        )
    raise ValueError(
        f"estimator {name!r} would enumerate K^k = {categories}^{k} = {_short(count)} "
        f"configurations (K={categories} categories, k={k} variables), above its limit of "
        f"2^{exact_limit} = {limit} (exact_limit={exact_limit}; raise it to allow more); use a "
        "sampling estimator such as 'categorical_reinforce_loo' or 'arsm'"
    )


def _short(count: int) -> str:
    """A count as digits, or in scientific notation when it has more than 15 of them."""
    text = str(count)
    return text if len(text) <= 15 else f"{count:.3e}"
