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
    "CHAIN",
    "CHAIN_COLUMNS",
    "CONTRACTS",
    "EXACT_POSTERIOR",
    "GRADIENT",
    "GRADIENT_COLUMNS",
    "MCMC",
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
    "Column",
    "TableContract",
]

#: model.csv's ``method`` of the exact posterior inclusion probabilities (enumerated). A fit
#: whose logit gradients come from the ``exact`` estimator has ``method = "exact"``.
EXACT_POSTERIOR = "exact_posterior"
#: model.csv's ``method`` of PyMC's MCMC.
MCMC = "mcmc"
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

# results/model.csv: spike-and-slab fits, one row per fit x predictor.
MODEL = TableContract("model", (
    _key("k", int, "number of predictors"),
    _key("design_seed", int, "seed of the simulated data set"),
    _key("method", str, f"estimator name of a fit | {MCMC!r} | {EXACT_POSTERIOR!r}"),
    _key("family", str, f"variational family of a fit; {NOT_A_FIT!r} for MCMC and the exact "
                        "posterior"),
    _key("predictor", int, "index j"),
    Column("inclusion", float, "fitted / sampled / exact inclusion probability of predictor j "
                               "(NaN for the exact posterior above its enumeration limit)",
           may_be_nan=True),
    Column("exact_inclusion", float, "the exact posterior's (NaN above the enumeration limit)",
           may_be_nan=True),
    Column("abs_error", float, "|inclusion - exact_inclusion|", may_be_nan=True),
    Column("elbo", float, "final ELBO estimate of a fit (NaN for MCMC and the exact posterior)",
           may_be_nan=True),
    Column("seconds", float, "wall time of the fit, of pm.sample or of the enumeration"),
    Column("netcdf", str, "relative path of the saved DataTree (empty for the exact posterior)",
           may_be_empty=True),
))

# results/model_traces.csv: ELBO traces of the model study's fits (thinned).
MODEL_TRACES = TableContract("model_traces", (
    _key("k", int, "number of predictors"),
    _key("design_seed", int, "seed of the simulated data set"),
    _key("estimator", str, "registered name"),
    _key("family", str, "variational family"),
    _key("step", int, "optimisation steps so far"),
    Column("seconds", float, "wall time since the end of the first step"),
    Column("elbo", float, "-loss of that step"),
))

# results/runtimes.csv: the jobs' wall times, from Snakemake's benchmark files.
RUNTIMES = TableContract("runtimes", (
    _key("name", str, "<rule>/<job>: the benchmark file's path under results/benchmarks/"),
    Column("value", float, "the measurement"),
    Column("unit", str, "s for wall time"),
    Column("note", str, "memory and CPU time of the job", may_be_empty=True),
))

# results/sbn.csv: sigmoid belief network on binarised digits, one row per checkpoint.
SBN = TableContract("sbn", (
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
    for contract in (GRADIENT, CHAIN, OPTIMISATION, MODEL, MODEL_TRACES, RUNTIMES, SBN)
}

# The headers alone, for code that only needs the column names.
GRADIENT_COLUMNS = GRADIENT.names
CHAIN_COLUMNS = CHAIN.names
OPTIMISATION_COLUMNS = OPTIMISATION.names
MODEL_COLUMNS = MODEL.names
MODEL_TRACE_COLUMNS = MODEL_TRACES.names
RUNTIME_COLUMNS = RUNTIMES.names
SBN_COLUMNS = SBN.names
