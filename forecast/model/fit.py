"""The fit as a cacheable step: the key of everything a posterior depends on, and the posterior itself (from the
cache when its key matches, else sampled). The model reads the config's frontier priors (`config.fit`) as they are."""

from __future__ import annotations

from collections.abc import Callable

import xarray as xr

from forecast import cache
from forecast.config import Config, fit_key
from forecast.data import RUNS_FILE, WEB_GROWTH_FILE, DataBundle
from forecast.hashing import canonical_json, package_versions, sha256_text, source_hash
from forecast.model.frontier import build_model, fit_data_from_frames
from forecast.model.sample import attach_diagnostics, diagnose, sample_posterior

Progress = Callable[[str], None]
#: The data files the fit reads (the others cannot change a posterior).
FIT_DATA_FILES = (RUNS_FILE, WEB_GROWTH_FILE)


def fit_hash(config: Config, bundle: DataBundle) -> str:
    """Hash of everything the posterior depends on: fit-relevant data, fit config, seed, sampler, versions and
    the source of `forecast.model` with every package module it imports (derived, so it cannot go stale)."""
    versions = package_versions()
    key = {
        "data": {name: bundle.sha256[name] for name in FIT_DATA_FILES},
        "config": fit_key(config),
        "versions": {k: versions[k] for k in ("forecast", "pymc", "pytensor", "nutpie", "numba", "numpy")},
        "model_source": source_hash("forecast.model"),
    }
    return sha256_text(canonical_json(key))


def fit_posterior(
    config: Config,
    bundle: DataBundle,
    use_cache: bool = True,
    progress: Progress | None = None,
    key: str | None = None,
) -> tuple[xr.DataTree, bool]:
    """The posterior for this config and data: from the cache when its key matches, else sampled. `key` is
    `fit_hash(config, bundle)` when the caller has computed it already."""
    key = key or fit_hash(config, bundle)
    if use_cache:
        cached = cache.load(key, progress)
        if cached is not None:
            return cached, True
    data = fit_data_from_frames(
        bundle.runs, bundle.web_growth, leak_rows=config.fit.leak_rows, cutoff=config.data.cutoff
    )
    model = build_model(data, config.fit)
    idata = sample_posterior(model, config.sampler, config.seed)
    _require_complete(idata, config)
    attach_diagnostics(idata, diagnose(idata))  # cached with the draws, so a reuse needs no ArviZ
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
