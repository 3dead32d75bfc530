"""Score-function estimators: REINFORCE and its leave-one-out baseline (MATH.md, correction 1).

The score of a Bernoulli in its logit is ``b - p``; the seed's ``(-1)^b f(b) sigma (1 - sigma)``
is biased and is not implemented.
"""

from __future__ import annotations

from pmcgrad.estimators.base import Estimator, bernoulli_score, bits_below, draw_uniform

__all__ = ["REINFORCE", "REINFORCE_LOO"]


def _draw(rng, shape, dtype, noise):
    rng, u = draw_uniform(rng, shape, dtype)
    return rng, (u,)


def _bits(logits, noise_tensors, noise):
    (u,) = noise_tensors
    return bits_below(u, logits)[None]  # [1, S, ..., k]


def _reinforce_gradient(logits, noise_tensors, fvals, noise):
    bits = _bits(logits, noise_tensors, noise)[0]  # [S, ..., k]
    return fvals[0][..., None] * bernoulli_score(bits, logits)


def _reinforce_loo_gradient(logits, noise_tensors, fvals, noise):
    # (f_s - mean_{r != s} f_r) = S / (S - 1) * (f_s - mean_r f_r)
    bits = _bits(logits, noise_tensors, noise)[0]  # [S, ..., k]
    f = fvals[0]  # [S, ...]
    samples = f.shape[0]
    centred = (f - f.mean(axis=0)) * samples / (samples - 1)
    return centred[..., None] * bernoulli_score(bits, logits)


REINFORCE = Estimator(
    name="reinforce",
    op_name="Reinforce",
    family="score",
    unbiased=True,
    formula="f(b) (b_i - p_i),  b = 1{u < p}",
    reference="Williams (1992)",
    draw=_draw,
    bits=_bits,
    gradient=_reinforce_gradient,
)

REINFORCE_LOO = Estimator(
    name="reinforce_loo",
    op_name="ReinforceLOO",
    family="score",
    unbiased=True,
    formula="(f(b_s) - mean_{r != s} f(b_r)) (b_si - p_i)",
    reference="Kool, van Hoof and Welling (2019)",
    draw=_draw,
    bits=_bits,
    gradient=_reinforce_loo_gradient,
    min_samples=2,
)
