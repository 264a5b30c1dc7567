"""The fit's independent blocks: what each one is built from, its model alone or all of them in one model, and
the posterior of the whole fit assembled from the blocks' posteriors.

No parameter is shared between blocks, so the joint posterior is the product of the blocks' posteriors and each
block is sampled on its own (`forecast.model.fit`): one block's geometry (a divergence, a step size) cannot spoil
another's, its diagnostics are its own, and an edit to one block's data re-draws that block only (its cache key is
derived from exactly what its builder is given, `fingerprint`)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import xarray as xr

from forecast.config.schema import FitBlock
from forecast.model.frontier import (
    FitData,
    add_adoption_block,
    add_ai_share_of,
    add_compute_block,
    add_dataset_block,
    add_supply_of,
)

if TYPE_CHECKING:
    import pymc as pm

    from forecast.config.schema import FitSettings

BlockName = FitBlock
#: The blocks in the order they are sampled and listed (the names `sampler.block_target_accept` accepts).
BLOCK_NAMES: tuple[BlockName, ...] = get_args(FitBlock)

#: What adds each block to the model in context, given the fit data and the config's `fit` section.
BUILDERS: dict[BlockName, Callable[[FitData, FitSettings], None]] = {
    "dataset": add_dataset_block,
    "compute": add_compute_block,
    "adoption": add_adoption_block,
    "ai_share": add_ai_share_of,
    "supply": add_supply_of,
}

#: The fields of `FitData` each block reads (the rest are left out of its inputs, and so of its cache key).
BLOCK_FIELDS: dict[BlockName, tuple[str, ...]] = {
    "dataset": ("dataset_runs", "dataset_year", "dataset_log10", "dataset_reliability", "dataset_record"),
    "compute": ("compute_runs", "compute_year", "compute_log10", "compute_estimated"),
    "adoption": ("adoption_year", "adoption_share"),
    "ai_share": ("ai_share",),
    "supply": ("supply",),
}


@dataclass(frozen=True)
class Block:
    """One block of the fit: its name and the arguments its builder receives (the data it does not read blanked)."""

    name: BlockName
    data: FitData
    priors: FitSettings

    def model(self) -> pm.Model:
        """The block's PyMC model on its own."""
        import pymc as pm

        with pm.Model() as model:
            BUILDERS[self.name](self.data, self.priors)
        return model

    def fingerprint(self) -> str:
        """sha256 of everything the builder is given: the block's data arrays and the `fit` settings."""
        return fingerprint({"block": self.name, "data": self.data, "priors": self.priors})


def model_blocks(data: FitData, priors: FitSettings) -> list[Block]:
    """The blocks this data can fit, each holding only the fields it reads (the AI-share block only when its
    measurements are there)."""
    blocks = []
    for name in BLOCK_NAMES:
        if (name == "ai_share" and data.ai_share is None) or (name == "supply" and data.supply is None):
            continue
        kept = {f.name: _blank(getattr(data, f.name)) for f in dataclasses.fields(data)}
        kept.update({field: getattr(data, field) for field in BLOCK_FIELDS[name]})
        blocks.append(Block(name, FitData(**kept), priors))
    return blocks


def _blank(value: Any) -> Any:
    """What a block that does not read a field is given instead: an empty array, or None."""
    return np.empty(0, dtype=value.dtype) if isinstance(value, np.ndarray) else None


def build_model(data: FitData, priors: FitSettings) -> pm.Model:
    """All blocks in one PyMC model (same variables as the blocks' fits together): for prior and posterior
    predictive draws of every block at once. The fit samples the blocks separately (`forecast.model.fit`)."""
    import pymc as pm

    with pm.Model() as model:
        for block in model_blocks(data, priors):
            BUILDERS[block.name](block.data, block.priors)
    return model


def fingerprint(value: Any) -> str:
    """sha256 of a value built from arrays, dataclasses, pydantic models, mappings, sequences and scalars: equal
    content gives an equal hash, and a type it cannot read is refused (so nothing a builder reads escapes it)."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(f"array:{array.dtype.str}:{array.shape}:".encode())
        digest.update(array.astype(str).tobytes() if array.dtype.kind in "OU" else array.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"dataclass:{type(value).__qualname__}:".encode())
        _feed(digest, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    elif hasattr(value, "model_dump"):  # a pydantic model: its settings as JSON values
        digest.update(f"model:{type(value).__qualname__}:".encode())
        _feed(digest, value.model_dump(mode="json"))
    elif isinstance(value, dict):
        digest.update(b"dict:")
        for key in sorted(value, key=str):
            _feed(digest, str(key))
            _feed(digest, value[key])
        digest.update(b"end")
    elif isinstance(value, list | tuple):
        digest.update(f"seq:{len(value)}:".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, bool | int | float | str | np.generic):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def assemble(trees: dict[str, xr.DataTree]) -> xr.DataTree:
    """One posterior tree from the blocks' trees: their posteriors and observed data merged (names are unique
    across blocks), sample statistics stacked along a `block` dimension."""
    first = next(iter(trees.values()))
    groups: dict[str, xr.Dataset] = {
        "posterior": xr.merge([t["posterior"].to_dataset() for t in trees.values()], compat="no_conflicts")
    }
    observed = [t["observed_data"].to_dataset() for t in trees.values() if "observed_data" in t.children]
    if observed:
        groups["observed_data"] = xr.merge(observed, compat="no_conflicts")
    stats = [t["sample_stats"].to_dataset() for t in trees.values() if "sample_stats" in t.children]
    if stats:
        common = sorted(set.intersection(*(set(map(str, s.data_vars)) for s in stats)))
        stacked = xr.concat([s[common] for s in stats], dim="block", coords="minimal", compat="override")
        groups["sample_stats"] = stacked.assign_coords(block=list(trees))
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update({k: v for k, v in first.attrs.items() if not k.endswith("_json") and k != "fit_hash"})
    return tree
