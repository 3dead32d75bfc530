"""The contracts of the study's tidy tables: their columns, in order, and what each may hold.

The workflow writes these tables and the report reads them; both go through
:mod:`pmcgrad.study.tables`, which checks every file against its contract here: the header,
the type of every cell, and that key columns (those that say which configuration a row
describes) are never missing. A column marked ``may_be_nan`` holds the text ``NaN`` where the
value does not exist; an empty cell is never a value, except in a column marked
``may_be_empty``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BENCHMARK_SUITE",
    "CATEGORICAL",
    "CATEGORICAL_COLUMNS",
    "CHAIN",
    "CHAIN_COLUMNS",
    "CONTRACTS",
    "EXACT_POSTERIOR",
    "GRADIENT",
    "GRADIENT_COLUMNS",
    "MCMC",
    "MEANFIELD_OPTIMUM",
    "MODEL",
    "MODEL_COLUMNS",
    "MODEL_TRACES",
    "MODEL_TRACE_COLUMNS",
    "NOT_A_FIT",
    "OPTIMISATION",
    "OPTIMISATION_COLUMNS",
    "RUNTIMES",
    "RUNTIME_COLUMNS",
    "SBN",
    "SBN_COLUMNS",
    "SCALE",
    "SCALE_COLUMNS",
    "SCALE_REFERENCE",
    "Column",
    "TableContract",
]

#: model.csv's ``method`` of the exact posterior inclusion probabilities (enumerated). A fit
#: whose logit gradients come from the ``exact`` estimator has ``method = "exact"``.
EXACT_POSTERIOR = "exact_posterior"
#: model.csv's ``method`` of PyMC's MCMC (and scale.csv's).
MCMC = "mcmc"
#: model.csv's ``method`` of the best optimum of the mean-field family, found by multi-start
#: coordinate ascent (``pmcgrad.problems.best_meanfield_optimum``): the answer a mean-field fit
#: should converge to.
MEANFIELD_OPTIMUM = "meanfield_optimum"
#: model.csv's ``family`` for rows that are not a variational fit (MCMC, the exact posterior).
NOT_A_FIT = "not_a_fit"


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, the Python type of its cells and what may be absent."""

    name: str
    kind: type  # int, float, bool or str
    doc: str
    key: bool = False  # says which configuration the row describes: never missing
    may_be_nan: bool = False  # a float column whose value may not exist ("NaN" in the file)
    may_be_empty: bool = False  # a str column where "" is a value

    def __post_init__(self) -> None:
        if self.kind not in (int, float, bool, str):
            raise TypeError(f"column {self.name!r}: kind must be int, float, bool or str")
        if self.key and (self.may_be_nan or self.may_be_empty):
            raise ValueError(f"key column {self.name!r} cannot be missing")


@dataclass(frozen=True)
class TableContract:
    """A table's columns, in file order."""

    name: str  # the aggregated table is results/{name}.csv
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        """The header, in order."""
        return [column.name for column in self.columns]

    @property
    def keys(self) -> list[str]:
        """The key columns."""
        return [column.name for column in self.columns if column.key]


def _key(name: str, kind: type, doc: str) -> Column:
    return Column(name, kind, doc, key=True)


# results/gradient.csv: one row per problem x estimator x k x logit setting x seed.
GRADIENT = TableContract("gradient", (
    _key("problem", str, "toy_t0.45 | toy_t0.49 | toy_t0.499 | qubo | spike_slab"),
    _key("estimator", str, "registered name"),
    _key("k", int, "number of bits"),
    _key("logits", str, "zero | random | saturated"),
    _key("seed", int, "the job's seed"),
    Column("draws", int, "number of per-draw gradient estimates used for the statistics"),
    Column("evaluations_per_draw", int, "f-evaluations per draw"),
    Column("unbiased", bool, "registry flag"),
    Column("bias", float, "mean over coordinates of |mean estimate - exact gradient|"),
    Column("bias_se", float, "standard error of that difference (root mean square over "
                             "coordinates)"),
    Column("max_bias_z", float, "max over coordinates of |mean - exact| / se (NaN where every "
                                "se is at rounding level)", may_be_nan=True),
    Column("bias_within_error", bool, "every coordinate within z_k se (+ 1e-9 absolute); z_k = "
                                      "pmcgrad.study.gradient.bias_threshold(k), 4 at k = 1 and "
                                      "4.9 at k = 64 (Bonferroni over the k coordinates)"),
    Column("variance", float, "mean over coordinates of the per-draw variance"),
    Column("mse", float, "variance + bias^2, mean over coordinates"),
    Column("variance_x_evaluations", float, "variance * evaluations_per_draw: efficiency at "
                                            "equal cost"),
    Column("exact_gradient_norm", float, "||exact gradient||_2, for scale"),
))

# results/chain.csv: the coupling chain at equal f-evaluations, k = 1 closed forms included.
CHAIN = TableContract("chain", (
    _key("estimator", str, "exp_score | ar | antithetic_exp | arm | disarm (plus reinforce, "
                           "reinforce_loo)"),
    _key("k", int, "number of bits"),
    _key("t", float, "toy target"),
    _key("seed", int, "the job's seed"),
    Column("evaluations", int, "f-evaluations per gradient estimate (equal for every "
                               "estimator)"),
    Column("variance", float, "variance of one gradient estimate at that cost, mean over "
                              "coordinates"),
    Column("variance_se", float, "its Monte Carlo standard error"),
    Column("closed_form", float, "the exact variance at k = 1 (pmcgrad.problems.k1_variance); "
                                 "NaN where there is none", may_be_nan=True),
))

# results/optimisation.csv: loss curves, one row per recorded step.
OPTIMISATION = TableContract("optimisation", (
    _key("t", float, "toy target"),
    _key("k", int, "number of bits"),
    _key("estimator", str, "registered name"),
    _key("seed", int, "the run's seed"),
    _key("step", int, "optimisation steps so far"),
    Column("seconds", float, "wall time since the start of the run"),
    Column("loss", float, "exact E_q[f] at the current logits (closed form), not the noisy "
                          "estimate"),
))

# results/model.csv: spike-and-slab fits, one row per fit x predictor. The per-fit columns
# (elbo, seconds, steps, converged, netcdf) repeat on each predictor's row; a per-fit
# diagnostic added later (a PSIS k-hat, say) is one more such column, and an answer of its own
# (importance-corrected inclusion probabilities) one more per-predictor column beside
# ``inclusion`` (pmcgrad.study.report.chapters.model reads both kinds from lists).
MODEL = TableContract("model", (
    _key("k", int, "number of predictors"),
    _key("design_seed", int, "seed of the simulated data set"),
    _key("method", str, f"estimator name of a fit | {MCMC!r} | {EXACT_POSTERIOR!r} | "
                        f"{MEANFIELD_OPTIMUM!r}"),
    _key("family", str, f"variational family of a fit; {NOT_A_FIT!r} for MCMC, the exact "
                        "posterior and the mean-field optimum"),
    _key("seed", int, "the config seed the row's randomness derives from (a fit's; the first "
                      "of model.seeds for the other rows)"),
    _key("predictor", int, "index j"),
    Column("inclusion", float, "fitted / sampled / exact inclusion probability of predictor j "
                               "(NaN for the exact posterior above its enumeration limit)",
           may_be_nan=True),
    Column("exact_inclusion", float, "the exact posterior's (NaN above the enumeration limit)",
           may_be_nan=True),
    Column("abs_error", float, "|inclusion - exact_inclusion|", may_be_nan=True),
    Column("inclusion_corrected", float, "a fit's importance-corrected inclusion probability "
                                         "(result.diagnostics.inclusion_probabilities_"
                                         "corrected); NaN for the other rows",
           may_be_nan=True),
    Column("pareto_k", float, "a fit's PSIS k-hat (result.diagnostics.pareto_k); NaN for the "
                              "other rows", may_be_nan=True),
    Column("elbo", float, "final low-noise ELBO estimate of a fit; the exact ELBO of the "
                          "mean-field optimum; NaN for MCMC and the exact posterior",
           may_be_nan=True),
    Column("seconds", float, "wall time of the whole pmcgrad.fit call (compile included), of "
                             "pm.sample, or of the enumeration and coordinate ascent"),
    Column("steps", int, "optimisation steps a fit ran (its stopping rule or the cap "
                         "model.max_steps); 0 for the other rows"),
    Column("converged", bool, "whether a fit's stopping rule fired before the cap; False for "
                              "the other rows, which have none"),
    Column("netcdf", str, "relative path of the saved DataTree (empty for the exact posterior "
                          "and the mean-field optimum)", may_be_empty=True),
))

# results/model_traces.csv: ELBO traces of the model study's fits (thinned). A fit that stops
# early has fewer rows: those of traced_steps(steps, trace_thin) for the steps it ran.
MODEL_TRACES = TableContract("model_traces", (
    _key("k", int, "number of predictors"),
    _key("design_seed", int, "seed of the simulated data set"),
    _key("estimator", str, "registered name"),
    _key("family", str, "variational family"),
    _key("seed", int, "the fit's config seed"),
    _key("step", int, "optimisation steps so far"),
    Column("seconds", float, "wall time since the end of the first block of steps"),
    Column("elbo", float, "-loss of that step"),
))

# results/runtimes.csv: the jobs' wall times, from Snakemake's benchmark files.
RUNTIMES = TableContract("runtimes", (
    _key("name", str, "<rule>/<job>: the benchmark file's path under results/benchmarks/"),
    Column("value", float, "the measurement"),
    Column("unit", str, "s for wall time"),
    Column("note", str, "memory and CPU time of the job", may_be_empty=True),
))

# results/sbn.csv: sigmoid belief networks, one row per checkpoint.
SBN = TableContract("sbn", (
    _key("dataset", str, "digits (scikit-learn's 8x8 digits, binarised) | synthetic (images "
                         "drawn from a known SBN)"),
    _key("k", int, "number of binary codes per image"),
    _key("estimator", str, "registered name"),
    _key("seed", int, "the job's seed"),
    _key("step", int, "optimisation steps so far"),
    Column("seconds", float, "wall time since the start of the fit, compile included, "
                             "held-out bound excluded"),
    Column("train_elbo", float, "mean of -loss over the last chunk of steps, per training "
                                "image (nats)"),
    Column("logit_gradient_variance", float, "mean over the chunk of the running "
                                             "logit-gradient variance", may_be_nan=True),
    Column("heldout_log_likelihood", float, "importance-sampled held-out bound per test image "
                                            "(nats)"),
    Column("reference_log_likelihood", float, "mean log p(x) per test image under the SBN that "
                                              "generated the synthetic images, by enumeration "
                                              "of its codes (NaN for the digits)",
           may_be_nan=True),
))

# results/categorical.csv: bias and variance of the categorical estimators against the exact
# gradient, one row per problem x estimator x K x k x logit setting x seed.
CATEGORICAL = TableContract("categorical", (
    _key("problem", str, "toy_t<t> | mixture (pmcgrad.study.categorical)"),
    _key("estimator", str, "registered categorical estimator"),
    _key("K", int, "categories per variable"),
    _key("k", int, "number of categorical variables"),
    _key("logits", str, "zero | random | saturated"),
    _key("seed", int, "the job's seed"),
    Column("draws", int, "number of per-draw gradient estimates used for the statistics"),
    Column("evaluations_per_draw", int, "f-evaluations per draw (K(K-1)/2 + 1 for arsm, "
                                        "K^k for categorical_exact)"),
    Column("unbiased", bool, "registry flag"),
    Column("bias", float, "mean over the k x K coordinates of |mean estimate - exact gradient|"),
    Column("bias_se", float, "standard error of that difference (root mean square over "
                             "coordinates)"),
    Column("max_bias_z", float, "max over coordinates of |mean - exact| / se (NaN where every "
                                "se is at rounding level)", may_be_nan=True),
    Column("bias_within_error", bool, "every coordinate within z se (+ 1e-9), z = "
                                      "pmcgrad.study.gradient.bias_threshold(k K)"),
    Column("variance", float, "mean over coordinates of the per-draw variance"),
    Column("mse", float, "variance + bias^2, mean over coordinates"),
    Column("variance_x_evaluations", float, "variance * evaluations_per_draw: efficiency at "
                                            "equal cost"),
    Column("exact_gradient_norm", float, "||exact gradient||_2, for scale"),
))

# results/scale.csv: time to a given accuracy against k, one row per design x k x method.
SCALE = TableContract("scale", (
    _key("design", str, "orthogonal (X^T X = n I: exact inclusion probabilities in closed "
                        "form) | correlated (equicorrelated columns: a long MCMC reference)"),
    _key("k", int, "number of predictors (n = scale.rows_per_predictor x k rows)"),
    _key("method", str, f"estimator of a pmcgrad.fit | {MCMC!r} (pm.sample)"),
    _key("family", str, f"variational family of a fit; {NOT_A_FIT!r} for MCMC"),
    Column("n", int, "rows of the data set"),
    Column("reference", str, "closed_form | mcmc_reference: what the errors are measured "
                             "against"),
    Column("reference_error", float, "largest Monte Carlo standard error of the reference's "
                                     "inclusion probabilities (0 for the closed form)"),
    Column("target", float, "the accuracy aimed at: max |inclusion - reference|"),
    Column("seconds", float, "wall time of the timed whole call (a fresh model, its compiled "
                             "code found in the disk caches the warm-up filled): the fit, or "
                             "the pm.sample call that reached the target (else the last one "
                             "tried)"),
    Column("warmup_seconds", float, "the untimed warm-up call on the same data before it (the "
                                    "first call, with this graph's compiled code not yet "
                                    "cached); NaN without scale.warmup", may_be_nan=True),
    Column("steps", int, "optimisation steps of the fit; draws per chain of pm.sample"),
    Column("attempts", int, "timed calls made: 1 for a fit; pm.sample's doublings of its draws"),
    Column("converged", bool, "whether a fit's stopping rule fired before the cap (False for "
                              "MCMC, which has none)"),
    Column("max_abs_error", float, "max over predictors of |inclusion - reference|"),
    Column("mean_abs_error", float, "mean over predictors of |inclusion - reference|"),
    Column("reached", bool, "max_abs_error <= target"),
))

# results/scale/reference/*.csv (per job, not aggregated): the long MCMC reference of a
# correlated design, one row per predictor.
SCALE_REFERENCE = TableContract("scale_reference", (
    _key("k", int, "number of predictors"),
    _key("predictor", int, "index j"),
    Column("inclusion", float, "posterior inclusion probability from the long pm.sample run"),
    Column("mcse", float, "its Monte Carlo standard error (ArviZ's mcse of the mean)"),
    Column("draws", int, "draws per chain"),
    Column("chains", int, "chains"),
    Column("seconds", float, "wall time of the pm.sample call"),
))

# benchmarks/out/*.csv: the benchmark suite's tables (``make bench``), which the report shows.
# The suite runs outside the workflow and writes what it measured, NaN included.
BENCHMARK_SUITE = TableContract("benchmark_suite", (
    _key("name", str, "the measurement's name"),
    Column("value", float, "the measurement (NaN where it failed)", may_be_nan=True),
    Column("unit", str, "its unit (ratio, ms, s, ...)", may_be_empty=True),
    Column("note", str, "what was compared, and the target", may_be_empty=True),
))

#: Every contract, by table name.
CONTRACTS: dict[str, TableContract] = {
    contract.name: contract
    for contract in (GRADIENT, CHAIN, OPTIMISATION, MODEL, MODEL_TRACES, RUNTIMES, SBN,
                     CATEGORICAL, SCALE)
}

# The headers alone, for code that only needs the column names.
GRADIENT_COLUMNS = GRADIENT.names
CHAIN_COLUMNS = CHAIN.names
OPTIMISATION_COLUMNS = OPTIMISATION.names
MODEL_COLUMNS = MODEL.names
MODEL_TRACE_COLUMNS = MODEL_TRACES.names
RUNTIME_COLUMNS = RUNTIMES.names
SBN_COLUMNS = SBN.names
CATEGORICAL_COLUMNS = CATEGORICAL.names
SCALE_COLUMNS = SCALE.names
