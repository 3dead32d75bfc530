"""Study objectives with exact references (pure NumPy / SciPy; no PyTensor or PyMC).

* :mod:`~pmcgrad.problems.toy` -- separable toy f(b) = sum_i (b_i - t)^2, closed forms, and
  the exact variance of each estimator at k = 1 (the study's checks).
* :mod:`~pmcgrad.problems.enumerate` -- exact E_q f and grad_phi E_q f by enumeration.
* :mod:`~pmcgrad.problems.qubo` -- random quadratic objective with a closed-form gradient.
* :mod:`~pmcgrad.problems.spike_slab` -- spike-and-slab regression: exact posterior
  inclusion / evidence by enumeration, and mean-field CAVI.
"""

__all__ = [
    "EXACT_POSTERIOR_MAX_K",
    "K1_CLOSED_FORM_ESTIMATORS",
    "MAX_ENUMERATION_BITS",
    "ClosedFormVariance",
    "MeanFieldFit",
    "Qubo",
    "SpikeSlabData",
    "all_bit_vectors",
    "best_meanfield_optimum",
    "exact_expectation",
    "exact_gradient",
    "exact_log_evidence",
    "exact_model_posterior",
    "exact_posterior_inclusion",
    "k1_variance",
    "k1_variance_at_cost",
    "meanfield_cavi",
    "meanfield_elbo",
    "qubo_expectation",
    "qubo_gradient",
    "qubo_objective",
    "random_qubo",
    "simulate_spike_slab",
    "toy_expectation",
    "toy_gradient",
    "toy_objective",
]

from pmcgrad.problems.enumerate import (
    MAX_ENUMERATION_BITS,
    all_bit_vectors,
    exact_expectation,
    exact_gradient,
)
from pmcgrad.problems.qubo import (
    Qubo,
    qubo_expectation,
    qubo_gradient,
    qubo_objective,
    random_qubo,
)
from pmcgrad.problems.spike_slab import (
    EXACT_POSTERIOR_MAX_K,
    MeanFieldFit,
    SpikeSlabData,
    best_meanfield_optimum,
    exact_log_evidence,
    exact_model_posterior,
    exact_posterior_inclusion,
    meanfield_cavi,
    meanfield_elbo,
    simulate_spike_slab,
)
from pmcgrad.problems.toy import (
    K1_CLOSED_FORM_ESTIMATORS,
    ClosedFormVariance,
    k1_variance,
    k1_variance_at_cost,
    toy_expectation,
    toy_gradient,
    toy_objective,
)
