"""Hard zeros and fixed bits: the Bernoulli states a model gives probability zero.

A zero-inflated Poisson ``y_n ~ Poisson(lam * (1 - z_n))`` makes ``z_n = 1`` impossible
wherever ``y_n > 0``; an occupancy model ``y ~ Bernoulli(z * p)`` makes ``z_site = 0``
impossible wherever the site had a detection; a Bernoulli whose ``p`` is exactly 0 or 1
makes one state impossible outright. The log density there is -inf *whatever the
continuous values*, so any ``q`` that gives such a state mass has an ELBO of -inf.

:func:`analyse_feasibility` finds these states by evaluating the model's log-density terms
(docs/math.md, "Hard zeros and fixed bits"):

- **Rows.** With per-observation latents a row is one observation's bits (its terms depend
  on its bits alone); otherwise the whole bit vector is one row.
- **Enumerated rows** (at most :data:`ENUMERATE_MAX_BITS` bits): every state of every row is
  evaluated, at :data:`PROBE_POINTS` continuous points (the model's initial point and jitters
  around it). A state is *infeasible* when its row's log density is -inf at every point.
  The feasible states must form a product set (each bit either free or fixed), the only
  zero-mass sets a factorised ``q`` can represent; the fixed bits become constants.
- **Larger rows:** each bit is flipped, one at a time, from the model's initial point (which
  PyMC's start check requires to be finite). A flip that makes the row -inf at every point
  fixes that bit. Impossible *combinations* of free bits are not found this way; should the
  fit draw one, the non-finite error names the term (:func:`explain_non_finite`).

A row with no feasible state, or whose feasible states are not a product set, has no
factorised ``q`` with a finite ELBO: :class:`InfeasibleModelError` names the row's latents,
the states and the log-density terms that are -inf.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.exceptions import SamplingError
from pytensor.compile.mode import Mode

from pmcgrad.vi.model import FixedBits, ModelStructure

if TYPE_CHECKING:
    from pmcgrad.vi.fitter import Fitter
    from pmcgrad.vi.state import FitState

__all__ = [
    "ENUMERATE_MAX_BITS",
    "PROBE_MODE",
    "PROBE_POINTS",
    "Feasibility",
    "InfeasibleModelError",
    "analyse_feasibility",
    "check_start",
    "explain_non_finite",
    "feasible_start",
]

# Rows of at most this many bits have every state checked (16 states); larger rows are
# probed one flip at a time.
ENUMERATE_MAX_BITS = 4
# Continuous points each state is checked at: the initial point and jitters around it, on the
# unconstrained space. A state is infeasible only if it is -inf at all of them.
PROBE_POINTS = 4
_PROBE_SEED = 20261129
_JITTER_SCALE = 1.0
# The probe runs once per model on a few dozen configurations: PyTensor's full rewriting and
# a Numba (or C) compilation would cost seconds and save milliseconds, so it runs on NumPy.
PROBE_MODE = Mode(linker="py", optimizer="fast_compile")
# Batch rows (configurations x points) per probe call, at most: bounds the probe's memory.
_CHUNK = 64
# ... and at most this many latent values per call, so a model with many local rows probes a
# few configurations at a time (64 configurations of 50,000 images x 16 codes needed 5.6 GB
# of intermediate arrays; now 0.74 GB at its peak, tests/vi/test_memory.py).
_CHUNK_BITS = 1 << 22
# Draws from q that explain_non_finite evaluates.
_EXPLAIN_DRAWS = 64

_RESULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class InfeasibleModelError(SamplingError):
    """No factorised Bernoulli ``q`` gives the model a finite log density: some row's
    Bernoulli states are all impossible, or the impossible ones are not a product set. The
    message names the latents, the states and the log-density terms that are -inf."""


@dataclass(frozen=True)
class Feasibility:
    """What the probe found: ``fixed`` (``None`` when every bit is free) and a configuration
    ``start_bits (K,)`` with a finite log density at the model's initial point where one was
    found (for PyMC's start check)."""

    fixed: FixedBits | None
    start_bits: np.ndarray


def analyse_feasibility(structure: ModelStructure) -> Feasibility:
    """Find the bits the model fixes (see the module docstring); cached per model, layout and
    data values (``pm.Data`` changes are seen). Models with categorical latents are not
    probed: their bits are never fixed, and PyMC's own start check runs instead."""
    if not structure.n_bits or structure.codes:
        return Feasibility(None, np.zeros(0))
    key = (_layout_key(structure), _data_fingerprint(structure.model))
    per_model = _RESULTS.setdefault(structure.model, {})
    if key not in per_model:
        per_model.clear()  # earlier data or layouts are not coming back often; keep one
        per_model[key] = _analyse(structure)
    return per_model[key]


def parameter_error(model: pm.Model, error: Exception) -> SamplingError:
    """A ``SamplingError`` naming the variables whose parameters are outside their support
    (a Bernoulli's ``p`` of NaN or 1.5, say), for PyMC's bare ``ParameterValueError``: each
    variable's log density is evaluated alone at the initial point, where PyMC's compiled
    check gives -inf (on this error path only)."""
    point = model.initial_point()
    names = []
    for rv in model.basic_RVs:
        try:
            value = model.compile_logp(vars=[rv], mode=PROBE_MODE)(point)
        except Exception:
            continue
        if not np.isfinite(value):
            names.append(rv.name)
    culprits = f"of {names}" if names else "of the model"
    return SamplingError(f"the parameters {culprits} are outside their support: "
                         f"{str(error).splitlines()[0]}. Check their values (NaN, inf, a "
                         "probability outside [0, 1])")


def feasible_start(structure: ModelStructure, feasibility: Feasibility) -> dict:
    """The model's initial point with the bits at ``feasibility.start_bits`` (for
    ``model.check_start_vals``)."""
    point = structure.model.initial_point()
    for name, value in structure.split(feasibility.start_bits[None], structure.bits).items():
        point[name] = value[0].astype(point[name].dtype)
    return point


def check_start(structure: ModelStructure, feasibility: Feasibility) -> None:
    """PyMC's start check (``model.check_start_vals``) at the initial point with the bits at
    ``feasibility.start_bits``, from the probe's function: a non-finite term raises
    ``SamplingError`` naming it, as PyMC's does, without compiling a function of its own
    (a cold Numba compilation of PyMC's took 10 s of a first fit)."""
    if structure.codes:  # not probed (analyse_feasibility): PyMC's check at its initial point
        structure.model.check_start_vals(structure.model.initial_point())
        return
    bits = feasibility.start_bits[None] if structure.n_bits else None
    reals = structure.initial_reals[None] if structure.n_reals else None
    values = _evaluate(structure, bits, reals)[:, 0]  # (T, R)
    local = set(structure.local.local_terms) if structure.local is not None else set()
    # A local term's rows add up; a global term is repeated in every row.
    totals = [float(row.sum() if position in local else row[0])
              for position, row in enumerate(values)]
    if all(np.isfinite(totals)):
        return
    point = feasible_start(structure, feasibility)
    results = {name: round(total, 2) for name, total in zip(structure.term_names(), totals,
                                                            strict=True)}
    raise SamplingError(
        "Initial evaluation of model at starting point failed!\n"
        f"Starting values:\n{point}\n\nLogp initial evaluation results:\n{results}\n"
        "You can call `model.debug()` for more details."
    )


def explain_non_finite(fitter: Fitter, state: FitState) -> str | None:
    """Which log-density term is -inf (or NaN) under draws from ``state``'s approximation,
    in words, or ``None`` if none of :data:`_EXPLAIN_DRAWS` draws shows one."""
    structure = fitter.structure
    rng = np.random.default_rng(_PROBE_SEED)
    params = state.params
    bits = None
    if structure.n_bits:
        logits = np.asarray(params["logits"], dtype=float)
        if structure.fixed is not None:
            logits = structure.fixed.pin_logits(logits)
        probs = 1 / (1 + np.exp(-logits))  # (M, K)
        starts = rng.integers(0, probs.shape[0], _EXPLAIN_DRAWS)
        bits = (rng.random((_EXPLAIN_DRAWS, structure.n_bits)) < probs[starts]).astype(float)
    else:
        starts = np.zeros(_EXPLAIN_DRAWS, dtype=int)
    reals = None
    if structure.n_reals:
        eps = rng.normal(size=(_EXPLAIN_DRAWS, structure.n_reals))
        reals = np.stack([fitter.draw_reals(params, eps[i : i + 1], int(starts[i]),
                                            None if bits is None else bits[i : i + 1])[0]
                          for i in range(_EXPLAIN_DRAWS)])
    values = _evaluate(structure, bits, reals)  # (T, B, R)
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    names = structure.term_names()
    term, draw, row = (int(i[0]) for i in np.nonzero(bad))
    kind = "NaN" if np.isnan(values[term, draw, row]) else f"{values[term, draw, row]:g}"
    draws_hit = int(bad[term].any(axis=-1).sum())
    where = "" if structure.local is None else f" in {_row_name(structure, row)}"
    latents = ""
    if bits is not None:
        latents = " with " + ", ".join(
            f"{_bit_name(structure, index)} = {int(bits[draw, index])}"
            for index in _row_bits(structure, row)[:4])
    return (f"the log-density term of {names[term]!r} is {kind}{where} for {draws_hit} of "
            f"{_EXPLAIN_DRAWS} draws from the current approximation (e.g.{latents}). States "
            "that are -inf whatever the continuous values get zero mass automatically (hard "
            "zeros, see the README); this one is -inf at some continuous values only, so the "
            "model's support depends on its continuous parameters: reparametrise so that it "
            "does not (e.g. a bounded parameter through a transform), or give start= values "
            "inside the support")


# --- the probe
def _analyse(structure: ModelStructure) -> Feasibility:
    rows = _row_index(structure)  # (R, k_row) flat bit indices
    k_row = rows.shape[1]
    if k_row <= ENUMERATE_MAX_BITS:
        states = ((np.arange(2**k_row)[:, None] >> np.arange(k_row)[::-1]) & 1).astype(float)
        configs = np.zeros((states.shape[0], structure.n_bits))
        configs[:, rows] = states[:, None, :]  # state s in every row at once
    else:
        base = _initial_bits(structure)
        configs = np.repeat(base[None], k_row + 1, axis=0)
        for i in range(k_row):  # configuration 1 + i flips bit i of every row
            configs[1 + i, rows[:, i]] = 1 - base[rows[:, i]]
    points = _probe_points(structure)
    n_configs, n_points = configs.shape[0], max(points.shape[0], 1)
    bits = np.repeat(configs.astype(np.int8), n_points, axis=0)  # 0/1: a byte each
    reals = None if not structure.n_reals else np.tile(points, (n_configs, 1))
    values = _evaluate(structure, bits, reals)  # (T, C * P, R)
    values = values.reshape(values.shape[0], n_configs, n_points, -1)
    infeasible = np.all(values.sum(axis=0) == -np.inf, axis=1)  # (C, R)
    if k_row <= ENUMERATE_MAX_BITS:
        return _from_enumeration(structure, rows, states, infeasible, values)
    return _from_flips(structure, rows, configs[0], infeasible, values)


def _from_enumeration(structure, rows, states, infeasible, values) -> Feasibility:
    feasible = ~infeasible  # (S, R)
    can_be_one = (feasible[:, None, :] & (states[:, :, None] == 1)).any(axis=0)  # (k, R)
    can_be_zero = (feasible[:, None, :] & (states[:, :, None] == 0)).any(axis=0)
    free = can_be_one & can_be_zero
    count = feasible.sum(axis=0)
    for row in np.flatnonzero(count == 0):
        raise InfeasibleModelError(_no_state_message(structure, rows, states, values, row))
    for row in np.flatnonzero(count != 2 ** free.sum(axis=0)):
        raise InfeasibleModelError(_not_product_message(structure, rows, states, values,
                                                        feasible, row))
    fixed_rows, fixed_positions = np.nonzero(~free.T)  # (F,) each
    fixed_values = can_be_one[fixed_positions, fixed_rows].astype(float)
    # The state that shows why: the row's first infeasible state.
    excluded = np.argmax(infeasible[:, fixed_rows], axis=0)  # (F,)
    causes = values[:, excluded, :, fixed_rows]  # (F, T, P)
    # A start configuration: per row, a feasible state, finite at the initial point if any.
    at_start = np.isfinite(values[:, :, 0].sum(axis=0))  # (S, R)
    choice = np.argmax(np.where(at_start & feasible, 2, 0) + feasible, axis=0)  # (R,)
    start_bits = np.zeros(structure.n_bits)
    start_bits[rows] = states[choice]
    return Feasibility(_fixed_bits(structure, rows[fixed_rows, fixed_positions], fixed_values,
                                   causes), start_bits)


def _from_flips(structure, rows, base, infeasible, values) -> Feasibility:
    base_ok = ~infeasible[0]  # (R,); a row -inf at its start says nothing about single bits
    fixed_positions, fixed_rows = np.nonzero(infeasible[1:] & base_ok[None])  # (F,) each
    index = rows[fixed_rows, fixed_positions]
    causes = values[:, 1 + fixed_positions, :, fixed_rows]  # (F, T, P)
    return Feasibility(_fixed_bits(structure, index, base[index], causes), base)


def _fixed_bits(structure, index, values, causes) -> FixedBits | None:
    """``FixedBits`` for flat ``index (F,)`` at ``values (F,)``; ``causes (F, T, P)`` are the
    term values of each bit's excluded state (for the reasons)."""
    if not index.size:
        return None
    order = np.argsort(index)
    index, values, causes = index[order], values[order], causes[order]
    names = structure.term_names()
    reasons = []
    for block in structure.bits:
        inside = np.flatnonzero((index >= block.start) & (index < block.stop))
        if not inside.size:
            continue
        terms = sorted({names[t] for i in inside[:8] for t in _infinite_terms(causes[i])})
        ones = int(values[inside].sum())
        reasons.append(f"{block.rv_name}: {inside.size} of {block.size} bits fixed "
                       f"({inside.size - ones} at 0, {ones} at 1); their other state makes "
                       f"{', '.join(repr(t) for t in terms)} -inf")
    return FixedBits(structure.n_bits, index, values, tuple(reasons))


def _infinite_terms(term_values: np.ndarray) -> list[int]:
    """Terms ``(T, P)`` that are -inf at every point."""
    return [int(t) for t in np.flatnonzero(np.all(term_values == -np.inf, axis=1))]


def _evaluate(structure: ModelStructure, bits, reals) -> np.ndarray:
    """Per-term, per-row log density ``(T, B, R)`` at ``bits (B, K)`` and ``reals (B, D)``,
    in chunks of at most :data:`_CHUNK` rows and :data:`_CHUNK_BITS` latent values (``R = 1``
    without local latents)."""
    function = _probe_function(structure)
    batch = (bits if bits is not None else reals).shape[0]
    chunk = max(1, min(_CHUNK, _CHUNK_BITS // max(structure.n_bits, 1)))
    out = []
    for begin in range(0, batch, chunk):
        inputs = [np.asarray(a[begin : begin + chunk], dtype=float)
                  for a in (bits, reals) if a is not None]
        out.append(np.asarray(function(*inputs)))
    return np.concatenate(out, axis=1)


def _probe_function(structure: ModelStructure):
    """Compiled once per model and layout: ``(bits, reals) -> (T, B, R)``."""
    per_model = _FUNCTIONS.setdefault(structure.model, {})
    key = _layout_key(structure)
    if key not in per_model:
        per_model.clear()
        bits = pt.matrix("bits") if structure.n_bits else None
        reals = pt.matrix("reals") if structure.n_reals else None
        terms = structure.log_density_terms(bits, reals)
        local = structure.local
        rows = []
        for position, term in enumerate(terms):
            if local is not None and position in local.local_terms:
                rows.append(term.sum(axis=tuple(range(2, term.ndim))))  # (B, R)
            else:
                total = term.sum(axis=tuple(range(1, term.ndim)))  # (B,)
                rows.append(pt.broadcast_to(total[:, None], (total.shape[0],
                                                             local.rows if local else 1)))
        per_model[key] = pytensor.function([v for v in (bits, reals) if v is not None],
                                           pt.stack(rows), mode=PROBE_MODE,
                                           on_unused_input="ignore")
    return per_model[key]


def _probe_points(structure: ModelStructure) -> np.ndarray:
    if not structure.n_reals:
        return np.zeros((0, 0))
    rng = np.random.default_rng(_PROBE_SEED)
    jitter = rng.normal(scale=_JITTER_SCALE, size=(PROBE_POINTS - 1, structure.n_reals))
    return structure.initial_reals + np.concatenate([np.zeros((1, structure.n_reals)), jitter])


def _initial_bits(structure: ModelStructure) -> np.ndarray:
    point = structure.model.initial_point()
    return np.concatenate([np.ravel(point[b.name]) for b in structure.bits]).astype(float)


def _row_index(structure: ModelStructure) -> np.ndarray:
    if structure.local is not None:
        return structure.local.row_index
    return np.arange(structure.n_bits)[None]


def _row_bits(structure: ModelStructure, row: int) -> list[int]:
    return [int(i) for i in _row_index(structure)[row]]


def _layout_key(structure: ModelStructure) -> tuple:
    local = structure.local
    return (structure.n_bits, structure.n_reals, len(structure.model.named_vars),
            None if local is None else (local.dim, local.local_terms))


def _data_fingerprint(model) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for var in model.data_vars:
        value = np.asarray(var.get_value(borrow=True))
        digest.update(f"{var.name}{value.shape}{value.dtype}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


# --- messages
def _block_of(structure: ModelStructure, index: int):
    return next(b for b in structure.bits if b.start <= index < b.stop)


def _bit_name(structure: ModelStructure, index: int) -> str:
    block = _block_of(structure, index)
    if not block.shape:
        return block.rv_name
    position = np.unravel_index(index - block.start, block.shape)
    return f"{block.rv_name}[{', '.join(str(int(p)) for p in position)}]"


def _row_name(structure: ModelStructure, row: int) -> str:
    local = structure.local
    return "the model" if local is None else f"row {row} of {local.dim!r}"


def _state_text(structure, bits, state) -> str:
    return ", ".join(f"{_bit_name(structure, int(b))} = {int(v)}"
                     for b, v in zip(bits, state, strict=True))


def _terms_text(structure, term_values) -> str:
    """``{'y': -inf}`` for the terms that are -inf at every point (``(T, P)``)."""
    names = structure.term_names()
    return "{" + ", ".join(f"{names[t]!r}: -inf" for t in _infinite_terms(term_values)) + "}"


def _no_state_message(structure, rows, states, values, row) -> str:
    bits = rows[row]
    lines = [f"{_state_text(structure, bits, state)}: "
             f"{_terms_text(structure, values[:, s, :, row])}"
             for s, state in enumerate(states[:4])]
    more = "" if states.shape[0] <= 4 else f" (and {states.shape[0] - 4} more states)"
    return (
        f"every state of the Bernoulli latents of {_row_name(structure, row)} gives the model "
        f"a log density of -inf, at every continuous point tried: " + "; ".join(lines) + more
        + ". No variational distribution has a finite ELBO: check the data and the support "
        "of these terms (model.debug())"
    )


def _not_product_message(structure, rows, states, values, feasible, row) -> str:
    bits = rows[row]
    bad = [s for s in range(states.shape[0]) if not feasible[s, row]]
    lines = [f"{_state_text(structure, bits, states[s])}: "
             f"{_terms_text(structure, values[:, s, :, row])}" for s in bad[:4]]
    return (
        f"the Bernoulli latents of {_row_name(structure, row)} have impossible states (log "
        f"density -inf whatever the continuous values) that are not a product set: "
        + "; ".join(lines) + ". pmcgrad's q gives the bits independent probabilities, so it "
        "can give zero mass only to the states of bits it fixes; here no bit can be fixed "
        "without also excluding possible states. Supported: impossible states that come from "
        "single bits (each bit either free or fixed by the model). Recode these latents, "
        "e.g. as one Bernoulli per allowed combination, or marginalise them out"
    )
