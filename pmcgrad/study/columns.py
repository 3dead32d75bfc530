"""The column contract of the study's tidy tables (one row per configuration).

The workflow writes these tables and the report reads them; both import the names from here.
"""

from __future__ import annotations

__all__ = [
    "CHAIN_COLUMNS",
    "GRADIENT_COLUMNS",
    "MODEL_COLUMNS",
    "MODEL_TRACE_COLUMNS",
    "OPTIMISATION_COLUMNS",
    "RUNTIME_COLUMNS",
    "SBN_COLUMNS",
]

# results/gradient.csv: one row per problem x estimator x k x logit setting x seed.
GRADIENT_COLUMNS = [
    "problem",  # "toy_t0.45" | "toy_t0.49" | "toy_t0.499" | "qubo" | "spike_slab"
    "estimator",  # registered name
    "k",  # number of bits
    "logits",  # "zero" | "random" | "saturated"
    "seed",  # int, the job's seed
    "draws",  # number of per-draw gradient estimates used for the statistics
    "evaluations_per_draw",  # f-evaluations per draw
    "unbiased",  # registry flag
    "bias",  # mean over coordinates of |mean estimate - exact gradient|
    "bias_se",  # standard error of that mean difference (root mean square over coordinates)
    "max_bias_z",  # max over coordinates of |mean - exact| / se (NaN where se == 0)
    "bias_within_error",  # bool: every coordinate within z_k se (+ 1e-9 absolute); z_k = 4 at
    # k = 1, Bonferroni over the k coordinates above (4.9 at k = 64): gradient.bias_threshold
    "variance",  # mean over coordinates of the per-draw variance
    "mse",  # variance + bias^2, mean over coordinates
    "variance_x_evaluations",  # variance * evaluations_per_draw: cost-adjusted efficiency
    "exact_gradient_norm",  # ||exact gradient||_2, for scale
]

# results/chain.csv: the coupling chain at equal f-evaluations, k = 1 closed forms included.
CHAIN_COLUMNS = [
    "estimator",  # exp_score | ar | antithetic_exp | arm | disarm (plus reinforce, reinforce_loo)
    "k",
    "t",  # toy target
    "seed",
    "evaluations",  # f-evaluations per gradient estimate (equalised across estimators)
    "variance",  # variance of one gradient estimate at that cost, mean over coordinates
    "variance_se",  # its Monte Carlo standard error
    "closed_form",  # MATH.md's exact variance at k = 1 (NaN where none)
]

# results/optimisation.csv: loss curves, one row per recorded step.
OPTIMISATION_COLUMNS = [
    "t",  # toy target 0.499 or 0.49
    "k",
    "estimator",
    "seed",
    "step",
    "seconds",  # wall time since the start of the run
    "loss",  # exact E_q[f] at the current logits (closed form), not the noisy estimate
]

# results/model.csv: spike-and-slab fits, one row per fit x predictor.
MODEL_COLUMNS = [
    "k",
    "design_seed",
    "method",  # estimator name | "mcmc" | "exact"
    "family",  # "meanfield" | "fullrank" | ... ("" for mcmc and exact)
    "predictor",  # index j
    "inclusion",  # fitted / sampled / exact inclusion probability of predictor j
    "exact_inclusion",
    "abs_error",  # |inclusion - exact_inclusion|
    "elbo",  # final ELBO estimate (NaN for mcmc / exact)
    "seconds",  # wall time of the fit or of pm.sample
    "netcdf",  # relative path of the saved DataTree ("" for exact)
]

# results/runtimes.csv: benchmark and rule runtimes for the report's performance section.
RUNTIME_COLUMNS = ["name", "value", "unit", "note"]

# results/model_traces.csv: ELBO traces of the model study's fits (thinned).
MODEL_TRACE_COLUMNS = ["k", "design_seed", "estimator", "family", "step", "seconds", "elbo"]

# results/sbn.csv: sigmoid belief network on binarised digits, one row per checkpoint.
SBN_COLUMNS = [
    "k",  # number of binary codes per image
    "estimator",
    "seed",
    "step",  # optimisation steps so far
    "seconds",  # wall time since the start of the fit, compile included, held-out bound excluded
    "train_elbo",  # mean of -loss over the last chunk of steps, per training image (nats)
    "logit_gradient_variance",  # mean over the chunk of the running logit-gradient variance
    "heldout_log_likelihood",  # importance-sampled held-out bound per test image (nats)
]
