"""The fit as a cacheable step: the key of everything a posterior depends on, and the posterior itself (from the
cache when its key matches, else sampled block by block, `forecast.model.blocks`). The model reads the config's
frontier priors (`config.fit`) as they are."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import xarray as xr

from forecast import cache
from forecast.config import Config
from forecast.data import DataBundle
from forecast.hashing import canonical_json, package_versions, sha256_text, source_hash
from forecast.model.blocks import Block, assemble, model_blocks
from forecast.model.frontier import FitData, fit_data_from_frames
from forecast.model.sample import Diagnostics, attach_diagnostics, combine, diagnose, diagnostics_of, sample_posterior
from forecast.model.sensitivity import (
    SENSITIVITY_ATTR,
    attach_sensitivity,
    combine_sensitivity,
    power_scaling,
)

Progress = Callable[[str], None]


def fit_hash(config: Config, bundle: DataBundle) -> str:
    """Hash of everything the posterior depends on: the keys of its blocks (`block_key`), each derived from what
    the block's builder is given, its sampler settings and seed, package versions and the source of
    `forecast.model` with every package module it imports (derived, so it cannot go stale)."""
    return fit_hash_of(fit_data_of(config, bundle), config)


def fit_data_of(config: Config, bundle: DataBundle) -> FitData:
    """What the fit reads of the data bundle: the runs and web-growth rows, cut at `data.cutoff`."""
    return fit_data_from_frames(
        bundle.runs,
        bundle.web_growth,
        leak_rows=config.fit.leak_rows,
        cutoff=config.data.cutoff,
        supply=bundle.supply,
    )


def fit_hash_of(data: FitData, config: Config) -> str:
    """`fit_hash` from the fit data directly (the backtest cuts the data its own way)."""
    keys = {block.name: block_key(block, config) for block in model_blocks(data, config.fit)}
    return sha256_text(canonical_json(keys))


def block_key(block: Block, config: Config) -> str:
    """Cache key of one block's posterior: its builder's inputs, its sampler settings and seed, versions and the
    model's source. Another block's data or target_accept never enters it."""
    versions = package_versions()
    sampler = config.sampler.model_dump(mode="json", exclude={"block_target_accept", "target_accept", "cores"})
    key = {
        "block": block.name,
        "inputs": block.fingerprint(),
        "sampler": {**sampler, "target_accept": config.sampler.target_accept_of(block.name)},
        "seed": block_seed(config.seed, block.name),
        "versions": {k: versions[k] for k in ("forecast", "pymc", "pytensor", "nutpie", "numba", "numpy")},
        "model_source": source_hash("forecast.model"),
    }
    return sha256_text(canonical_json(key))


def block_seed(seed: int, name: str) -> int:
    """The block's own seed, derived from the config's seed and the block's name (not its position, so adding a
    block leaves the others' draws as they were)."""
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


def fit_posterior(
    config: Config,
    bundle: DataBundle,
    use_cache: bool = True,
    progress: Progress | None = None,
    key: str | None = None,
) -> tuple[xr.DataTree, bool]:
    """The posterior for this config and data: from the cache when its key matches, else sampled. `key` is
    `fit_hash(config, bundle)` when the caller has computed it already."""
    if use_cache and key is not None:  # a warm run: the whole fit is stored, no fit data need be built
        cached = cache.load(key, progress)
        if cached is not None:
            return cached, True
    data = fit_data_of(config, bundle)
    return fit_blocks(data, config, key or fit_hash_of(data, config), use_cache, progress)


def fit_blocks(
    data: FitData, config: Config, key: str, use_cache: bool = True, progress: Progress | None = None
) -> tuple[xr.DataTree, bool]:
    """The whole fit under `key`: from the cache when stored whole, else block by block (each reused from its own
    cache entry or sampled on its own), assembled, with each block's diagnostics and the combined ones."""
    if use_cache:
        cached = cache.load(key, progress)
        if cached is not None:
            return cached, True
    trees: dict[str, xr.DataTree] = {}
    by_block: dict[str, tuple[Diagnostics, float]] = {}
    reused = True
    for block in model_blocks(data, config.fit):
        block_tree, block_reused = fit_block(block, config, use_cache, progress)
        reused = reused and block_reused
        trees[block.name] = block_tree
        by_block[block.name] = (diagnostics_of(block_tree), config.sampler.target_accept_of(block.name))
    idata = assemble(trees)
    attach_diagnostics(idata, combine(by_block))  # cached with the draws, so a reuse needs no ArviZ
    sensitivity = combine_sensitivity(trees)
    if sensitivity is not None:
        idata.attrs[SENSITIVITY_ATTR] = sensitivity
    if use_cache:
        cache.store(key, idata, progress)
    return idata, reused


def fit_block(
    block: Block, config: Config, use_cache: bool = True, progress: Progress | None = None
) -> tuple[xr.DataTree, bool]:
    """One block's posterior, from its cache entry or sampled at its own target_accept and seed."""
    key = block_key(block, config)
    if use_cache:
        cached = cache.load(key, progress)
        if cached is not None:
            return cached, True
    sampler = config.sampler.model_copy(update={"target_accept": config.sampler.target_accept_of(block.name)})
    idata = sample_posterior(block.model(), sampler, block_seed(config.seed, block.name))
    _require_complete(idata, config)
    attach_diagnostics(idata, diagnose(idata))
    attach_sensitivity(idata, power_scaling(idata, block))
    if use_cache:
        cache.store(key, idata, progress)
    return idata, False


def _require_complete(idata: xr.DataTree, config: Config) -> None:
    """Refuse a partial fit: PyMC catches Ctrl-C during sampling and returns the draws so far."""
    sizes = idata.posterior.sizes
    if (sizes.get("chain"), sizes.get("draw")) != (config.sampler.chains, config.sampler.draws):
        raise KeyboardInterrupt(
            f"sampling was interrupted: {sizes.get('chain')} chains x {sizes.get('draw')} draws instead of "
            f"{config.sampler.chains} x {config.sampler.draws}"
        )
