"""What the fitter needs to know about a PyMC model: its Bernoulli latents and its continuous
value variables, flattened into one bit vector and one real vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.vartypes import discrete_types
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.random.basic import BernoulliRV
from pytensor.tensor.variable import TensorVariable

__all__ = ["Block", "ModelStructure", "UnsupportedLatentError", "analyse_model"]


class UnsupportedLatentError(ValueError):
    """A free random variable that pmcgrad's variational family cannot represent."""


@dataclass(frozen=True)
class Block:
    """One value variable's slice of a flat vector."""

    name: str  # the value variable's name (``sigma_log__`` for a transformed sigma)
    rv_name: str  # the random variable's name (``sigma``)
    shape: tuple[int, ...]
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ModelStructure:
    """A model's free variables split into Bernoulli bits and continuous unconstrained reals."""

    model: pm.Model
    bits: tuple[Block, ...]  # Bernoulli free RVs, flattened in model order
    reals: tuple[Block, ...]  # continuous value variables (unconstrained space)
    initial_reals: np.ndarray  # (D,) the model's initial point, unconstrained

    @property
    def n_bits(self) -> int:
        return self.bits[-1].stop if self.bits else 0

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
        replace = {}
        for block in self.bits:
            value = bits[:, block.start : block.stop].reshape((-1, *block.shape))
            replace[self.value_var(block)] = pt.cast(value, self.value_var(block).dtype)
        for block in self.reals:
            value = reals[:, block.start : block.stop].reshape((-1, *block.shape))
            replace[self.value_var(block)] = value.astype(self.value_var(block).dtype)
        return vectorize_graph(self.model.logp(), replace=replace)

    def split(self, flat: np.ndarray, blocks: tuple[Block, ...]) -> dict[str, np.ndarray]:
        """Cut ``flat (..., size)`` into ``{value name: (..., *shape)}``."""
        lead = flat.shape[:-1]
        return {b.name: flat[..., b.start : b.stop].reshape(*lead, *b.shape) for b in blocks}


def analyse_model(model: pm.Model) -> ModelStructure:
    """Check that every free RV is Bernoulli or continuous, and lay out the flat vectors."""
    initial_point = model.initial_point()
    bits, reals = [], []
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        if isinstance(rv.owner.op, BernoulliRV):
            bits.append((value.name, rv.name, initial_point[value.name].shape))
        elif rv.type.dtype in discrete_types:
            raise UnsupportedLatentError(
                f"free variable {rv.name!r} is discrete with distribution "
                f"{_distribution_name(rv)}; pmcgrad.fit supports discrete latents only when they "
                "are Bernoulli (p= or logit_p=), plus continuous free variables. Marginalise it "
                "out, observe it, or recode it as Bernoulli bits"
            )
        else:
            reals.append((value.name, rv.name, initial_point[value.name].shape))
    real_blocks = _layout(reals)
    initial = np.concatenate(
        [np.ravel(initial_point[b.name]) for b in real_blocks] or [np.zeros(0)]
    ).astype("float64")
    return ModelStructure(model, _layout(bits), real_blocks, initial)


def _layout(entries) -> tuple[Block, ...]:
    blocks, start = [], 0
    for name, rv_name, shape in entries:
        size = int(np.prod(shape, dtype=int))
        blocks.append(Block(name, rv_name, tuple(int(s) for s in shape), start, start + size))
        start += size
    return tuple(blocks)


def _distribution_name(rv) -> str:
    op = rv.owner.op
    return getattr(op, "_print_name", (None, None))[0] or type(op).__name__.removesuffix("RV")
