"""Scenarios: from posterior draws and a resolved scenario to exhaustion draws, bands and summaries.

For each scenario: draw its inputs (`forecast.draws`), build one demand path and one stock path per draw on a
monthly grid (`forecast.demand`, `forecast.stock`), find the first crossing (`forecast.exhaustion`). Everything is
array code over draws. The exhaustion draws form a test-locked schema (see `EXHAUSTION_SCHEMA`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast import demand, stock
from forecast import scenario_extensions as ext
from forecast.draws import balanced_arms, draw_prior, resolve_prior
from forecast.exhaustion import (
    INTERVAL_QUANTILES,
    censored_quantiles,
    first_crossing,
    probability_by_year,
    share_censored,
    value_at_crossing,
)
from forecast.model import ANCHOR_YEAR
from forecast.units import decimal_year

# Monthly time grid: crossing dates are interpolated between grid points, so a month is ample resolution
# against interval widths of years.
GRID_STEP_YEARS = 1.0 / 12.0
BAND_QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)

# Names, dims and units of the exhaustion draws: the output schema, locked by tests/test_scenarios.py.
_DRAW_DIMS = ("scenario", "chain", "draw")
EXHAUSTION_SCHEMA: dict[str, tuple[tuple[str, ...], str, str]] = {
    "exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        "first date the frontier dataset reaches the effective stock; NaN if censored",
    ),
    "censored": (_DRAW_DIMS, "bool", "no crossing before the horizon"),
    "tokens_at_crossing": (_DRAW_DIMS, "tokens", "frontier dataset size at the crossing"),
    "compute_at_crossing": (
        _DRAW_DIMS,
        "FLOP",
        "training compute at the crossing (Chinchilla-equivalent on the historical arm)",
    ),
    "stock_at_crossing": (_DRAW_DIMS, "tokens", "effective stock at the crossing"),
    "historical_arm": (_DRAW_DIMS, "bool", "the draw follows the historical-trend arm (else the compute arm)"),
    "baseline_exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        "the same scenario with human_share, synthetic and extra_stocks switched off; NaN if censored",
    ),
    "synthetic_exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        "exhaustion with the synthetic-data supplement; NaN if censored or synthetic data are off",
    ),
    "collapse_guard_year": (
        _DRAW_DIMS,
        "decimal year",
        "first date a frontier dataset's real share falls below the guard r*; NaN if never or synthetic data are off",
    ),
    "horizon": (("scenario",), "decimal year", "end of the projection; later dates are censored"),
    "synthetic_enabled": (("scenario",), "bool", "the scenario turns synthetic data on"),
}

STOCK_STAGES = ("raw", "quality", "effective")


@dataclass
class ScenarioResult:
    """Everything one scenario produces, before it is gathered into datasets."""

    name: str
    horizon: float
    crossing_year: np.ndarray
    censored: np.ndarray
    tokens: np.ndarray
    compute: np.ndarray
    stock_at_crossing: np.ndarray
    historical_arm: np.ndarray
    band_years: np.ndarray
    bands: dict[str, np.ndarray]  # name -> (year, quantile)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    baseline_year: np.ndarray | None = None  # same scenario, extensions off (None: no extension enabled)
    synthetic_year: np.ndarray | None = None
    guard_year: np.ndarray | None = None
    extra_stock_years: dict[str, np.ndarray] = field(default_factory=dict)  # date with each extra stock alone


def time_grid(start: float, horizon: float) -> np.ndarray:
    """Monthly grid from `start` to `horizon` inclusive."""
    steps = int(np.ceil((horizon - start) / GRID_STEP_YEARS - 1e-9))
    return start + GRID_STEP_YEARS * np.arange(steps + 1)


def _slowdown_years(slowdown: Any, n: int, seed: int) -> np.ndarray | None:
    if slowdown is None:
        return None
    start = slowdown.start_year
    if isinstance(start, int | float):
        return np.full(n, float(start))
    from forecast.priors import PriorSpec

    return PriorSpec("uniform", float(start.low), float(start.high)).draw(n, seed, "slowdown_year")


def scenario_inputs(
    scenario: Any, posterior: dict[str, np.ndarray], stock_priors: pd.DataFrame, seed: int
) -> dict[str, np.ndarray]:
    """All uncertain inputs of a scenario, one value per draw (posterior arrays must be flat)."""
    n = posterior["dataset_level"].size
    inputs: dict[str, np.ndarray] = {}
    names = ["indexed_pages", "bytes_per_page", "bytes_per_token", "quality_fraction", "epochs"]
    if scenario.stock_growth == "prior":
        names += ["page_size_growth", "page_count_growth"]
    else:
        names += ["per_user_production_growth"]
        inputs["adoption_midpoint"] = posterior["adoption_midpoint"]
        inputs["adoption_rate"] = posterior["adoption_rate"]
    if scenario.historical_trend.source == "given":
        names += ["dataset_start_tokens", "dataset_growth_oom_per_year"]
    else:
        inputs["dataset_level"] = posterior["dataset_level"]
        inputs["dataset_growth"] = posterior["dataset_growth"]
    for name in names:
        inputs[name] = draw_prior(name, resolve_prior(name, scenario.priors, stock_priors), n, seed)
    if scenario.compute_trend.source == "given":
        for name in ("compute_start_flop", "compute_growth_oom_per_year"):
            inputs[name] = draw_prior(name, resolve_prior(name, scenario.priors, stock_priors), n, seed)
        inputs["compute_level"] = np.log10(inputs.pop("compute_start_flop"))
        inputs["compute_growth"] = inputs.pop("compute_growth_oom_per_year")
    else:
        inputs["compute_level"] = posterior["compute_level"]
        inputs["compute_growth"] = posterior["compute_growth"]
    slowdown = _slowdown_years(scenario.compute_slowdown, n, seed)
    if slowdown is not None:
        inputs["compute_slowdown_year"] = slowdown
    return inputs


def demand_paths(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> tuple:
    """log10 tokens and log10 FLOP of the frontier run per draw, and the mixture's arm per draw."""
    n = inputs["compute_level"].size
    ot = scenario.overtraining
    if scenario.historical_trend.source == "given":
        anchor = float(decimal_year(pd.Series([scenario.historical_trend.anchor_date]))[0])
        hist = demand.log_linear_path(
            grid, np.log10(inputs["dataset_start_tokens"]), inputs["dataset_growth_oom_per_year"], anchor
        )
    else:
        hist = demand.log_linear_path(grid, inputs["dataset_level"], inputs["dataset_growth"], ANCHOR_YEAR)
    hist_compute = demand.log10_compute_for_tokens(hist)
    if ot.applies_to == "all":
        hist = demand.overtrained_log10_tokens(hist, hist_compute, ot.factor, ot.profit_model)
    slowdown = scenario.compute_slowdown
    comp_compute = demand.log10_compute_path(
        grid,
        inputs["compute_level"],
        inputs["compute_growth"],
        ANCHOR_YEAR,
        inputs.get("compute_slowdown_year"),
        slowdown.growth_after_oom_per_year if slowdown is not None else 0.0,
    )
    comp = demand.overtrained_log10_tokens(
        demand.log10_chinchilla_tokens(comp_compute), comp_compute, ot.factor, ot.profit_model
    )
    if scenario.scaling == "historical":
        arm = np.ones(n, dtype=bool)
    elif scenario.scaling == "compute":
        arm = np.zeros(n, dtype=bool)
    else:
        arm = balanced_arms(n, seed)
    tokens = np.where(arm[:, None], hist, comp)
    compute = np.where(arm[:, None], hist_compute, comp_compute)
    return tokens, compute, arm


def stock_paths(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray) -> dict[str, np.ndarray]:
    """log10 tokens of the raw, quality-filtered and effective stock per draw."""
    raw0 = stock.log10_raw_stock(inputs["indexed_pages"], inputs["bytes_per_page"], inputs["bytes_per_token"])
    if scenario.stock_growth == "prior":
        growth = stock.log10_growth_prior(grid, inputs["page_size_growth"] * inputs["page_count_growth"], ANCHOR_YEAR)
    else:
        growth = stock.log10_growth_users(
            grid,
            inputs["adoption_midpoint"],
            inputs["adoption_rate"],
            inputs["per_user_production_growth"],
            ANCHOR_YEAR,
        )
    raw = raw0[:, None] + growth
    quality = raw + np.log10(inputs["quality_fraction"])[:, None]
    effective = quality + np.log10(stock.repetition_multiplier(inputs["epochs"]))[:, None]
    return {"raw": raw, "quality": quality, "effective": effective}


def _yearly_bands(grid: np.ndarray, paths: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Quantiles over draws at whole years on the grid, in natural units (tokens, FLOP)."""
    years = np.arange(np.ceil(grid[0] - 1e-9), np.floor(grid[-1] + 1e-9) + 1)
    index = np.clip(np.rint((years - grid[0]) / GRID_STEP_YEARS).astype(int), 0, grid.size - 1)
    bands = {name: 10.0 ** np.quantile(path[:, index], BAND_QUANTILES, axis=0).T for name, path in paths.items()}
    return years, bands


def _extensions_on(scenario: Any) -> bool:
    return scenario.human_share.enabled or scenario.synthetic.enabled or scenario.extra_stocks.enabled


def project_scenario(
    scenario: Any, posterior: dict[str, np.ndarray], stock_priors: pd.DataFrame, seed: int
) -> ScenarioResult:
    """Exhaustion draws and bands of one resolved scenario (with its extensions and their baseline)."""
    start = float(decimal_year(pd.Series([scenario.projection_start]))[0])
    horizon = float(scenario.horizon)
    grid = time_grid(start, horizon)
    inputs = scenario_inputs(scenario, posterior, stock_priors, seed)
    n = inputs["compute_level"].size
    inputs |= ext.extension_inputs(scenario, posterior, n, seed)
    tokens, compute, arm = demand_paths(scenario, inputs, grid, seed)
    if scenario.human_share.enabled:
        # The extended grid ends with `grid`, so the public stock is the tail of the extended paths.
        extended = ext.human_share_grid(scenario, grid)
        on_extended = stock_paths(scenario, inputs, extended)
        public = {stage: path[:, -grid.size :] for stage, path in on_extended.items()}
        stocks = ext.discount_ai_share(scenario, inputs, extended, on_extended, grid.size)
    else:
        public = stock_paths(scenario, inputs, grid)
        stocks = public
    extra_names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
    effective = ext.add_extra_stocks(stocks["effective"], inputs, extra_names) if extra_names else stocks["effective"]
    crossing = first_crossing(grid, tokens - effective)
    result = ScenarioResult(
        name=scenario.name,
        horizon=horizon,
        crossing_year=crossing.year,
        censored=crossing.censored,
        tokens=10.0 ** value_at_crossing(tokens, crossing),
        compute=10.0 ** value_at_crossing(compute, crossing),
        stock_at_crossing=10.0 ** value_at_crossing(effective, crossing),
        historical_arm=arm,
        band_years=np.array([]),
        bands={},
        inputs=inputs,
    )
    if _extensions_on(scenario):
        result.baseline_year = first_crossing(grid, tokens - public["effective"]).year
        human_effective = stocks["effective"]
        result.extra_stock_years = {
            name: first_crossing(grid, tokens - ext.add_extra_stocks(human_effective, inputs, [name])).year
            for name in extra_names
        }
        if scenario.synthetic.enabled:
            supply_gap, guard_gap = ext.synthetic_supply(scenario, inputs, grid, effective, tokens)
            result.synthetic_year = first_crossing(grid, supply_gap).year
            result.guard_year = first_crossing(grid, guard_gap).year
    result.band_years, result.bands = _yearly_bands(
        grid,
        {
            "demand_tokens": tokens,
            "compute_flop": compute,
            **{f"stock_{k}": v for k, v in stocks.items()},
            "stock_total": effective,
        },
    )
    return result


def exhaustion_dataset(results: list[ScenarioResult], chains: int, draws: int) -> xr.Dataset:
    """Gather scenario results into the exhaustion-draws dataset (schema: `EXHAUSTION_SCHEMA`)."""

    def stack(attr: str) -> np.ndarray:
        return np.stack([getattr(r, attr).reshape(chains, draws) for r in results])

    dims = ("scenario", "chain", "draw")

    def optional(attr: str, fallback: str | None) -> np.ndarray:
        rows = [
            getattr(r, attr)
            if getattr(r, attr) is not None
            else (getattr(r, fallback) if fallback else np.full(r.crossing_year.shape, np.nan))
            for r in results
        ]
        return np.stack([row.reshape(chains, draws) for row in rows])

    values = {
        "exhaustion_year": stack("crossing_year"),
        "baseline_exhaustion_year": optional("baseline_year", "crossing_year"),
        "synthetic_exhaustion_year": optional("synthetic_year", None),
        "collapse_guard_year": optional("guard_year", None),
        "censored": stack("censored"),
        "tokens_at_crossing": stack("tokens"),
        "compute_at_crossing": stack("compute"),
        "stock_at_crossing": stack("stock_at_crossing"),
        "historical_arm": stack("historical_arm"),
    }
    ds = xr.Dataset(
        {name: (dims, array) for name, array in values.items()}
        | {
            "horizon": (("scenario",), np.array([r.horizon for r in results])),
            "synthetic_enabled": (("scenario",), np.array([r.synthetic_year is not None for r in results])),
        },
        coords={"scenario": [r.name for r in results], "chain": np.arange(chains), "draw": np.arange(draws)},
    )
    for name, (_, unit, description) in EXHAUSTION_SCHEMA.items():
        ds[name].attrs.update(units=unit, description=description)
    return ds


def bands_dataset(results: list[ScenarioResult]) -> xr.Dataset:
    """Yearly quantile bands (scenario, year, quantile) of demand, compute and the three stock stages."""
    years = np.unique(np.concatenate([r.band_years for r in results]))
    names = list(results[0].bands)
    data = {name: np.full((len(results), years.size, len(BAND_QUANTILES)), np.nan) for name in names}
    for i, r in enumerate(results):
        where = np.searchsorted(years, r.band_years)
        for name in names:
            data[name][i, where, :] = r.bands[name]
    return xr.Dataset(
        {name: (("scenario", "year", "quantile"), array) for name, array in data.items()},
        coords={"scenario": [r.name for r in results], "year": years, "quantile": list(BAND_QUANTILES)},
    )


SUMMARY_COLUMNS = (
    "scenario",
    "median",
    "q05",
    "q10",
    "q90",
    "q95",
    "p_not_by_horizon",
    "tokens_at_crossing_median",
    "compute_at_crossing_median",
)


def summary_table(exhaustion: xr.Dataset) -> pd.DataFrame:
    """One row per scenario: median, 80%/90% interval ends (decimal years; inf = after the horizon), share
    censored, and medians of the dataset size and compute at the crossing."""
    rows = []
    for name in exhaustion["scenario"].values:
        ds = exhaustion.sel(scenario=name)
        years = ds["exhaustion_year"].values
        q = censored_quantiles(years, INTERVAL_QUANTILES)
        rows.append(
            {
                "scenario": str(name),
                **{k: q[k] for k in ("median", "q05", "q10", "q90", "q95")},
                "p_not_by_horizon": share_censored(years),
                "tokens_at_crossing_median": float(np.nanmedian(ds["tokens_at_crossing"].values))
                if not np.all(np.isnan(years))
                else np.nan,
                "compute_at_crossing_median": float(np.nanmedian(ds["compute_at_crossing"].values))
                if not np.all(np.isnan(years))
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def probability_table(exhaustion: xr.Dataset, years: np.ndarray) -> pd.DataFrame:
    """P(exhausted by the end of year Y) per scenario (rows) and year (columns)."""
    return pd.DataFrame(
        {
            str(name): probability_by_year(exhaustion.sel(scenario=name)["exhaustion_year"].values, years + 1.0)
            for name in exhaustion["scenario"].values
        },
        index=pd.Index(years.astype(int), name="year"),
    ).T
