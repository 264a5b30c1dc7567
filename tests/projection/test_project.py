"""Scenario projection: the test-locked exhaustion schema, mixture balance, directions of prior changes, and the fast
projection against the dense monthly computation (real and randomised inputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import load_config, parse_config, resolve
from forecast.data import load_stock_priors
from forecast.model.sample import posterior_arrays
from forecast.projection.crossing import first_crossing, value_at_crossing
from forecast.projection.inputs import balanced_arms, flatten
from forecast.projection.memo import BAND_QUANTILES, GRID_STEP_YEARS, ProjectionCache
from forecast.projection.project import ScenarioResult, exhaustion_crossing, project_inputs, project_scenario
from forecast.projection.scenario_model import (
    demand_model,
    demand_paths,
    scenario_inputs,
    steadily_rising_draws,
    stock_model,
    stock_paths,
    time_grid,
)
from forecast.projection.switches import extra_stocks, human_share, switch_inputs, synthetic
from forecast.projection.tables import EXHAUSTION_SCHEMA, SUMMARY_COLUMNS, exhaustion_dataset, summary_table
from forecast.run.pipeline import known_at_cutoff
from forecast.units import date_year

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def _known(result):
    """The record at the run's cut-off, which the default preset's scenarios are tied to."""
    return known_at_cutoff(result.config, result.bundle)


def _project(default_run, scenario):
    result, _ = default_run
    posterior = flatten(posterior_arrays(result.idata))
    return project_scenario(scenario, posterior, result.bundle.stock_priors, result.config.seed, known=_known(result))


# The published schema of the exhaustion draws, written out so that any change to it is a visible test change.
LOCKED_SCHEMA = {
    "exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "censored": (("scenario", "chain", "draw"), "bool"),
    "tokens_at_crossing": (("scenario", "chain", "draw"), "tokens"),
    "compute_at_crossing": (("scenario", "chain", "draw"), "FLOP"),
    "stock_at_crossing": (("scenario", "chain", "draw"), "tokens"),
    "historical_arm": (("scenario", "chain", "draw"), "bool"),
    "baseline_exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "synthetic_exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "collapse_guard_year": (("scenario", "chain", "draw"), "decimal year"),
    "horizon": (("scenario",), "decimal year"),
    "synthetic_enabled": (("scenario",), "bool"),
}


def test_exhaustion_schema_is_locked(default_run) -> None:
    result, _ = default_run
    ds = result.exhaustion
    assert {k: (v[0], v[1]) for k, v in EXHAUSTION_SCHEMA.items()} == LOCKED_SCHEMA
    assert set(ds.data_vars) == set(LOCKED_SCHEMA)
    for name, (dims, unit) in LOCKED_SCHEMA.items():
        assert ds[name].dims == dims, name
        assert ds[name].attrs["units"] == unit
    assert ds["exhaustion_year"].dtype == np.float64
    assert ds["censored"].dtype == bool
    assert list(ds["scenario"].values) == [s.name for s in resolve(result.config)]
    assert ds.sizes["chain"] == result.config.sampler.chains and ds.sizes["draw"] == result.config.sampler.draws
    # Censored <=> NaN year; crossing values are NaN exactly when censored.
    np.testing.assert_array_equal(np.isnan(ds["exhaustion_year"].values), ds["censored"].values)
    np.testing.assert_array_equal(np.isnan(ds["tokens_at_crossing"].values), ds["censored"].values)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)


def test_mixture_is_an_equal_weight_mixture() -> None:
    arms = balanced_arms(4000, seed=1)
    assert arms.sum() == 2000
    assert not np.array_equal(arms, balanced_arms(4000, seed=2))


def test_summary_matches_draws(default_run) -> None:
    result, _ = default_run
    row = result.summary.set_index("scenario").loc["historical"]
    years = result.exhaustion.sel(scenario="historical")["exhaustion_year"].values.ravel()
    assert row["median"] == np.quantile(years[~np.isnan(years)], 0.5) or np.isnan(years).any()
    assert row["q10"] < row["median"] < row["q90"]
    assert row["q05"] <= row["q10"] and row["q90"] <= row["q95"]


def test_larger_quality_fraction_delays_exhaustion(default_run, tmp_path) -> None:
    """Copy the default preset's YAML, raise the quality-fraction prior, load it: the median moves later."""
    from importlib import resources

    import yaml

    document = yaml.safe_load(resources.files("forecast.config.presets").joinpath("default.yml").read_text())
    document["defaults"]["priors"] = {
        "quality_fraction": {"distribution": "lognormal", "low": 0.3, "high": 0.9, "source": "test: more usable text"}
    }
    copied = tmp_path / "richer.yml"
    copied.write_text(yaml.safe_dump(document, sort_keys=False))
    names = ("mixture-optimal", "historical")
    base = {s.name: s for s in resolve(load_config("default"))}
    richer = {s.name: s for s in resolve(load_config(copied))}
    for name in names:
        medians = [float(np.nanmedian(_project(default_run, s[name]).crossing_year)) for s in (base, richer)]
        # Same draws for every other input (common random numbers), so the shift is the prior's effect alone:
        # ~3x more quality text at ~0.3 OOM/yr net demand growth is ~1.5 years; require at least 0.5.
        assert medians[1] > medians[0] + 0.5, name


def test_overtraining_brings_exhaustion_forward(default_run) -> None:
    """More overtraining never delays a path. The default preset moves tokens per parameter from today's
    practice at 0.6 OOM/yr, so 5x is reached 1.2 years after the cut-off, 10x after 1.7 and 100x after 3.3:
    paths that cross before then are the same in those scenarios, and the medians may tie. Whether today's
    practice is more or less token-hungry than Chinchilla-optimal depends on the fitted frontiers' tokens per
    compute at the cut-off (k above or below 1): the order of those two follows it."""
    result, _ = default_run
    s = result.summary.set_index("scenario")["median"]
    assert s["compute-100x"] <= s["compute-10x"] <= s["compute-5x"] < s["compute-observed"]
    observed = next(r for r in result.results if r.name == "compute-observed")
    log10_k = float(np.median(observed.inputs["observed_log10_overtraining"]))
    if log10_k > 0:  # today's runs use more tokens per FLOP than Chinchilla's: the optimal stock lasts longer
        assert s["compute-observed"] < s["compute-optimal"]
    else:
        assert s["compute-optimal"] <= s["compute-observed"]
    years = result.exhaustion["exhaustion_year"]
    later = [("compute-100x", "compute-10x"), ("compute-10x", "compute-5x"), ("compute-5x", "compute-observed")]
    for more, less in later:
        a, b = (
            np.where(np.isnan(v), np.inf, v) for v in (years.sel(scenario=more).values, years.sel(scenario=less).values)
        )
        assert np.mean(a <= b) > 0.99, (more, less)  # same draws (common random numbers) except the resampled few


def test_censoring_at_a_short_horizon(default_run) -> None:
    base = next(s for s in resolve(load_config("default")) if s.name == "compute-optimal")
    short = base.model_copy(update={"horizon": 2028})
    res = _project(default_run, short)
    assert res.censored.any() and not res.censored.all()
    ds = exhaustion_dataset([res], 4, res.censored.size // 4)
    table = summary_table(ds)
    assert table.loc[0, "p_not_by_horizon"] == res.censored.mean()
    assert table.loc[0, "q95"] == np.inf  # a quantile in the censored tail is "after the horizon"
    assert isinstance(table, pd.DataFrame)


def test_extensions_move_the_date_as_expected(default_run) -> None:
    """Human-share discount: earlier; non-public stocks: later; synthetic data: not earlier, guard after start."""
    effects = default_run[0].effects.set_index(["scenario", "effect"])["shift_years"]
    assert effects[("mixture-human-share", "scenario as configured")] < 0
    assert effects[("mixture-nonpublic", "scenario as configured")] > 0
    assert effects[("mixture-synthetic", "with synthetic data")] >= 0
    # Each extra stock alone buys less than all of them together.
    alone = effects.loc["mixture-nonpublic"].drop("scenario as configured")
    assert (alone <= effects[("mixture-nonpublic", "scenario as configured")] + 1e-9).all()
    ds = default_run[0].exhaustion
    assert bool(ds["synthetic_enabled"].sel(scenario="mixture-synthetic"))
    assert np.isnan(ds["synthetic_exhaustion_year"].sel(scenario="historical")).all()


def test_sensitivity_tables_cover_every_scenario(default_run) -> None:
    result = default_run[0]
    assert set(result.sensitivity["scenario"]) == {s.name for s in resolve(result.config)}
    first = result.sensitivity[result.sensitivity["scenario"] == "mixture-optimal"]
    assert first["index"].between(0, 1).all()
    assert first.iloc[0]["rank"] == 1 and first["index"].is_monotonic_decreasing


# ---------------------------------------------------------------------------------------------------------------
# The projection evaluates paths only where a crossing can be: it must give the dense monthly computation's dates
# ---------------------------------------------------------------------------------------------------------------


def dense_reference(scenario, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> dict[str, Any]:
    """The projection computed the simple way: every path on every monthly grid point, then `first_crossing`."""
    tokens, compute, _ = demand_paths(scenario, inputs, grid, seed)
    if scenario.human_share.enabled:
        extended = human_share.human_share_grid(scenario.human_share, grid)
        on_extended = stock_paths(scenario, inputs, extended)
        public = {stage: path[:, -grid.size :] for stage, path in on_extended.items()}
        stocks = human_share.discount_ai_share(scenario.human_share, inputs, extended, on_extended, grid.size)
    else:
        public = stocks = stock_paths(scenario, inputs, grid)
    names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
    effective = extra_stocks.add_extra_stocks(stocks["effective"], inputs, names) if names else stocks["effective"]
    crossing = first_crossing(grid, tokens - effective)
    out: dict[str, Any] = {
        "year": crossing.year,
        "censored": crossing.censored,
        "tokens": 10.0 ** value_at_crossing(tokens, crossing),
        "compute": 10.0 ** value_at_crossing(compute, crossing),
        "stock": 10.0 ** value_at_crossing(effective, crossing),
        "baseline": first_crossing(grid, tokens - public["effective"]).year,
        "extra": {
            name: first_crossing(grid, tokens - extra_stocks.add_extra_stocks(stocks["effective"], inputs, [name])).year
            for name in names
        },
    }
    if scenario.synthetic.enabled:
        supply_gap, guard_gap = synthetic.synthetic_supply(scenario.synthetic, inputs, grid, effective, tokens)
        out["synthetic"] = first_crossing(grid, supply_gap).year
        out["guard"] = first_crossing(grid, guard_gap).year
    years = np.arange(np.ceil(grid[0] - 1e-9), np.floor(grid[-1] + 1e-9) + 1)
    if years[0] - grid[0] > 1e-9:  # a projection from mid-year: its start is the first band year
        years = np.concatenate([[grid[0]], years])
    index = np.clip(np.rint((years - grid[0]) / GRID_STEP_YEARS).astype(int), 0, grid.size - 1)
    paths = {"demand_tokens": tokens, "compute_flop": compute, **{f"stock_{k}": v for k, v in stocks.items()}}
    paths["stock_total"] = effective
    out["bands"] = {name: 10.0 ** np.quantile(path[:, index], BAND_QUANTILES, axis=0).T for name, path in paths.items()}
    return out


def _same_dates(fast: np.ndarray, dense: np.ndarray, what: str) -> None:
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(dense), err_msg=f"{what}: censoring differs")
    np.testing.assert_allclose(fast, dense, rtol=0.0, atol=1e-9, equal_nan=True, err_msg=what)


def assert_matches_dense(result: ScenarioResult, dense: dict[str, Any]) -> None:
    """Dates and censoring to 1e-9 yr; values at the crossing and bands to rounding."""
    name = result.name
    _same_dates(result.crossing_year, dense["year"], f"{name}: exhaustion")
    np.testing.assert_array_equal(result.censored, dense["censored"])
    for key, values in (("tokens", result.tokens), ("compute", result.compute), ("stock", result.stock_at_crossing)):
        np.testing.assert_allclose(values, dense[key], rtol=1e-12, equal_nan=True, err_msg=f"{name}: {key}")
    for band, values in result.bands.items():
        np.testing.assert_allclose(values, dense["bands"][band], rtol=1e-12, err_msg=f"{name}: band {band}")
    extensions = result.baseline_year is not None
    if extensions:
        _same_dates(result.baseline_year, dense["baseline"], f"{name}: baseline")
    assert set(result.extra_stock_years) == set(dense["extra"])
    for stock_name, years in result.extra_stock_years.items():
        _same_dates(years, dense["extra"][stock_name], f"{name}: with {stock_name} alone")
    assert (result.synthetic_year is not None) == ("synthetic" in dense)
    if result.synthetic_year is not None:
        _same_dates(result.synthetic_year, dense["synthetic"], f"{name}: with synthetic data")
        _same_dates(result.guard_year, dense["guard"], f"{name}: collapse guard")


def test_fast_projection_matches_dense_on_the_default_preset(default_run) -> None:
    """Every scenario of the run, on its real inputs (the fitted posterior and the prior draws)."""
    result, _ = default_run
    for scenario, projected in zip(resolve(result.config), result.results, strict=True):
        grid = time_grid(date_year(scenario.projection_start), float(scenario.horizon))
        assert_matches_dense(projected, dense_reference(scenario, projected.inputs, grid, result.config.seed))


# Scenarios that exercise every switch the projection has, on inputs far wider than the posterior.
RANDOMISED_YAML = """
schema_version: 1
seed: 11
defaults:
  scaling: mixture
  horizon: 2060
  compute_slowdown: {start_year: {low: 2025, high: 2045}, growth_after_oom_per_year: 0.18}
scenarios:
  - name: mixture
  - name: slowdown-then-flat
    scaling: compute
    compute_slowdown: {start_year: 2027, growth_after_oom_per_year: 0.0}
  - name: no-slowdown
    scaling: compute
    compute_slowdown: null
  - name: profit-all
    overtraining: {factor: 1, profit_model: near_optimal, applies_to: all}
  - name: profit-100x
    scaling: compute
    overtraining: {profit_model: 100x}
  - name: overtrained-all
    overtraining: {factor: 30, applies_to: all}
  - name: prior-growth
    stock_growth: prior
  - name: given-trends
    historical_trend: {source: given}
    compute_trend: {source: given}
  - name: wild-drift
    priors: {per_user_production_growth: {distribution: normal, low: -0.3, high: 0.9}}
  - name: tiny-stock
    priors: {indexed_pages: {distribution: lognormal, low: 1.0e+6, high: 1.0e+10}}
  - name: short-horizon
    horizon: 2029
  - name: human-share
    human_share: {enabled: true, discount: 0.7}
  - name: human-share-wild
    human_share: {enabled: true}
    priors: {per_user_production_growth: {distribution: normal, low: -0.3, high: 0.9}}
  - name: extra-stocks
    extra_stocks: {enabled: true}
  - name: synthetic-fast
    synthetic:
      enabled: true
      growth_per_year: {distribution: lognormal, low: 2.0, high: 30.0}
      min_real_share: {distribution: uniform, low: 0.05, high: 0.95}
    priors: {per_user_production_growth: {distribution: normal, low: -0.3, high: 0.9}}
  - name: everything
    human_share: {enabled: true}
    synthetic: {enabled: true}
    extra_stocks: {enabled: true}
    overtraining: {profit_model: 5x, applies_to: all}
"""


def _randomised_posterior(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fitted inputs spread far beyond the posterior: slow, flat and fast demand, early and late adoption."""
    return {
        "dataset_level": rng.normal(12.8, 0.6, n),
        "dataset_growth": rng.normal(0.35, 0.2, n),
        "compute_level": rng.normal(25.2, 0.8, n),
        "compute_growth": rng.normal(0.5, 0.25, n),
        "adoption_midpoint": rng.normal(2015.0, 4.0, n),
        "adoption_rate": np.exp(rng.normal(np.log(0.17), 0.6, n)),
        "ai_c_max": rng.uniform(0.05, 0.95, n),
        "ai_k": np.exp(rng.normal(np.log(3.0), 0.8, n)),
        "ai_t0": rng.normal(2024.0, 1.5, n),
    }


def test_fast_projection_matches_dense_on_randomised_inputs() -> None:
    config = parse_config(RANDOMISED_YAML, "randomised.yml")
    stock_priors = load_stock_priors(DATA_DIR)
    rng = np.random.default_rng(5)
    seen = {"whole grid": 0, "censored": 0, "at start": 0}
    for scenario in resolve(config):
        n = 1_200  # several row blocks for the threaded human-only stock
        posterior = _randomised_posterior(n, rng)
        inputs = scenario_inputs(scenario, posterior, stock_priors, config.seed)
        inputs |= switch_inputs(scenario, posterior, n, config.seed)
        grid = time_grid(date_year(scenario.projection_start), float(scenario.horizon))
        result = project_inputs(scenario, inputs, grid, config.seed, ProjectionCache())
        dense = dense_reference(scenario, inputs, grid, config.seed)
        assert_matches_dense(result, dense)
        model, paths = demand_model(scenario, inputs, config.seed), stock_model(scenario, inputs)
        seen["whole grid"] += int((~steadily_rising_draws(model, paths, grid)).sum())
        seen["censored"] += int(result.censored.sum())
        seen["at start"] += int((result.crossing_year == grid[0]).sum())
        if not (scenario.human_share.enabled or scenario.extra_stocks.enabled):
            _same_dates(exhaustion_crossing(scenario, inputs, grid, config.seed).year, dense["year"], scenario.name)
    assert all(count > 0 for count in seen.values()), seen  # every route of the fast path was taken


def test_shared_parts_are_reused_without_changing_results(default_run) -> None:
    """A scenario projected with a warm cache equals one projected alone."""
    result, _ = default_run
    posterior = flatten(posterior_arrays(result.idata))
    scenarios = {s.name: s for s in resolve(result.config)}
    cache = ProjectionCache()
    args = (posterior, result.bundle.stock_priors, result.config.seed)
    known = _known(result)
    project_scenario(scenarios["mixture-optimal"], *args, cache=cache, known=known)
    warm = project_scenario(scenarios["mixture-synthetic"], *args, cache=cache, known=known)
    alone = project_scenario(scenarios["mixture-synthetic"], *args, cache=ProjectionCache(), known=known)
    for attr in ("crossing_year", "baseline_year", "synthetic_year", "guard_year", "tokens"):
        np.testing.assert_array_equal(getattr(warm, attr), getattr(alone, attr))
