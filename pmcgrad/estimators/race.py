"""Estimators on the exponential race, for categorical latents: its score, the score given the
race's shares (AR), and ARSM's swaps of those shares.

A categorical ``z ~ softmax(phi)`` is the winner of a race: with ``e_j ~ Exp(1)``,
``t_j = e_j / exp(phi_j) ~ Exp(exp(phi_j))`` and ``z = argmin_j t_j``. At ``K = 2`` this is the
source note's exponential pair, and these estimators are ``exp_score``, ``ar`` and ARM
(docs/math.md, "Categorical latents").
"""

from __future__ import annotations

import pytensor.tensor as pt

from pmcgrad.estimators.contract import Estimator
from pmcgrad.estimators.schemes import draw_race, race_swaps, race_winner, swap_pairs
from pmcgrad.estimators.support import CATEGORICAL

__all__ = ["ARSM", "RACE_AR", "RACE_SCORE"]


def _winner_bits(logits, noise_tensors):
    (e,) = noise_tensors
    return race_winner(e, logits)[None]  # [1, S, ..., k] int64


def _race_score_gradient(logits, noise_tensors, fvals):
    """The score of the exponential race (the source note's eq. 1, categorical form).

    Approximates  d/dphi_vj E_q[f(z)],  q(z) = prod_v Categorical(z_v; softmax(phi_v)).
    Formula       g_vj = f(z) (1 - e_vj),  z_v = argmin_j e_vj / exp(phi_vj),  e ~ Exp(1):
                  log p(t) = sum_j (phi_j - exp(phi_j) t_j), so d/dphi_j log p(t) = 1 - e_j.
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    (e,) = noise_tensors
    return fvals[0][..., None, None] * (1 - e)


def _race_ar_gradient(logits, noise_tensors, fvals):
    """AR for categorical latents (Yin, Yue and Zhou 2019): the race score given its shares.

    Approximates  d/dphi_vj E_q[f(z)].
    Formula       g_vj = f(z) (1 - K pi_vj),  pi_v = e_v / sum_j e_vj ~ Dirichlet(1, ..., 1):
                  z depends on e only through pi, and sum_j e_j ~ Gamma(K) is independent of pi,
                  so E[e_j | pi] = K pi_j.
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    (e,) = noise_tensors
    categories = logits.type.shape[-1]
    shares = e / e.sum(axis=-1, keepdims=True)
    return fvals[0][..., None, None] * (1 - categories * shares)


def _arsm_bits(logits, noise_tensors):
    (e,) = noise_tensors
    return race_swaps(e, logits)  # [P, S, ..., k], P = K(K - 1)/2 + 1


def _arsm_gradient(logits, noise_tensors, fvals):
    """Augment-REINFORCE-Swap-Merge, ARSM (Yin, Yue and Zhou 2019).

    Approximates  d/dphi_vj E_q[f(z)].
    Formula       g_vc = sum_j (f^{c<->j} - 1/K sum_m f^{m<->j}) (1/K - pi_vj), where
                  f^{c<->j} = f(z^{c<->j}) and z^{c<->j} is the race's winner after swapping
                  the shares of categories c and j in every variable (f^{j<->j} = f(z)).
                  Exchangeability of pi turns AR's (1 - K pi_c) into (1 - K pi_j) for the
                  swapped draw; the mean over m is a baseline of mean zero (the gradients of a
                  softmax sum to zero); the sum over j merges the K choices of j.
    Requires      K(K - 1)/2 + 1 evaluations per draw, whatever k (one per swap, applied to
                  all variables at once); unbiased. At K = 2 it is ARM, draw for draw.
    """
    (e,) = noise_tensors
    categories = logits.type.shape[-1]
    _, pair_index = swap_pairs(categories)
    shares = e / e.sum(axis=-1, keepdims=True)  # [S, ..., k, K]
    swapped = fvals[pair_index]  # [K (c), K (j), S, ...]
    centred = swapped - swapped.mean(axis=0)  # f^{c<->j} - 1/K sum_m f^{m<->j}
    centred = pt.moveaxis(centred, (0, 1), (-2, -1))  # [S, ..., K (c), K (j)]
    weights = 1.0 / categories - shares  # [S, ..., k, K (j)]
    # g[s, ..., v, c] = sum_j centred[s, ..., c, j] weights[s, ..., v, j]
    return (centred[..., None, :, :] * weights[..., :, None, :]).sum(axis=-1)


RACE_SCORE = Estimator(
    name="race_score",
    op_name="RaceScore",
    kind="reparameterised",
    unbiased=True,
    formula="f(z) (1 - e_vj),  z_v = argmin_j e_vj / exp(phi_vj),  e ~ Exp(1)",
    reference="source note, eq. (1), as an exponential race",
    draw=draw_race,
    bits=_winner_bits,
    gradient=_race_score_gradient,
    support=CATEGORICAL,
    reduces_to="exp_score",
)

RACE_AR = Estimator(
    name="race_ar",
    op_name="RaceAR",
    kind="reparameterised",
    unbiased=True,
    formula="f(z) (1 - K pi_vj),  pi_v = e_v / sum_j e_vj",
    reference="Yin, Yue and Zhou (2019), AR",
    draw=draw_race,
    bits=_winner_bits,
    gradient=_race_ar_gradient,
    support=CATEGORICAL,
    reduces_to="ar",
)

ARSM = Estimator(
    name="arsm",
    op_name="ARSM",
    kind="antithetic",
    unbiased=True,
    formula="sum_j (f^{c<->j} - mean_m f^{m<->j}) (1/K - pi_vj),  pi_v = e_v / sum_j e_vj",
    reference="Yin, Yue and Zhou (2019)",
    draw=draw_race,
    bits=_arsm_bits,
    gradient=_arsm_gradient,
    support=CATEGORICAL,
    evaluations_per_draw=lambda k, categories: categories * (categories - 1) // 2 + 1,
    evaluations_text="K(K-1)/2 + 1",
    reduces_to="arm",
)
