"""Say when the answer is wrong: the checks of a fitted approximation, in numbers and words.

:func:`diagnose` draws from the fitted q of every start and reports

- **PSIS k-hat** of ``log p - log q`` (importance sampling, :mod:`pmcgrad.vi.importance`):
  above 0.7 q is far from the posterior where it matters (Yao et al. 2018);
- the **importance-corrected** inclusion probabilities, weighted against the mixture of the
  starts, with their own k-hat and effective sample size;
- the **ELBO** and its Monte Carlo standard error, per start;
- whether the **starts agree**: their answers (inclusion probabilities, Gaussian locations in
  units of their scale, log-scales) and their ELBOs, judged against the standard errors;
- how many inclusion probabilities sit at **0 or 1** (importance weighting cannot move those);
- the **logit-gradient signal-to-noise** ratio over the last convergence window;
- whether the fit **converged** and why it stopped.

The checks are pure functions of arrays (:func:`compare_starts`, :func:`collapsed`,
:func:`gradient_snr`, :func:`diagnostic_messages`), tested on made-up inputs; the messages
become :class:`FitWarning` warnings at the end of ``pmcgrad.fit``.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

import numpy as np

from pmcgrad import streams
from pmcgrad.vi.importance import (
    MIN_DRAWS,
    PARETO_K_THRESHOLD,
    ImportanceSample,
    default_draws,
    draw_proposal,
    importance_sample,
    psis,
    unavailable_reason,
)

__all__ = [
    "COLLAPSE_TOLERANCE",
    "PARETO_K_THRESHOLD",
    "START_ANSWER_TOLERANCE",
    "START_ELBO_FLOOR",
    "START_ELBO_Z",
    "FitDiagnostics",
    "FitWarning",
    "StartComparison",
    "check_draws",
    "collapsed",
    "compare_starts",
    "diagnose",
    "diagnostic_messages",
    "flat_labels",
    "gradient_snr",
    "khat_verdict",
    "warn",
]

#: An inclusion probability below this or above 1 minus it counts as collapsed at 0 or 1.
COLLAPSE_TOLERANCE = 1e-3
#: Two starts' answers differ when an inclusion probability, a Gaussian location (in units of
#: its scale) or a log-scale differs by more than this: ten times the stopping rule's own
#: tolerance (0.01), so the optimiser's remaining jitter does not count.
START_ANSWER_TOLERANCE = 0.1
#: Two starts' ELBOs differ when they are further apart than this many standard errors of
#: their difference...
START_ELBO_Z = 4.0
#: ...and than this many nats: near an optimum the scored estimate's standard error falls to
#: hundredths of a nat, where a smaller gap changes no answer a user reads.
START_ELBO_FLOOR = 0.1


class FitWarning(UserWarning):
    """A fitted approximation that should not be trusted as it is (see its message)."""


# --- the checks, on plain arrays
@dataclass(frozen=True)
class StartComparison:
    """Every start against the reported (best) one, ``(M,)`` arrays.

    ``elbo_gap`` nats below the best and ``elbo_z`` that gap in standard errors of the
    difference; ``pip_change`` the largest inclusion-probability difference and
    ``pip_label`` the latent it is in; ``location_change`` the largest difference of a
    continuous variable's mean under q, in units of the best start's standard deviation, and
    ``location_label`` where; ``disagree`` which starts differ (the best never does).
    """

    best: int
    elbo_gap: np.ndarray
    elbo_z: np.ndarray
    pip_change: np.ndarray
    pip_label: tuple[str, ...]
    location_change: np.ndarray
    location_label: tuple[str, ...]
    disagree: np.ndarray

    @property
    def agree(self) -> bool:
        return not bool(self.disagree.any())

    @property
    def answer_change(self) -> np.ndarray:
        """The larger of the two answer differences, ``(M,)``."""
        return np.maximum(self.pip_change, self.location_change)


def compare_starts(elbos: np.ndarray, elbo_se: np.ndarray, best: int, *,
                   pips: np.ndarray | None = None, means: np.ndarray | None = None,
                   sds: np.ndarray | None = None, bit_labels: tuple[str, ...] = (),
                   real_labels: tuple[str, ...] = ()) -> StartComparison:
    """Compare each start with start ``best``: ELBOs ``(M,)`` with standard errors
    ``elbo_se (M,)``, inclusion probabilities ``pips (M, K)``, and the means ``(M, D)`` and
    standard deviations ``sds (M, D)`` of the continuous variables under each start's q.

    A start disagrees when an inclusion probability, or a mean in units of the best start's
    standard deviation, differs by more than :data:`START_ANSWER_TOLERANCE`, or its ELBO by
    more than :data:`START_ELBO_Z` standard errors and :data:`START_ELBO_FLOOR` nats.
    """
    elbos, elbo_se = np.asarray(elbos, dtype=float), np.asarray(elbo_se, dtype=float)
    starts = elbos.shape[0]
    gap = elbos[best] - elbos
    se = np.hypot(elbo_se[best], elbo_se)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, np.abs(gap) / se, np.where(gap == 0, 0.0, np.inf))
    pip_change, pip_label = _largest_change(pips, best, bit_labels, "bit", starts)
    scaled = None
    if means is not None and np.size(means):
        means = np.asarray(means, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = means / np.asarray(sds, dtype=float)[best]
    location_change, location_label = _largest_change(scaled, best, real_labels, "real",
                                                      starts)
    answer = np.maximum(pip_change, location_change)
    disagree = (answer > START_ANSWER_TOLERANCE) | (
        (z > START_ELBO_Z) & (np.abs(gap) > START_ELBO_FLOOR))
    disagree[best] = False
    return StartComparison(best, gap, z, pip_change, pip_label, location_change,
                           location_label, disagree)


def _largest_change(values, best, labels, kind, starts):
    """Per start, the largest ``|values[m] - values[best]|`` ``(M,)`` and its label (``""``
    where nothing differs)."""
    if values is None or not np.size(values):
        return np.zeros(starts), ("",) * starts
    diff = np.abs(np.asarray(values, dtype=float) - np.asarray(values, dtype=float)[best])
    diff = np.where(np.isfinite(diff), diff, 0.0)
    index, largest = np.argmax(diff, axis=1), diff.max(axis=1)
    names = tuple("" if change == 0 else labels[i] if i < len(labels) else f"{kind} {i}"
                  for i, change in zip(index, largest, strict=True))
    return largest, names


def collapsed(probabilities: np.ndarray, tolerance: float = COLLAPSE_TOLERANCE) -> np.ndarray:
    """Which inclusion probabilities ``(K,)`` sit at 0 or 1 (within ``tolerance``)."""
    p = np.asarray(probabilities, dtype=float)
    return (p < tolerance) | (p > 1 - tolerance)


def gradient_snr(mean: np.ndarray | None, variance: np.ndarray | None) -> np.ndarray | None:
    """``|mean| / sd`` of the per-step logit gradient estimates, elementwise (NaN where both
    vanish, as for a logit pinned at its bound); ``None`` without them."""
    if mean is None or variance is None:
        return None
    mean, sd = np.abs(np.asarray(mean, dtype=float)), np.sqrt(np.asarray(variance, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, mean / sd, np.where(mean > 0, np.inf, np.nan))


def khat_verdict(khat: float) -> str:
    """In words: ``"good"`` (< 0.5), ``"ok"`` (<= 0.7), ``"unreliable"`` (<= 1), ``"failed"``
    (> 1: the importance-weighted mean does not even have a finite variance), or
    ``"unavailable"`` (NaN)."""
    if khat is None or np.isnan(khat):
        return "unavailable"
    if khat < 0.5:
        return "good"
    if khat <= PARETO_K_THRESHOLD:
        return "ok"
    return "unreliable" if khat <= 1 else "failed"


def flat_labels(blocks, model) -> tuple[str, ...]:
    """``z[x3]``-style labels of a flat vector's entries (``structure.bits`` or
    ``structure.reals``), from the model's dims and coords."""
    from pymc.backends.arviz import coords_and_dims_for_inferencedata

    coords, dims = coords_and_dims_for_inferencedata(model)
    labels = []
    for block in blocks:
        names = dims.get(block.rv_name) or []
        for index in np.ndindex(*block.shape):
            parts = [str(coords[d][i]) if d in coords else str(i)
                     for d, i in zip(names, index, strict=False)]
            parts += [str(i) for i in index[len(names):]]
            labels.append(f"{block.name}[{', '.join(parts)}]" if parts else block.name)
    return tuple(labels)


# --- the report
@dataclass(frozen=True)
class FitDiagnostics:
    """What :func:`diagnose` found; ``str()`` reads it out, ``messages`` are its warnings.

    Importance sampling (``nan`` where ``unavailable_reason`` says why not):
    ``pareto_k`` k-hat of the reported start's q (Yao et al. 2018), ``pareto_k_starts (M,)``
    each start's; ``pareto_k_corrected`` and ``importance_ess`` those of the weights behind
    the corrected answers (the mixture of all starts; with one start, q itself);
    ``inclusion_probabilities_corrected (K,)`` with ``inclusion_probabilities_corrected_mcse
    (K,)``; ``log_evidence`` the importance-sampling estimate of ``log p(x)``.

    The fit: ``inclusion_probabilities (K,)`` of the reported start (``bit_labels`` name
    them), ``elbo`` and ``elbo_se``, per start ``elbos`` and ``elbo_ses``; ``starts`` the
    comparison of the starts (``None`` with one); ``collapsed`` the latents whose inclusion
    probability sits at 0 or 1; ``logit_snr (K,)`` or ``None``; ``converged``,
    ``stop_reason``, ``steps`` and ``convergence_checked``.
    """

    draws: int
    best_start: int
    bit_labels: tuple[str, ...]
    inclusion_probabilities: np.ndarray
    elbo: float
    elbo_se: float
    elbos: np.ndarray
    elbo_ses: np.ndarray
    starts: StartComparison | None
    collapsed: tuple[str, ...]
    logit_snr: np.ndarray | None
    converged: bool
    stop_reason: str
    steps: int
    convergence_checked: bool
    unavailable_reason: str | None = None
    pareto_k: float = float("nan")
    pareto_k_starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pareto_k_corrected: float = float("nan")
    importance_ess: float = float("nan")
    inclusion_probabilities_corrected: np.ndarray | None = None
    inclusion_probabilities_corrected_mcse: np.ndarray | None = None
    log_evidence: float = float("nan")
    messages: tuple[str, ...] = ()
    # The weighted draws behind the corrected answers (FitResult.mean_corrected reads them).
    importance: ImportanceSample | None = field(default=None, repr=False, compare=False)

    @property
    def n_starts(self) -> int:
        return int(np.size(self.elbos))

    @property
    def available(self) -> bool:
        """Whether the importance-sampling checks could be computed."""
        return self.unavailable_reason is None

    @property
    def khat_verdict(self) -> str:
        return khat_verdict(self.pareto_k)

    @property
    def corrected_reliable(self) -> bool:
        """Whether the corrected answers' k-hat is at most 0.7."""
        return bool(self.available and self.pareto_k_corrected <= PARETO_K_THRESHOLD)

    @property
    def ok(self) -> bool:
        """No warning: k-hat at most 0.7, the starts agree, and the fit converged."""
        return not self.messages

    def to_dict(self) -> dict[str, float | int | bool | str]:
        """The scalar findings, for a row of a tidy table (a study's, say): k-hats, the
        corrected answers' effective sample size, ELBO and error, ``log p(x)``, whether the
        starts agree, how many probabilities collapsed, convergence, and the warning count."""
        return {
            "pareto_k": float(self.pareto_k),
            "pareto_k_corrected": float(self.pareto_k_corrected),
            "importance_ess": float(self.importance_ess),
            "elbo": float(self.elbo), "elbo_se": float(self.elbo_se),
            "log_evidence": float(self.log_evidence),
            "starts_agree": True if self.starts is None else self.starts.agree,
            "n_collapsed": len(self.collapsed), "converged": bool(self.converged),
            "stop_reason": self.stop_reason, "draws": int(self.draws),
            "n_warnings": len(self.messages),
        }

    def lines(self) -> list[tuple[str, str]]:
        """``(what, finding)`` rows, the content of ``str()`` and the HTML table."""
        rows = []
        if self.available:
            per_start = ("" if self.n_starts == 1 else " (starts: " + ", ".join(
                f"{k:.2f}" for k in self.pareto_k_starts) + ")")
            shown = (f"{self.pareto_k:.2f}" if self.pareto_k != -np.inf else
                     "-inf (the largest weights are all equal: bounded)")
            rows.append(("PSIS k-hat", f"{shown}: {self.khat_verdict} "
                         f"(threshold {PARETO_K_THRESHOLD}){per_start}"))
            source = ("q" if self.n_starts == 1 else f"the mixture of the {self.n_starts} "
                      "starts")
            pooled = self.draws * self.n_starts
            rows.append(("importance-corrected answers",
                         f"k-hat {self.pareto_k_corrected:.2f}, effective sample size "
                         f"{self.importance_ess:.0f} of {pooled} draws from {source}: "
                         + ("reliable" if self.corrected_reliable else "NOT reliable")))
            if self.inclusion_probabilities_corrected is not None and np.size(
                    self.inclusion_probabilities):
                shift = np.abs(self.inclusion_probabilities_corrected
                               - self.inclusion_probabilities)
                index = int(np.argmax(shift))
                rows.append(("corrected inclusion probabilities",
                             f"move by up to {shift[index]:.3f} ({self.bit_labels[index]}: "
                             f"{self.inclusion_probabilities[index]:.3f} -> "
                             f"{self.inclusion_probabilities_corrected[index]:.3f})"))
        else:
            rows.append(("PSIS k-hat", f"unavailable: {self.unavailable_reason}"))
        rows.append(("ELBO", f"{self.elbo:.2f} +- {self.elbo_se:.3f} (Monte Carlo standard "
                     "error)" + (f"; log p(x) by importance sampling {self.log_evidence:.2f}"
                                 if self.available and np.isfinite(self.log_evidence)
                                 else "")))
        if self.starts is not None:
            rows.append(("starts", _describe_starts(self.starts, self.elbos)))
        if np.size(self.inclusion_probabilities):
            at = (f": {', '.join(self.collapsed[:8])}" + (", ..." if len(self.collapsed) > 8
                                                            else "")) if self.collapsed else ""
            rows.append((f"inclusion probabilities at 0 or 1 (within {COLLAPSE_TOLERANCE:g})",
                         f"{len(self.collapsed)} of {np.size(self.inclusion_probabilities)}"
                         f"{at}"))
        if self.logit_snr is not None and np.isfinite(self.logit_snr).any():
            finite = self.logit_snr[np.isfinite(self.logit_snr)]
            rows.append(("logit-gradient signal-to-noise",
                         f"median {np.median(finite):.2f}, largest {finite.max():.2f} "
                         "(|mean| / sd of the per-step estimates over the last window; near "
                         "0 at an optimum)"))
        if self.converged:
            state = f"yes, after {self.steps} steps"
        elif not self.convergence_checked:
            state = f"not checked (convergence=False), {self.steps} steps"
        else:
            state = f"no: stopped ({self.stop_reason}) after {self.steps} steps"
        rows.append(("converged", state))
        return rows

    def __str__(self) -> str:
        width = max(len(what) for what, _ in self.lines())
        drawn = f"{self.draws} draws per start, " if self.available else ""
        head = (f"pmcgrad fit diagnostics ({drawn}{self.n_starts} "
                f"start{'s' if self.n_starts > 1 else ''}, reported start {self.best_start})")
        body = [f"  {what:<{width}}  {finding}" for what, finding in self.lines()]
        tail = ["Warnings:"] + [f"  - {m}" for m in self.messages] if self.messages else [
            "No warnings. (k-hat cannot see posterior mass that q never draws, such as a mode "
            "no start found.)"]
        return "\n".join([head, *body, *tail])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(what)}</th>"
                       f"<td style='text-align:left'>{html.escape(finding)}</td></tr>"
                       for what, finding in self.lines())
        items = "".join(f"<li>{html.escape(m)}</li>" for m in self.messages)
        warned = (f"<p><b>Warnings</b></p><ul>{items}</ul>" if items
                  else "<p>No warnings.</p>")
        drawn = f"{self.draws} draws per start, " if self.available else ""
        return (f"<div><p><b>pmcgrad fit diagnostics</b> ({drawn}{self.n_starts} start(s))"
                f"</p><table>{rows}</table>{warned}</div>")


def _describe_starts(starts: StartComparison, elbos: np.ndarray) -> str:
    if starts.agree:
        return (f"{len(elbos)} agree (answers within {START_ANSWER_TOLERANCE}, ELBOs within "
                f"{START_ELBO_Z:g} standard errors or {START_ELBO_FLOOR} nats)")
    parts = []
    for m in np.flatnonzero(starts.disagree):
        what = f"start {m}: ELBO {starts.elbo_gap[m]:.2f} nats below ({starts.elbo_z[m]:.1f} SE)"
        what += _answer_words(starts, m)
        parts.append(what)
    return f"{int(starts.disagree.sum())} of {len(elbos) - 1} others disagree: " + "; ".join(parts)


def _answer_words(starts: StartComparison, m: int) -> str:
    # Differences a tenth of the tolerance or less are left out: they are not the news.
    words, small = [], START_ANSWER_TOLERANCE / 10
    if starts.pip_label[m] and starts.pip_change[m] > small:
        words.append(f"inclusion probabilities differ by up to {starts.pip_change[m]:.2f} "
                     f"({starts.pip_label[m]})")
    if starts.location_label[m] and starts.location_change[m] > small:
        words.append(f"means by up to {starts.location_change[m]:.2f} standard deviations "
                     f"({starts.location_label[m]})")
    return "".join(f", {w}" for w in words)


def diagnostic_messages(*, pareto_k: float, pareto_k_corrected: float, n_starts: int,
                        starts: StartComparison | None, converged: bool,
                        convergence_checked: bool, stop_reason: str, steps: int
                        ) -> tuple[str, ...]:
    """The warnings, in plain words: a k-hat above 0.7, starts that disagree, a fit stopped
    at its step cap without converging."""
    messages = []
    pooled = "" if n_starts == 1 else f" (pooled over the {n_starts} starts)"
    if not np.isnan(pareto_k) and pareto_k > PARETO_K_THRESHOLD:
        text = (f"PSIS k-hat is {pareto_k:.2f} (> {PARETO_K_THRESHOLD}): the approximation is "
                "far from the posterior where it matters, so its inclusion probabilities and "
                "standard deviations are not to be trusted (variational fits are typically "
                "too narrow and too sure).")
        if pareto_k_corrected <= PARETO_K_THRESHOLD:
            text += (f" The importance-corrected answers{pooled} have k-hat "
                     f"{pareto_k_corrected:.2f} and can be used: "
                     "result.inclusion_probabilities_corrected, result.mean_corrected, "
                     "result.sample(draws, importance=True).")
        else:
            text += (f" The importance-corrected answers{pooled} are no better (k-hat "
                     f"{pareto_k_corrected:.2f}). Try family=\"bit_conditioned\", more starts "
                     "(n_starts), or MCMC (pm.sample).")
        messages.append(text)
    elif not np.isnan(pareto_k_corrected) and pareto_k_corrected > PARETO_K_THRESHOLD:
        # The mixture's ratios are at most n_starts times any start's, so a heavy tail here
        # is every start's too, seen with more draws than the reported start's alone.
        messages.append(
            f"PSIS k-hat of the importance weights{pooled} is {pareto_k_corrected:.2f} (> "
            f"{PARETO_K_THRESHOLD}; the reported start's own draws read {pareto_k:.2f}): the "
            "approximation is far from the posterior somewhere its draws rarely go, so neither "
            "its answers nor the importance-corrected ones are to be trusted. Try "
            "family=\"bit_conditioned\", more starts (n_starts), or MCMC (pm.sample).")
    if starts is not None and not starts.agree:
        worst = int(np.argmax(np.where(starts.disagree, starts.answer_change
                                       + np.abs(starts.elbo_gap) * 1e-9, -np.inf)))
        text = (f"The {n_starts} starts disagree: start {worst} ended elsewhere than the "
                f"reported start {starts.best}{_answer_words(starts, worst)}")
        if starts.elbo_z[worst] <= START_ELBO_Z or abs(starts.elbo_gap[worst]) <= \
                START_ELBO_FLOOR:
            text += (", with an ELBO as good within its standard errors: either the posterior "
                     "has several modes that q cannot hold at once (and which one is reported "
                     "is chance), or the fit has not settled.")
        else:
            text += (f", with an ELBO {starts.elbo_gap[worst]:.2f} nats lower "
                     f"({starts.elbo_z[worst]:.0f} standard errors): the ELBO has several "
                     "optima, so a single start can land in a poor one.")
        text += (" Compare result.inclusion_probabilities_starts, and read the corrected "
                 "answers, which weigh every start's draws.")
        messages.append(text)
    if convergence_checked and not converged and stop_reason == "n":
        messages.append(f"The fit stopped at its step cap ({steps} steps) without converging: "
                        "the answer may still be moving. Continue it with result.refine(n), "
                        "or fit with a larger n.")
    return tuple(messages)


def warn(diagnostics: FitDiagnostics, stacklevel: int = 2) -> None:
    """Issue each of ``diagnostics.messages`` as a :class:`FitWarning`."""
    for message in diagnostics.messages:
        warnings.warn(message, FitWarning, stacklevel=stacklevel + 1)


# --- computing it
def diagnose(result, draws: int | None = None, random_seed=None) -> FitDiagnostics:
    """The diagnostics of ``result`` (a :class:`~pmcgrad.vi.result.FitResult`), from
    ``draws`` fresh draws per start at the reported parameters (``None``: 10000, fewer for a
    large model, :func:`~pmcgrad.vi.importance.default_draws`)."""
    fitter, state = result.fitter, result.state
    draws = default_draws(fitter) if draws is None else check_draws(draws, "draws")
    structure, best = fitter.structure, result.best_start
    labels = flat_labels(structure.bits, fitter.model)
    all_pips = result.inclusion_probabilities_starts if structure.n_bits else None
    pips = all_pips[best] if structure.n_bits else np.zeros(0)
    params = dict(state.answer)
    rng = streams.numpy_rng(random_seed)
    starts = None
    if result.final_elbos.shape[0] > 1:
        means, sds = _start_moments(fitter, params, all_pips, min(draws, 1000), rng)
        starts = compare_starts(result.final_elbos, result.final_elbo_se, best, pips=all_pips,
                                means=means, sds=sds, bit_labels=labels,
                                real_labels=flat_labels(structure.reals, fitter.model))
    snr = gradient_snr(state.logit_gradient_mean, state.logit_gradient_variance)
    checked = bool(result.run_options.get("convergence") is None
                   or result.run_options["convergence"].enabled)
    common = dict(
        draws=draws, best_start=best, bit_labels=labels, inclusion_probabilities=pips,
        elbo=result.elbo, elbo_se=float(result.final_elbo_se[best]),
        elbos=result.final_elbos, elbo_ses=result.final_elbo_se, starts=starts,
        collapsed=tuple(label for label, flag in zip(labels, collapsed(pips), strict=True)
                        if flag),
        logit_snr=None if snr is None else snr[best], converged=result.converged,
        stop_reason=result.stop_reason, steps=result.steps, convergence_checked=checked,
    )
    words = dict(n_starts=result.final_elbos.shape[0], starts=starts,
                 converged=result.converged, convergence_checked=checked,
                 stop_reason=result.stop_reason, steps=result.steps)
    reason = unavailable_reason(fitter)
    if reason is not None:
        return FitDiagnostics(**common, unavailable_reason=reason, messages=diagnostic_messages(
            pareto_k=float("nan"), pareto_k_corrected=float("nan"), **words))
    proposal = draw_proposal(fitter, params, draws, rng)
    per_start = psis((proposal.log_p - proposal.own_log_q).T)  # (M,) k-hats
    pooled = importance_sample(proposal)
    bits = pooled.bits[:, : structure.n_bits]  # (category codes 0/1 in categorical mode)
    corrected = pooled.mean(bits) if structure.n_bits else None
    mcse = pooled.mcse(bits) if structure.n_bits else None
    khat = float(per_start.pareto_k[best])
    return FitDiagnostics(
        **common, pareto_k=khat, pareto_k_starts=np.asarray(per_start.pareto_k),
        pareto_k_corrected=pooled.pareto_k, importance_ess=pooled.ess,
        inclusion_probabilities_corrected=corrected,
        inclusion_probabilities_corrected_mcse=mcse, log_evidence=pooled.log_evidence,
        messages=diagnostic_messages(pareto_k=khat, pareto_k_corrected=pooled.pareto_k,
                                     **words),
        importance=pooled,
    )


def _start_moments(fitter, params, pips, draws: int, rng: np.random.Generator):
    """Means and standard deviations ``(M, D)`` of the continuous variables under each
    start's q, from the same uniforms and Gaussian noise for every start (common random
    numbers: two starts with equal parameters get equal draws, so a difference is theirs,
    not the noise's); ``(None, None)`` without continuous variables."""
    structure = fitter.structure
    if fitter.family is None:
        return None, None
    uniforms = rng.random((draws, structure.n_bits)) if pips is not None else None
    eps = rng.normal(size=(draws, structure.n_reals))
    means, sds = [], []
    for m in range(np.asarray(next(iter(params.values()))).shape[0]):
        bits = None if uniforms is None else (uniforms < pips[m]).astype("int64")
        reals = fitter.draw_reals(params, eps, m, bits)
        means.append(reals.mean(axis=0))
        sds.append(reals.std(axis=0, ddof=1))
    return np.array(means), np.array(sds)


def check_draws(value, name: str) -> int:
    """A draw count for PSIS: an int of at least :data:`~pmcgrad.vi.importance.MIN_DRAWS`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int (draws per start), got {value!r} "
                        f"({type(value).__name__})")
    if value < MIN_DRAWS:
        raise ValueError(f"{name} must be >= {MIN_DRAWS} (PSIS fits the largest "
                         f"fifth of the weights), got {value}")
    return int(value)
