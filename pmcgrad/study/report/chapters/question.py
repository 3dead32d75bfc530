"""Chapter 1, what the study asks: the gradient it estimates, the three formulas of the source
note that needed correcting, and the chain of couplings from its exponential pair to DisARM.

It shows the reader, before any measurement, what each estimator computes and which exact
numbers the later chapters check against: the worked example of the two biased formulas is
computed here, and the k = 1 variances come from :func:`pmcgrad.problems.k1_variance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from pmcgrad.problems import k1_variance
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.mathml import FORMULAS, VARIANCE_FORMULAS
from pmcgrad.study.report.page import Section, fmt, html_table

__all__ = ["CHAPTER", "CHECK_T", "QuestionSummary", "render_question", "summarise_question"]

#: The target t at which the k = 1 closed forms are checked: f(b) = (b - t)^2, phi = 0.
CHECK_T = 0.49

SOURCE_NOTE = ("“Reparameterization and discrete coupling: for training discrete latent-variable "
               "models”")


@dataclass(frozen=True)
class QuestionSummary:
    """The worked example of the two biased formulas, and the closed forms at ``CHECK_T``."""

    example: dict[str, float]  # phi, f1, f0, exact, note_reinforce, uniform_naive
    closed_forms: pd.DataFrame  # estimator, variance (at CHECK_T)


def summarise_question(phi: float = 0.7, f1: float = 3.0, f0: float = -1.0,
                       t: float = CHECK_T) -> QuestionSummary:
    """The note's REINFORCE and its naive uniform form at one bit, against the exact gradient
    ``(f(1) - f(0)) p (1 - p)``; and the closed-form variance of each estimator in
    :data:`~pmcgrad.study.report.mathml.VARIANCE_FORMULAS` at ``t``."""
    p = 1 / (1 + math.exp(-phi))
    slope = p * (1 - p)
    example = {
        "phi": phi, "f1": f1, "f0": f0,
        "exact": (f1 - f0) * slope,
        "note_reinforce": (-p * f1 + (1 - p) * f0) * slope,  # E[(-1)^b f(b)] sigma(1 - sigma)
        "uniform_naive": (1 - p) * (p * f1 + (1 - p) * f0),  # E[(1 - p) f(b)]
    }
    closed = pd.DataFrame({"estimator": list(VARIANCE_FORMULAS),
                           "variance": [k1_variance(name, t).variance
                                        for name in VARIANCE_FORMULAS]})
    return QuestionSummary(example, closed)


def render_question(summary: QuestionSummary) -> Section:
    """The chapter's prose and formulas."""
    section = CHAPTER.section()
    ex = summary.example
    section.add(
        "<p>A model with binary latents needs the gradient of an expectation over Bernoulli "
        "bits with respect to their logits. Enumerating the <i>2<sup>k</sup></i> bit vectors "
        "is exact but exponential, so the study compares Monte Carlo <b>gradient "
        "estimators</b>: how biased they are, how their variance grows with the number of bits "
        "<i>k</i> at equal numbers of <i>f</i>-evaluations, how fast they optimise, and how "
        "well variational fits that use them recover a spike-and-slab posterior. The "
        "derivations are in the project's <code>docs/math.md</code>.</p>",
        FORMULAS["objective"],
        FORMULAS["exact"],
        f"<h3>Three formulas of the source note, corrected</h3><p>The estimators start from "
        f"the technical note {SOURCE_NOTE}, three of whose formulas need correcting:</p><ul>"
        f"<li>REINFORCE for a Bernoulli is {FORMULAS['reinforce']} The note's "
        f"{FORMULAS['note_reinforce']} is biased: at φ = {ex['phi']:g}, f(1) = {ex['f1']:g}, "
        f"f(0) = {ex['f0']:g} it averages {fmt(ex['note_reinforce'])} where the exact gradient "
        f"is {fmt(ex['exact'])}.</li>"
        f"<li>The uniform with a moving boundary (the note's Note 1) needs its boundary term, "
        f"one more evaluation: {FORMULAS['uniform']} Dropping it gives "
        f"{FORMULAS['uniform_naive']}, which averages {fmt(ex['uniform_naive'])} against "
        f"{fmt(ex['exact'])}: the study keeps it as <code>uniform_naive</code>, the cautionary "
        "example.</li>"
        "<li>The note's “ε ∼ −Exp(λ), λ = −log σ(φ), c = 1” is not a consistent construction; "
        f"any continuous noise thresholded at its quantile works: {FORMULAS['noise_score']}"
        "Logistic noise gives f(b)(1 − 2σ(ε)).</li></ul>",
        "<h3>From the note's exponential pair to ARM and DisARM</h3>"
        "<p>The note writes the bit as a threshold on two exponentials and scores the first "
        "(its eq. 1):</p>",
        FORMULAS["exp_pair"],
        "<p>The pair splits into a uniform <i>w</i> that decides the bit and a sum <i>s</i> "
        "that does not:</p>",
        FORMULAS["w"],
        "<p>Conditioning the score on <i>w</i> (Rao-Blackwellisation) gives AR:</p>",
        FORMULAS["rao_blackwell"],
        "<p>The note's antithetic idea swaps the two exponentials, which maps <i>w</i> to "
        "<i>1 − w</i>; averaging AR over the pair is ARM (Yin and Zhou, 2019):</p>",
        FORMULAS["swap"],
        FORMULAS["arm"],
        "<p>Conditioning once more on the pair of bits gives DisARM (Dong, Mnih and Tucker, "
        "2020; Yin et al., 2020, U2G), which is zero whenever the two bits agree:</p>",
        FORMULAS["disarm"],
        f"<p>The swap alone, without conditioning, is <code>antithetic_exp</code>, "
        f"{FORMULAS['antithetic_exp']}; section 5 measures every step of this chain at equal "
        "numbers of f-evaluations.</p>",
        "<h3>Exact variances used as checks</h3>"
        f"<p>For one bit at φ = 0 with {FORMULAS['toy']}, the variance of one estimate has a "
        "closed form (<code>docs/math.md</code>); section 2 sets the measured values beside "
        "them.</p>",
        html_table(
            pd.DataFrame({
                "estimator": [f"<code>{n}</code>" for n in summary.closed_forms["estimator"]],
                "variance of one estimate": [VARIANCE_FORMULAS[n]
                                             for n in summary.closed_forms["estimator"]],
                f"at t = {CHECK_T}": summary.closed_forms["variance"].to_list(),
            }),
            raw=["estimator", "variance of one estimate"],
        ),
        "<p>For a PyMC model the same estimators handle only the expectation of the joint "
        "log density over the bits; both entropies are analytic and continuous parameters are "
        "reparameterised:</p>",
        FORMULAS["elbo"],
    )
    return section


def _build(inputs: ReportInputs) -> Section:
    return render_question(summarise_question())


CHAPTER = Chapter("question", "1. What the study asks", needs=(), build=_build)
