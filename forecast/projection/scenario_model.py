"""A resolved scenario as models: its grid, its uncertain inputs per draw, and its demand and stock models.

`scenario_inputs` draws the inputs (posterior draws of the fitted parameters, forward draws of the rest, via
`forecast.projection.inputs`); `demand_model` and `stock_model` turn them into the one evaluator of each path
(`forecast.projection.demand.DemandPaths`, `forecast.projection.stock.StockPaths`), which the projection
evaluates only where it needs to and `demand_paths` / `stock_paths` evaluate on a whole grid.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from forecast.model.trend import ANCHOR_YEAR
from forecast.priors import Prior
from forecast.projection import demand, stock
from forecast.projection.compute_limits import compute_caps, limit_inputs
from forecast.projection.crossing import steadily_rising, window_indices
from forecast.projection.inputs import balanced_arms, draw_prior, resolve_prior
from forecast.projection.memo import GRID_STEP_YEARS
from forecast.projection.switches import switch_inputs
from forecast.units import date_year


def time_grid(start: float, horizon: float) -> np.ndarray:
    """Monthly grid from `start` to `horizon` inclusive."""
    steps = int(np.ceil((horizon - start) / GRID_STEP_YEARS - 1e-9))
    return start + GRID_STEP_YEARS * np.arange(steps + 1)


# Priors resolved from a stock-priors frame, per frame: (weak reference to the frame, name -> Prior). Resolving
# reads the frame through pandas, which costs more than the draws; frames are not hashable, so they are keyed by
# id and the weak reference tells a live frame from a new one at a recycled id.
_RESOLVED: dict[int, tuple[weakref.ref, dict[str, Prior]]] = {}


def _resolved_prior(name: str, overrides: Any, stock_priors: pd.DataFrame) -> Prior:
    """`draws.resolve_prior`, with the frame's rows resolved once per frame."""
    if overrides is not None and getattr(overrides, name, None) is not None:
        return resolve_prior(name, overrides, stock_priors)
    ref, specs = _RESOLVED.get(id(stock_priors), (None, {}))
    if ref is None or ref() is not stock_priors:
        for key in [k for k, (r, _) in _RESOLVED.items() if r() is None]:
            del _RESOLVED[key]
        specs = {}
        _RESOLVED[id(stock_priors)] = (weakref.ref(stock_priors), specs)
    if name not in specs:
        specs[name] = resolve_prior(name, None, stock_priors)
    return specs[name]


@lru_cache(maxsize=64)
def _draws(name: str, spec: Prior, n: int, seed: int) -> np.ndarray:
    """`draws.draw_prior`, cached (a pure function of its arguments) and read-only, as it is shared."""
    values = draw_prior(name, spec, n, seed)
    values.flags.writeable = False
    return values


def _prior_draws(name: str, overrides: Any, stock_priors: pd.DataFrame, n: int, seed: int) -> np.ndarray:
    """n draws of a prior-only input: scenarios sharing a prior share its draws (common random numbers)."""
    return _draws(name, _resolved_prior(name, overrides, stock_priors), n, seed)


def _slowdown_years(slowdown: Any, n: int, seed: int) -> np.ndarray | None:
    if slowdown is None:
        return None
    start = slowdown.start_year
    if isinstance(start, int | float):
        return np.full(n, float(start))
    return _uniform_draws(float(start.low), float(start.high), n, seed, "slowdown_year")


@lru_cache(maxsize=16)
def _uniform_draws(low: float, high: float, n: int, seed: int, stream: str) -> np.ndarray:
    """Uniform draws from the named stream (cached and read-only, like `_draws`)."""
    values = Prior(distribution="uniform", low=low, high=high).draw(n, seed, stream)
    values.flags.writeable = False
    return values


def scenario_inputs(
    scenario: Any,
    posterior: dict[str, np.ndarray],
    stock_priors: pd.DataFrame,
    seed: int,
    record_start: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """All uncertain inputs of a scenario, one value per draw (posterior arrays must be flat).

    `record_start` (decimal year, log10 tokens) is the record known at the cut-off: with a record-process fit
    the historical arm is the record continued from it (`demand.RecordStart`)."""
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
        if record_start is not None and "dataset_record_scale" in posterior:
            inputs["record_scale"] = posterior["dataset_record_scale"]
            inputs["record_quantile"] = _uniform_draws(0.0, 1.0, n, seed, "record_quantile")
            inputs["record_start_year"] = np.full(n, float(record_start[0]))
            inputs["record_start_log10"] = np.full(n, float(record_start[1]))
    for name in names:
        inputs[name] = _prior_draws(name, scenario.priors, stock_priors, n, seed)
    if scenario.compute_trend.source == "given":
        for name in ("compute_start_flop", "compute_growth_oom_per_year"):
            inputs[name] = _prior_draws(name, scenario.priors, stock_priors, n, seed)
        inputs["compute_level"] = np.log10(inputs.pop("compute_start_flop"))
        inputs["compute_growth"] = inputs.pop("compute_growth_oom_per_year")
    else:
        inputs["compute_level"] = posterior["compute_level"]
        inputs["compute_growth"] = posterior["compute_growth"]
    slowdown = _slowdown_years(scenario.compute_slowdown, n, seed)
    if slowdown is not None:
        inputs["compute_slowdown_year"] = slowdown
    inputs.update(limit_inputs(scenario.compute_limits, posterior, n, seed))
    inputs["historical_arm"] = _arms(scenario, n, seed)
    if scenario.nowcast.condition_on_record:
        # What the record at the cut-off is weighed against: the fitted dataset frontier and its scales.
        for name in ("dataset_level", "dataset_growth", *RECORD_DENSITY_PARAMETERS):
            if name in posterior:
                inputs[f"fitted_{name}"] = posterior[name]
    if _uses_observed_practice(scenario.overtraining):
        # Today's practice: the tokens per compute of the frontier run at the start, from the two fitted frontiers
        # (historical arm's tokens and compute arm's FLOP there), so the compute arm starts at the dataset frontier.
        tokens, compute = frontier_model(scenario, inputs, seed).arms_at(date_year(scenario.projection_start))
        inputs["observed_log10_overtraining"] = demand.observed_log10_overtraining(tokens, compute)
    return inputs


#: Scales of the record's density at the cut-off: the stochastic frontier's, or the record process's jump scale.
RECORD_DENSITY_PARAMETERS = ("dataset_noise_sd", "dataset_shortfall_sd", "dataset_record_scale")


def _arms(scenario: Any, n: int, seed: int) -> np.ndarray:
    """Per draw, True when it follows the historical-trend arm."""
    if scenario.scaling == "historical":
        return np.ones(n, dtype=bool)
    if scenario.scaling == "compute":
        return np.zeros(n, dtype=bool)
    return balanced_arms(n, seed)


def frontier_model(scenario: Any, inputs: dict[str, np.ndarray], seed: int) -> demand.DemandPaths:
    """The frontier run of every draw before overtraining (both arms and the draw's arm): its compute, which
    overtraining leaves as it is (`demand.DemandPaths.compute`)."""
    slowdown = scenario.compute_slowdown
    if scenario.historical_trend.source == "given":
        anchor = date_year(scenario.historical_trend.anchor_date)
        level, growth = np.log10(inputs["dataset_start_tokens"]), inputs["dataset_growth_oom_per_year"]
    else:
        anchor, level, growth = ANCHOR_YEAR, inputs["dataset_level"], inputs["dataset_growth"]
    arms = (
        inputs["historical_arm"] if "historical_arm" in inputs else _arms(scenario, inputs["compute_level"].size, seed)
    )
    record = None
    if "record_scale" in inputs and scenario.historical_trend.source != "given":
        year, start = float(inputs["record_start_year"][0]), float(inputs["record_start_log10"][0])
        record = demand.RecordStart(
            year, start, np.asarray(inputs["record_scale"]), np.asarray(inputs["record_quantile"])
        )
    return demand.DemandPaths(
        historical=arms,
        hist_level=np.asarray(level),
        hist_growth=np.asarray(growth),
        hist_anchor=anchor,
        compute_level=np.asarray(inputs["compute_level"]),
        compute_growth=np.asarray(inputs["compute_growth"]),
        compute_anchor=ANCHOR_YEAR,
        slowdown_year=inputs.get("compute_slowdown_year"),
        growth_after=slowdown.growth_after_oom_per_year if slowdown is not None else 0.0,
        record=record,
        caps=compute_caps(scenario.compute_limits, inputs),
    )


def _uses_observed_practice(overtraining: Any) -> bool:
    """Whether the compute arm's conversion starts from (or is stated relative to) today's tokens per compute."""
    return overtraining.baseline == "observed" or overtraining.change_oom_per_year is not None


def overtraining_path(scenario: Any, inputs: dict[str, np.ndarray]) -> demand.OvertrainingPath | None:
    """The compute arm's tokens per compute over time, when the scenario states it relative to today's practice
    or lets it change gradually (None: the fixed `factor` or profit policy of [P2])."""
    ot = scenario.overtraining
    if not _uses_observed_practice(ot):
        return None
    observed = inputs["observed_log10_overtraining"]
    target = np.log10(ot.factor) + (observed if ot.baseline == "observed" else np.zeros_like(observed))
    if ot.change_oom_per_year is None:
        return demand.OvertrainingPath(target)
    start = date_year(scenario.projection_start)
    return demand.OvertrainingPath(target, observed, start, float(ot.change_oom_per_year))


def demand_model(scenario: Any, inputs: dict[str, np.ndarray], seed: int) -> demand.DemandPaths:
    """The frontier run of every draw (both arms and the draw's arm), to evaluate at any times."""
    ot = scenario.overtraining
    return replace(
        frontier_model(scenario, inputs, seed),
        factor=ot.factor,
        profit_policy=ot.profit_model,
        overtrain_historical=ot.applies_to == "all",
        overtraining_path=overtraining_path(scenario, inputs),
    )


def demand_paths(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> tuple:
    """log10 tokens and log10 FLOP of the frontier run per draw on the whole grid, and the mixture's arm per draw."""
    model = demand_model(scenario, inputs, seed)
    return model.tokens(grid), model.compute(grid), model.historical


def stock_model(scenario: Any, inputs: dict[str, np.ndarray]) -> stock.StockPaths:
    """The public stock of every draw, to evaluate at any times."""
    prior = scenario.stock_growth == "prior"
    return stock.StockPaths.from_inputs(
        *(inputs[name] for name in ("indexed_pages", "bytes_per_page", "bytes_per_token")),
        quality_fraction=inputs["quality_fraction"],
        epochs=inputs["epochs"],
        anchor=ANCHOR_YEAR,
        yearly_factor=inputs["page_size_growth"] * inputs["page_count_growth"] if prior else None,
        adoption_midpoint=None if prior else inputs["adoption_midpoint"],
        adoption_rate=None if prior else inputs["adoption_rate"],
        production_drift=None if prior else inputs["per_user_production_growth"],
    )


def stock_paths(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray) -> dict[str, np.ndarray]:
    """log10 tokens of the raw, quality-filtered and effective stock per draw on the whole grid."""
    return stock_model(scenario, inputs).stages(grid)


def steadily_rising_draws(model: demand.DemandPaths, paths: stock.StockPaths, grid: np.ndarray) -> np.ndarray:
    """Draws whose gap between demand and the public stock provably rises at every step of `grid`."""
    steps = np.diff(grid)
    return steadily_rising(model.least_growth() * steps.min(), paths.most_growth(grid[0]) * steps.max())


def rising_window_draws(
    model: demand.DemandPaths, paths: stock.StockPaths, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, grid indices (first, last) between which that gap provably rises at every step
    (`demand.DemandPaths.rising_window`); first = `grid.size` where nothing is proven."""
    steps = np.diff(grid)
    start, end, growth = model.rising_window()
    rising = steadily_rising(growth * steps.min(), paths.most_growth(grid[0]) * steps.max())
    first, last = window_indices(grid, start, end)
    return np.where(rising, first, grid.size), last


def grid_and_inputs(
    scenario: Any,
    posterior: dict[str, np.ndarray],
    stock_priors: pd.DataFrame,
    seed: int,
    record_start: tuple[float, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A scenario's monthly grid and its inputs per draw (with those of its extensions; `scenario_inputs`)."""
    grid = time_grid(date_year(scenario.projection_start), float(scenario.horizon))
    inputs = scenario_inputs(scenario, posterior, stock_priors, seed, record_start)
    return grid, inputs | switch_inputs(scenario, posterior, inputs["compute_level"].size, seed)
