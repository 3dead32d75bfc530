"""What the fitter needs to know about a PyMC model: its discrete latents (Bernoulli and
categorical) and its continuous value variables, flattened into one latent vector and one real
vector.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.backends.arviz import coords_and_dims_for_inferencedata
from pymc.vartypes import discrete_types
from pytensor.compile import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.random.basic import BernoulliRV, CategoricalRV
from pytensor.tensor.variable import TensorVariable

__all__ = [
    "Block",
    "FixedBits",
    "LocalLayout",
    "ModelStructure",
    "PlateWarning",
    "UnsupportedLatentError",
    "analyse_model",
]


class UnsupportedLatentError(ValueError):
    """A free random variable that pmcgrad's variational family cannot represent."""


class PlateWarning(UserWarning):
    """The model's shapes leave it unclear whether its Bernoulli latents are per-observation."""


@dataclass(frozen=True)
class Block:
    """One value variable's slice of a flat vector."""

    name: str  # the value variable's name (``sigma_log__`` for a transformed sigma)
    rv_name: str  # the random variable's name (``sigma``)
    shape: tuple[int, ...]
    start: int
    stop: int
    categories: int = 2  # a categorical latent's K (2 for a Bernoulli bit)

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class LocalLayout:
    """Per-observation ("local") discrete latents: every latent belongs to one row of ``dim``.

    ``row_index (R, K_row)`` holds the flat index of each row's bits; ``local_terms`` the
    positions, in ``model.logp(sum=False)``, of the log-density terms that are per row.
    """

    dim: str
    row_index: np.ndarray
    local_terms: tuple[int, ...]

    @property
    def rows(self) -> int:
        return self.row_index.shape[0]

    def to_flat(self, bits_rows: TensorVariable) -> TensorVariable:
        """``(..., R, K_row)`` -> ``(..., K)`` in the flat (block) order."""
        inverse = np.argsort(self.row_index.ravel())
        lead = bits_rows.shape[:-2]
        return bits_rows.reshape((*lead, -1))[..., inverse]


@dataclass(frozen=True, eq=False)
class FixedBits:
    """Bits the model itself fixes: their other state has log density -inf whatever the
    continuous values (a hard zero, or a Bernoulli with p exactly 0 or 1). They are constants,
    not latents: the fit gives the other state zero mass (``pmcgrad.vi.feasibility``).

    ``index (F,)`` are flat bit indices, ``values (F,)`` their values (0 or 1), ``reasons``
    one line per latent variable saying how many of its bits are fixed and by which term.
    """

    n_bits: int
    index: np.ndarray
    values: np.ndarray
    reasons: tuple[str, ...] = ()

    @property
    def free(self) -> np.ndarray:
        """``(K,)`` 1.0 where the bit is a latent, 0.0 where the model fixes it."""
        free = np.ones(self.n_bits)
        free[self.index] = 0.0
        return free

    @property
    def value_vector(self) -> np.ndarray:
        """``(K,)`` the fixed values where fixed, 0.0 elsewhere."""
        values = np.zeros(self.n_bits)
        values[self.index] = self.values
        return values

    def pin_logits(self, logits: np.ndarray) -> np.ndarray:
        """``logits (..., K)`` with the fixed bits' logits at -inf or +inf (probability 0 or
        1 exactly)."""
        pinned = np.array(logits, dtype=float, copy=True)
        pinned[..., self.index] = np.where(self.values == 1, np.inf, -np.inf)
        return pinned

    @property
    def key(self) -> tuple:
        """Hashable identity: two analyses fixing the same bits to the same values agree."""
        return (self.n_bits, self.index.tobytes(), self.values.tobytes())

    def __eq__(self, other) -> bool:
        return isinstance(other, FixedBits) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True)
class ModelStructure:
    """A model's free variables: discrete latents (Bernoulli bits, then categorical codes) and
    continuous unconstrained reals, each kind flattened into one vector.

    The discrete latents share one flat index: the bits take ``0 .. n_bits - 1``, the codes
    ``n_bits .. n_latents - 1`` (a code block's ``start`` and ``stop`` count from 0 over all
    discrete latents).
    """

    model: pm.Model
    bits: tuple[Block, ...]  # Bernoulli free RVs, flattened in model order
    reals: tuple[Block, ...]  # continuous value variables (unconstrained space)
    initial_reals: np.ndarray  # (D,) the model's initial point, unconstrained
    local: LocalLayout | None = None  # set when the latents are per-observation
    codes: tuple[Block, ...] = ()  # categorical free RVs, after the bits
    fixed: FixedBits | None = None  # set when the model fixes some bits (hard zeros)

    @property
    def n_bits(self) -> int:
        return self.bits[-1].stop if self.bits else 0

    @property
    def n_codes(self) -> int:
        return sum(block.size for block in self.codes)

    @property
    def n_latents(self) -> int:
        """Bits and codes together."""
        return self.n_bits + self.n_codes

    @property
    def latents(self) -> tuple[Block, ...]:
        """Every discrete block, bits first."""
        return (*self.bits, *self.codes)

    @property
    def max_categories(self) -> int:
        """The most categories of any discrete latent (2 with bits alone)."""
        return max((block.categories for block in self.codes), default=2)

    @property
    def n_reals(self) -> int:
        return self.reals[-1].stop if self.reals else 0

    def value_var(self, block: Block) -> TensorVariable:
        # Not model[block.name]: a Bernoulli's value variable shares its RV's name.
        return next(v for v in self.model.value_vars if v.name == block.name)

    def log_density(self, bits: TensorVariable | None, reals: TensorVariable | None
                    ) -> TensorVariable:
        """``log p(x, z, theta)`` (with transform Jacobians) for a batch.

        ``bits (B, K)`` and ``reals (B, D)`` give one configuration per row (``None`` where the
        model has no such variables); returns ``(B,)``.
        """
        return vectorize_graph(self.model.logp(), replace=self._replace(bits, reals))

    def log_density_terms(self, bits: TensorVariable | None, reals: TensorVariable | None
                          ) -> list[TensorVariable]:
        """The model's elementwise log-density terms for a batch, ``(B, ...)`` each, in the
        order of :meth:`term_names` (free variables, observed variables, potentials)."""
        terms = vectorize_graph(self.model.logp(sum=False), replace=self._replace(bits, reals))
        return list(terms)

    def term_names(self) -> list[str]:
        """The name of each log-density term: its variable's (or potential's)."""
        model = self.model
        return [v.name for v in (*model.free_RVs, *model.observed_RVs, *model.potentials)]

    def log_density_rows(self, bits: TensorVariable, reals: TensorVariable | None
                         ) -> TensorVariable:
        """Per-row ``log p`` for local latents: ``(B, K)``, ``(B, D)`` -> ``(B, R)``.

        Row r holds every term indexed by row r of the local dim, plus an equal share
        ``1/R`` of the global terms (priors of the shared parameters), so the rows sum to the
        whole log joint while each row's bits see only their own terms: a shared term adds the
        same constant to both members of an antithetic pair.
        """
        terms = vectorize_graph(self.model.logp(sum=False), replace=self._replace(bits, reals))
        return self._sum_rows(terms)

    def log_density_minibatch(self, bits_rows: TensorVariable, reals: TensorVariable | None,
                              rows: TensorVariable) -> TensorVariable:
        """Per-row ``log p`` for the observation rows ``rows (B,)`` alone.

        ``bits_rows (Bt, B, K_row)`` are those rows' bits, ``reals (Bt, D)``; returns
        ``(Bt, B)``. Only the chosen rows of the latents and of the observed data enter the
        graph, so a step costs B rows, not R. Global terms are shared out as in
        :meth:`log_density_rows`.
        """
        replace, column = self._replace(None, reals), 0
        for block in self.latents:
            width = block.size // self.local.rows
            value = bits_rows[:, :, column : column + width]
            value = value.reshape((bits_rows.shape[0], rows.shape[0], *block.shape[1:]))
            replace[self.value_var(block)] = pt.cast(value, self.value_var(block).dtype)
            column += width
        for rv in self.local_observed():
            data = self.model.rvs_to_values[rv]
            replace[data] = data[rows]
        return self._sum_rows(vectorize_graph(self.model.logp(sum=False), replace=replace))

    def local_observed(self) -> list:
        """The observed variables whose first dim is the local one."""
        free_and_observed = list(self.model.free_RVs) + list(self.model.observed_RVs)
        return [free_and_observed[position] for position in self.local.local_terms
                if free_and_observed[position] in self.model.observed_RVs]

    def _sum_rows(self, terms) -> TensorVariable:
        local_sum, global_sum = 0, 0
        for position, term in enumerate(terms):
            if position in self.local.local_terms:  # (Bt, R, ...) -> (Bt, R)
                local_sum = local_sum + term.sum(axis=tuple(range(2, term.ndim)))
            else:  # (Bt, ...) -> (Bt,)
                global_sum = global_sum + term.sum(axis=tuple(range(1, term.ndim)))
        return local_sum + pt.as_tensor_variable(global_sum)[..., None] / self.local.rows

    def _replace(self, bits, reals) -> dict:
        """``bits (B, L)``: the discrete latents (bits and codes, in the flat order); ``reals
        (B, D)``."""
        replace = {}
        for block in self.latents if bits is not None else ():
            value = bits[:, block.start : block.stop].reshape((-1, *block.shape))
            replace[self.value_var(block)] = pt.cast(value, self.value_var(block).dtype)
        for block in self.reals:
            value = reals[:, block.start : block.stop].reshape((-1, *block.shape))
            replace[self.value_var(block)] = value.astype(self.value_var(block).dtype)
        return replace

    def split(self, flat: np.ndarray, blocks: tuple[Block, ...]) -> dict[str, np.ndarray]:
        """Cut ``flat (..., size)`` into ``{value name: (..., *shape)}``."""
        lead = flat.shape[:-1]
        return {b.name: flat[..., b.start : b.stop].reshape(*lead, *b.shape) for b in blocks}


def analyse_model(model: pm.Model, local_dim: str | bool | None = None) -> ModelStructure:
    """Check that every free RV is Bernoulli or continuous, and lay out the flat vectors.

    ``local_dim``: ``None`` detects per-observation latents (see :func:`find_local_layout`),
    a dim name requires them on that dim, ``False`` keeps every bit global.
    """
    initial_point = model.initial_point()
    bits, codes, reals = [], [], []
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        shape = initial_point[value.name].shape
        if isinstance(rv.owner.op, BernoulliRV):
            bits.append((value.name, rv.name, shape, 2))
        elif isinstance(rv.owner.op, CategoricalRV):
            codes.append((value.name, rv.name, shape, _categories(rv)))
        elif rv.type.dtype in discrete_types:
            raise UnsupportedLatentError(
                f"free variable {rv.name!r} is discrete with distribution "
                f"{_distribution_name(rv)}; pmcgrad.fit supports discrete latents only when they "
                "are Bernoulli (p= or logit_p=) or Categorical (p= or logit_p=), plus continuous "
                "free variables. Marginalise it out, observe it, or recode it"
            )
        else:
            reals.append((value.name, rv.name, shape, 2))
    real_blocks = _layout(reals)
    initial = np.concatenate(
        [np.ravel(initial_point[b.name]) for b in real_blocks] or [np.zeros(0)]
    ).astype("float64")
    bit_blocks = _layout(bits)
    code_blocks = _layout(codes, offset=bit_blocks[-1].stop if bit_blocks else 0)
    structure = ModelStructure(model, bit_blocks, real_blocks, initial, codes=code_blocks)
    return dataclasses.replace(structure, local=find_local_layout(structure, local_dim))


def find_local_layout(structure: ModelStructure, local_dim: str | bool | None
                      ) -> LocalLayout | None:
    """The plate rule: latents are local to dim D when every discrete latent and at least one
    observed variable have D as their first named dim (``dims=("obs", ...)``), or, for
    latents without dims, when every discrete latent's leading length equals an observed
    variable's leading length (``shape=N`` with N observations; :func:`_plate_from_shapes`).

    Then each row's latents are scored against that row's log-density terms only.
    Per-predictor latents, or discrete latents without such a dim, stay global; shapes that
    leave it unclear give a :class:`PlateWarning` saying which ``dims`` decide it. Naming
    ``local_dim`` makes
    the rule strict: a latent or shape that does not fit raises ``ValueError``.
    """
    if local_dim is False or not structure.latents:
        return None
    model = structure.model
    dims = coords_and_dims_for_inferencedata(model)[1]
    first_dim = {name: (dims.get(name) or [None])[0] for name in model.named_vars}
    observed_dims = {first_dim[rv.name] for rv in model.observed_RVs} - {None}
    bit_dims = {first_dim[block.rv_name] for block in structure.latents}
    if local_dim is None:
        if len(bit_dims) != 1 or not bit_dims <= observed_dims:
            return _plate_from_shapes(structure, first_dim)
        (local_dim,) = bit_dims
    else:
        _check_named_local_dim(structure, local_dim, first_dim, observed_dims)

    rows = len(model.coords[local_dim]) if local_dim in model.coords else None
    for block in structure.latents:
        if not block.shape or block.shape[0] != rows:
            raise ValueError(
                f"discrete latent {block.rv_name!r} has shape {block.shape}, but its first dim "
                f"{local_dim!r} has length {rows}: a local latent needs one row per observation"
            )
    free_and_observed = list(model.free_RVs) + list(model.observed_RVs)
    # PyMC already checks that a variable's dims match its shape, so dims decide the rows.
    local_terms = [position for position, rv in enumerate(free_and_observed)
                   if first_dim.get(rv.name) == local_dim]
    # Row r's bits: row r of every local block, concatenated.
    row_index = np.concatenate(
        [np.arange(b.start, b.stop).reshape(rows, -1) for b in structure.latents], axis=1
    )
    return LocalLayout(local_dim, row_index, tuple(local_terms))


def _plate_from_shapes(structure: ModelStructure, first_dim: dict) -> LocalLayout | None:
    """The plate rule for latents declared with ``shape=`` instead of ``dims``.

    When no discrete latent has a named dim, all of them lead with the same length N, and an
    observed variable leads with N too, the latents are local: row n of every variable that
    leads with N (and has no other named first dim) is row n's term. Anything less clear keeps
    the latents global (always unbiased, only noisier) and warns how ``dims`` would decide it.
    """
    model = structure.model
    shapes = _shapes(structure)
    leading = {name: (shape or (None,))[0] for name, shape in shapes.items()}
    bit_names = [block.rv_name for block in structure.latents]
    observed = [rv.name for rv in model.observed_RVs]
    lengths = {leading[name] for name in bit_names}
    matching = [name for name in observed if leading[name] in lengths - {None}]
    named = [name for name in bit_names if first_dim[name] is not None]
    if named:
        # The latents' dims lead no observed variable: global, as the dims say. Warn only
        # when an observed variable without dims has their length.
        loose = [name for name in matching if first_dim[name] is None]
        if loose:
            _warn_plate(
                f"discrete latent {named[0]!r} has dims ({first_dim[named[0]]!r}, ...) and the "
                f"observed {loose[0]!r} has no dims but the same leading length "
                f"{leading[loose[0]]}", named[0], loose[0])
        return None
    if len(lengths) != 1 or None in lengths:
        if matching:
            rows = leading[matching[0]]
            odd = next(name for name in bit_names if leading[name] != rows)
            warnings.warn(
                f"some discrete latents lead with the {rows} rows of the observed "
                f"{matching[0]!r}, but {odd!r} (shape {shapes[odd]}) does not: pmcgrad.fit "
                "treats them all as global (unbiased, but noisier as the data grow). The "
                "per-observation treatment needs every discrete latent to lead with the "
                "observations' dim: give those latents and the data dims=('obs', ...), and "
                f"make {odd!r} per-observation too or continuous; local_dim=False silences this",
                PlateWarning, stacklevel=5)
        return None
    (rows,) = lengths
    if not matching:
        inner = [name for name in observed if rows in shapes[name][1:]]
        if inner:
            _warn_plate(f"the discrete latents lead with length {rows}, a later axis of the "
                        f"observed {inner[0]!r} (shape {shapes[inner[0]]})", bit_names[0],
                        inner[0])
        return None
    dim = first_dim[matching[0]] or f"{bit_names[0]}_dim_0"
    free_and_observed = list(model.free_RVs) + list(model.observed_RVs)
    local_terms = [position for position, rv in enumerate(free_and_observed)
                   if leading[rv.name] == rows and first_dim[rv.name] in (None, dim)]
    row_index = np.concatenate(
        [np.arange(b.start, b.stop).reshape(rows, -1) for b in structure.latents], axis=1
    )
    return LocalLayout(dim, row_index, tuple(local_terms))


def _shapes(structure: ModelStructure) -> dict[str, tuple[int, ...]]:
    """Every free variable's shape (its value's) and every observed variable's data shape,
    without compiling anything where the data are at hand."""
    shapes = {block.rv_name: block.shape for block in (*structure.latents, *structure.reals)}
    model = structure.model
    for rv in model.observed_RVs:
        data = model.rvs_to_values[rv]
        if isinstance(data, Constant):
            shapes[rv.name] = tuple(np.shape(data.data))
        elif isinstance(data, SharedVariable):
            shapes[rv.name] = tuple(np.shape(data.get_value(borrow=True)))
        else:
            shapes[rv.name] = tuple(int(n) for n in data.shape.eval())
    return shapes


def _warn_plate(what: str, latent: str, observed: str) -> None:
    warnings.warn(
        f"{what}: pmcgrad.fit cannot tell from the shapes whether the discrete latents are "
        f"per-observation, so it treats them as global (unbiased, but noisier as the data "
        f"grow). If {latent!r} has one row per row of {observed!r}, give both the same first "
        f"dim, e.g. dims=('obs', ...) with coords={{'obs': ...}}; if not, give them different "
        f"dims, or pass local_dim=False to silence this",
        PlateWarning, stacklevel=6,
    )


def _check_named_local_dim(structure, local_dim, first_dim, observed_dims) -> None:
    if local_dim not in structure.model.coords:
        raise ValueError(
            f"local_dim={local_dim!r} is not a dim of the model; its dims are "
            f"{sorted(structure.model.coords)}"
        )
    if local_dim not in observed_dims:
        raise ValueError(
            f"local_dim={local_dim!r}: no observed variable has it as its first dim, so there "
            "are no per-row log-density terms to score each row's bits against"
        )
    for block in structure.latents:
        if first_dim[block.rv_name] != local_dim:
            raise ValueError(
                f"local_dim={local_dim!r}: latent {block.rv_name!r} has dims "
                f"{first_dim[block.rv_name]!r} first; every discrete latent must have "
                f"{local_dim!r} as its first dim to be treated locally (or pass local_dim=None)"
            )


def _layout(entries, offset: int = 0) -> tuple[Block, ...]:
    blocks, start = [], offset
    for name, rv_name, shape, categories in entries:
        size = int(np.prod(shape, dtype=int))
        blocks.append(Block(name, rv_name, tuple(int(s) for s in shape), start, start + size,
                            categories))
        start += size
    return tuple(blocks)


def _categories(rv) -> int:
    """K of a categorical variable: the last dimension of its probabilities."""
    p = rv.owner.inputs[-1]
    categories = p.type.shape[-1]
    if categories is None:
        categories = int(p.shape[-1].eval())
    if categories < 2:
        raise UnsupportedLatentError(
            f"categorical variable {rv.name!r} has {categories} category: a variable with one "
            "category is a constant; remove it from the model or give it K >= 2 categories"
        )
    return int(categories)


def _distribution_name(rv) -> str:
    op = rv.owner.op
    return getattr(op, "_print_name", (None, None))[0] or type(op).__name__.removesuffix("RV")
