"""Score-function estimators on the latent itself: REINFORCE and its leave-one-out baseline,
for Bernoulli and categorical latents.

The score of a Bernoulli in its logit is ``b - p``; of a categorical in its logits,
``1{z = j} - p_j``. (The source note's Bernoulli REINFORCE, ``(-1)^b f(b) p (1 - p)``, is
biased and is not implemented: docs/math.md, correction 1.)
"""

from __future__ import annotations

from pmcgrad.estimators.contract import Estimator
from pmcgrad.estimators.schemes import bits_below, draw_race, draw_uniform, race_winner
from pmcgrad.estimators.support import CATEGORICAL, bernoulli_score, categorical_score

__all__ = [
    "CATEGORICAL_REINFORCE",
    "CATEGORICAL_REINFORCE_LOO",
    "REINFORCE",
    "REINFORCE_LOO",
]


def _uniform_draw(rng, shape, dtype):
    rng, u = draw_uniform(rng, shape, dtype)
    return rng, (u,)


def _single_bits(logits, noise_tensors):
    (u,) = noise_tensors
    return bits_below(u, logits)[None]  # [1, S, ..., k]


def _reinforce_gradient(logits, noise_tensors, fvals):
    """REINFORCE for Bernoulli latents (Williams 1992).

    Approximates  d/dphi_i E_q[f(b)],  q(b) = prod_i Bernoulli(b_i; sigmoid(phi_i)).
    Formula       g_i = f(b) (b_i - p_i),  b = 1{u < p},  u ~ U(0, 1).
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    bits = _single_bits(logits, noise_tensors)[0]  # [S, ..., k]
    return fvals[0][..., None] * bernoulli_score(bits, logits)


def _reinforce_loo_gradient(logits, noise_tensors, fvals):
    """REINFORCE with the leave-one-out baseline (Kool, van Hoof and Welling 2019).

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_si = (f(b_s) - mean_{r != s} f(b_r)) (b_si - p_i), for each of S draws;
                  the baseline is independent of draw s, so each g_s is unbiased.
    Requires      S >= 2 draws; one evaluation per draw.
    """
    bits = _single_bits(logits, noise_tensors)[0]  # [S, ..., k]
    return _leave_one_out(fvals[0])[..., None] * bernoulli_score(bits, logits)


def _race_bits(logits, noise_tensors):
    (e,) = noise_tensors
    return race_winner(e, logits)[None]  # [1, S, ..., k] int64


def _categorical_reinforce_gradient(logits, noise_tensors, fvals):
    """REINFORCE for categorical latents (Williams 1992).

    Approximates  d/dphi_vj E_q[f(z)],  q(z) = prod_v Categorical(z_v; softmax(phi_v)).
    Formula       g_vj = f(z) (1{z_v = j} - p_vj),  z_v the winner of an exponential race.
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    codes = _race_bits(logits, noise_tensors)[0]  # [S, ..., k]
    return fvals[0][..., None, None] * categorical_score(codes, logits)


def _categorical_reinforce_loo_gradient(logits, noise_tensors, fvals):
    """REINFORCE with the leave-one-out baseline, for categorical latents.

    Approximates  d/dphi_vj E_q[f(z)].
    Formula       g_svj = (f(z_s) - mean_{r != s} f(z_r)) (1{z_sv = j} - p_vj).
    Requires      S >= 2 draws; one evaluation per draw.
    """
    codes = _race_bits(logits, noise_tensors)[0]  # [S, ..., k]
    return _leave_one_out(fvals[0])[..., None, None] * categorical_score(codes, logits)


def _leave_one_out(f):
    """``f_s - mean_{r != s} f_r = S / (S - 1) (f_s - mean_r f_r)`` over the first axis."""
    samples = f.shape[0]
    return (f - f.mean(axis=0)) * samples / (samples - 1)


REINFORCE = Estimator(
    name="reinforce",
    op_name="Reinforce",
    kind="score",
    unbiased=True,
    formula="f(b) (b_i - p_i),  b = 1{u < p}",
    reference="Williams (1992)",
    draw=_uniform_draw,
    bits=_single_bits,
    gradient=_reinforce_gradient,
)

REINFORCE_LOO = Estimator(
    name="reinforce_loo",
    op_name="ReinforceLOO",
    kind="score",
    unbiased=True,
    formula="(f(b_s) - mean_{r != s} f(b_r)) (b_si - p_i)",
    reference="Kool, van Hoof and Welling (2019)",
    draw=_uniform_draw,
    bits=_single_bits,
    gradient=_reinforce_loo_gradient,
    min_samples=2,
)

CATEGORICAL_REINFORCE = Estimator(
    name="categorical_reinforce",
    op_name="CategoricalReinforce",
    kind="score",
    unbiased=True,
    formula="f(z) (1{z_v = j} - p_vj)",
    reference="Williams (1992)",
    draw=draw_race,
    bits=_race_bits,
    gradient=_categorical_reinforce_gradient,
    support=CATEGORICAL,
    reduces_to="reinforce",
)

CATEGORICAL_REINFORCE_LOO = Estimator(
    name="categorical_reinforce_loo",
    op_name="CategoricalReinforceLOO",
    kind="score",
    unbiased=True,
    formula="(f(z_s) - mean_{r != s} f(z_r)) (1{z_sv = j} - p_vj)",
    reference="Kool, van Hoof and Welling (2019)",
    draw=draw_race,
    bits=_race_bits,
    gradient=_categorical_reinforce_loo_gradient,
    support=CATEGORICAL,
    min_samples=2,
    reduces_to="reinforce_loo",
)
