"""Test doubles shared by the test modules: a synthetic posterior shaped like a real fit, and a complete
`RunResult` built from it by the real pipeline (`compute_result`), so figure, report and browser tests need no
sampling. No test module imports another; they all import from here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from forecast.config import load_config
from forecast.data import DataBundle, load_bundle
from forecast.model.frontier import RECORD_PARAMETERS, SCALAR_PARAMETERS, fit_data_from_frames
from forecast.run.pipeline import compute_result
from forecast.run.result import RunResult

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"

# Synthetic posterior: (mean, sd) of independent normal draws per scalar parameter (close to a real fit).
POSTERIOR_CENTRES: dict[str, tuple[float, float]] = {
    "dataset_level": (12.8, 0.12),
    "dataset_growth": (0.40, 0.04),
    "dataset_noise_sd": (0.25, 0.05),
    "dataset_shortfall_sd": (0.3, 0.1),
    "dataset_secondary_sd": (0.1, 0.05),
    "compute_level": (25.2, 0.2),
    "compute_growth": (0.55, 0.06),
    "compute_noise_sd": (0.4, 0.08),
    "compute_shortfall_sd": (0.35, 0.1),
    "compute_estimate_sd": (0.64, 0.25),
    "supply_price_level": (17.96, 0.04),
    "supply_price_growth": (0.13, 0.013),
    "supply_price_noise_sd": (0.25, 0.025),
    "supply_hardware_level": (10.7, 0.1),
    "supply_hardware_growth": (0.1, 0.026),
    "supply_hardware_noise_sd": (0.26, 0.06),
    "supply_efficiency_level": (12.14, 0.03),
    "supply_efficiency_growth": (0.098, 0.0125),
    "supply_efficiency_noise_sd": (0.14, 0.025),
    "supply_gwp_level": (14.027, 0.003),
    "supply_gwp_growth": (0.0194, 0.0008),
    "supply_gwp_noise_sd": (0.007, 0.003),
    "adoption_midpoint": (2015.0, 0.5),
    "adoption_rate": (0.17, 0.007),
    "adoption_ceiling": (0.8, 0.03),
    "adoption_noise_sd": (0.017, 0.002),
    "ai_c_max": (0.45, 0.06),
    "ai_k": (5.0, 1.0),
    "ai_t0": (2023.7, 0.08),
}
POSITIVE = {name for name in POSTERIOR_CENTRES if name.endswith("_sd") or name.startswith(("adoption_", "ai_"))}


def synthetic_idata(bundle: DataBundle, chains: int, draws: int, seed: int = 1) -> xr.DataTree:
    """A DataTree with posterior, sample_stats and observed-data coordinates, like a real fit."""
    # A stochastic-frontier fit (the parameters a record-process fit adds are not drawn).
    missing = sorted(set(SCALAR_PARAMETERS) - set(RECORD_PARAMETERS) - set(POSTERIOR_CENTRES))
    assert not missing, f"the model has new parameters: add synthetic (mean, sd) for {missing} to POSTERIOR_CENTRES"
    rng = np.random.default_rng(seed)
    posterior = {}
    for name, (mean, sd) in POSTERIOR_CENTRES.items():
        values = rng.normal(mean, sd, size=(chains, draws))
        posterior[name] = (("chain", "draw"), np.abs(values) if name in POSITIVE else values)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    fit_data = fit_data_from_frames(bundle.runs, bundle.web_growth)
    observed = xr.Dataset(
        {
            "dataset_obs": (("dataset_run",), fit_data.dataset_log10),
            "compute_obs": (("compute_run",), fit_data.compute_log10),
        },
        coords={"dataset_run": fit_data.dataset_runs, "compute_run": fit_data.compute_runs},
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool))}, coords=coords)
    return xr.DataTree.from_dict(
        {"posterior": xr.Dataset(posterior, coords=coords), "sample_stats": stats, "observed_data": observed}
    )


def make_result(preset: str = "default", chains: int = 2, draws: int = 100) -> RunResult:
    """A complete RunResult for `preset` without sampling: synthetic posterior, real validation and projection."""
    config = load_config(preset)
    config = config.model_copy(update={"sampler": config.sampler.model_copy(update={"chains": chains, "draws": draws})})
    bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
    return compute_result(config, DATA_DIR, posterior=synthetic_idata(bundle, chains, draws))


def without_vintages(config):
    """The config without its vintages, compute-sensitivity and frontier-model refits: a test that counts or times
    fits wants today's fit only (the vintages refit once per vintage, tests/run/test_vintages.py covers them; the
    compute refits, tests/run/test_compute_sensitivity.py; the frontier models, tests/run/test_frontier_models.py)."""
    from forecast.config.schema import ComputeSensitivitySettings, ModelComparisonSettings, VintageSettings

    return config.model_copy(
        update={
            "vintages": VintageSettings(),
            "compute_sensitivity": ComputeSensitivitySettings(),
            "model_comparison": ModelComparisonSettings(),
        }
    )


def with_vintages(result: RunResult, chains: int = 2, draws: int = 100) -> RunResult:
    """`result` with its config's vintages computed by the real vintage code, each from a synthetic posterior
    for the data known then (no sampling)."""
    from forecast.run.vintages import vintage_table

    def at(config):
        config = config.model_copy(
            update={"sampler": config.sampler.model_copy(update={"chains": chains, "draws": draws})}
        )
        bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
        return compute_result(config, DATA_DIR, posterior=synthetic_idata(bundle, chains, draws), vintages=False)

    result.vintages = vintage_table(result.config, result, at, None, reuse=False)  # keep no fake rows
    return result
