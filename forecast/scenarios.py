"""Scenarios: from posterior draws and a resolved scenario to exhaustion draws, bands and summaries.

For each scenario: draw its inputs (`forecast.draws`), describe one demand path and one stock path per draw on a
monthly grid (`forecast.demand`, `forecast.stock`), find the first crossing (`forecast.exhaustion`). Everything is
array code over draws. The exhaustion draws form a test-locked schema (see `EXHAUSTION_SCHEMA`).

Why the paths are not built on the whole grid: 433 monthly points × 4,000 draws × several paths per scenario cost
far more than the answer needs. The paths are evaluated at whole years (which the bands need anyway) and at the
grid's ends, and `exhaustion.bracketed_crossing` / `scan_crossing` evaluate the monthly points only where a
crossing can be; the dates are those of the dense monthly computation (tests/test_scenarios.py compares them).
The stock depends on the stock inputs only, which most scenarios share, so it is built once per distinct stock
configuration (`SupplyCache`).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast import demand, stock
from forecast import scenario_extensions as ext
from forecast.draws import balanced_arms, draw_prior, resolve_prior
from forecast.exhaustion import (
    INTERVAL_QUANTILES,
    Crossing,
    bracket_indices,
    bracketed_crossing,
    censored_quantiles,
    column_quantiles,
    probability_by_year,
    scan_crossing,
    share_censored,
    steadily_rising,
    value_at_bracket,
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


def _arms(scenario: Any, n: int, seed: int) -> np.ndarray:
    """Per draw, True when it follows the historical-trend arm."""
    if scenario.scaling == "historical":
        return np.ones(n, dtype=bool)
    if scenario.scaling == "compute":
        return np.zeros(n, dtype=bool)
    return balanced_arms(n, seed)


def demand_model(scenario: Any, inputs: dict[str, np.ndarray], seed: int) -> demand.DemandPaths:
    """The frontier run of every draw (both arms and the draw's arm), to evaluate at any times."""
    ot, slowdown = scenario.overtraining, scenario.compute_slowdown
    if scenario.historical_trend.source == "given":
        anchor = float(decimal_year(pd.Series([scenario.historical_trend.anchor_date]))[0])
        level, growth = np.log10(inputs["dataset_start_tokens"]), inputs["dataset_growth_oom_per_year"]
    else:
        anchor, level, growth = ANCHOR_YEAR, inputs["dataset_level"], inputs["dataset_growth"]
    return demand.DemandPaths(
        historical=_arms(scenario, inputs["compute_level"].size, seed),
        hist_level=np.asarray(level),
        hist_growth=np.asarray(growth),
        hist_anchor=anchor,
        compute_level=np.asarray(inputs["compute_level"]),
        compute_growth=np.asarray(inputs["compute_growth"]),
        compute_anchor=ANCHOR_YEAR,
        slowdown_year=inputs.get("compute_slowdown_year"),
        growth_after=slowdown.growth_after_oom_per_year if slowdown is not None else 0.0,
        factor=ot.factor,
        profit_policy=ot.profit_model,
        overtrain_historical=ot.applies_to == "all",
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


# ----------------------------------------------------------------------------------------------------------------
# Where the paths are evaluated
# ----------------------------------------------------------------------------------------------------------------

Rows = np.ndarray | None  # indices of draws; None: all draws


@dataclass(frozen=True)
class GridPoints:
    """A projection's monthly grid and its coarse points: the whole years (for the bands) and both ends."""

    grid: np.ndarray
    coarse: np.ndarray  # increasing grid indices, starting at 0 and ending at the last point
    band_years: np.ndarray
    band_columns: np.ndarray  # position in `coarse` of each band year's grid point

    @classmethod
    def of(cls, grid: np.ndarray) -> GridPoints:
        """Band years are the whole years on the grid, each at its nearest grid point."""
        years = np.arange(np.ceil(grid[0] - 1e-9), np.floor(grid[-1] + 1e-9) + 1)
        index = np.clip(np.rint((years - grid[0]) / GRID_STEP_YEARS).astype(int), 0, grid.size - 1)
        coarse = np.unique(np.concatenate([[0], index, [grid.size - 1]]))
        return cls(grid, coarse, years, np.searchsorted(coarse, index))

    @property
    def steps(self) -> tuple[float, float]:
        """Smallest and largest grid step (years)."""
        steps = np.diff(self.grid)
        return (float(steps.min()), float(steps.max())) if steps.size else (GRID_STEP_YEARS, GRID_STEP_YEARS)

    def times(self, index: np.ndarray) -> np.ndarray:
        return self.grid[index]

    def bands(self, at_coarse: np.ndarray) -> np.ndarray:
        """Quantiles over draws (year, quantile) in natural units of a log10 path given at the coarse points."""
        return 10.0 ** column_quantiles(at_coarse[:, self.band_columns], BAND_QUANTILES).T


class _OnGrid:
    """A closed-form `StockPaths` addressed by grid index, like the grid-bound `HumanOnlyStock`."""

    def __init__(self, paths: stock.StockPaths, points: GridPoints) -> None:
        self.paths, self.points = paths, points

    def stages(self, index: np.ndarray, rows: Rows = None) -> dict[str, np.ndarray]:
        return self.paths.stages(self.points.times(index), rows)

    def effective(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.paths.effective(self.points.times(index), rows)


@dataclass(frozen=True)
class Supply:
    """A stock of human text on one grid, with what every scenario using it needs.

    `at_coarse` (log10 tokens per stage at the coarse points) and `bands` are computed once; `step_growth` bounds
    the rise of log10 effective stock per grid step, per draw (`exhaustion.steadily_rising`).
    """

    paths: _OnGrid | stock.HumanOnlyStock
    at_coarse: dict[str, np.ndarray]
    bands: dict[str, np.ndarray]
    step_growth: np.ndarray

    @classmethod
    def build(cls, paths: _OnGrid | stock.HumanOnlyStock, points: GridPoints, step_growth: np.ndarray) -> Supply:
        at_coarse = paths.stages(points.coarse)
        return cls(paths, at_coarse, {k: points.bands(v) for k, v in at_coarse.items()}, step_growth)

    def effective(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.paths.effective(index, rows)


def _digest(*parts: Any) -> str:
    """A hash of arrays (dtype, shape, bytes) and plain values, for cache keys."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"|")
    return h.hexdigest()


class SupplyCache:
    """Stocks built once per distinct stock configuration and reused across scenarios.

    The stock depends on the stock inputs, the growth model, the grid and the human-share settings, not on the
    demand side; scenarios that draw their priors with the same seed and names share the draws, so in the default
    preset every scenario has the same public stock. Keys hash everything a stock depends on (array bytes
    included), so a hit always means identical inputs. Bounded: the least recently used entries are dropped.
    """

    def __init__(self, max_entries: int = 4) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Supply] = OrderedDict()

    def get(self, key: str, build: Callable[[], Supply]) -> Supply:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        supply = self._entries[key] = build()
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return supply

    def clear(self) -> None:
        self._entries.clear()


SUPPLY_CACHE = SupplyCache()
_STOCK_LEVEL = ("indexed_pages", "bytes_per_page", "bytes_per_token", "quality_fraction", "epochs")
_STOCK_INPUTS = {
    "prior": (*_STOCK_LEVEL, "page_size_growth", "page_count_growth"),
    "users_model": (*_STOCK_LEVEL, "adoption_midpoint", "adoption_rate", "per_user_production_growth"),
}


def public_supply(
    scenario: Any, inputs: dict[str, np.ndarray], points: GridPoints, cache: SupplyCache | None = None
) -> tuple[Supply, str]:
    """The public stock of a scenario (from `cache` when an identical one was built) and its cache key."""
    cache = cache if cache is not None else SUPPLY_CACHE
    names = _STOCK_INPUTS[scenario.stock_growth]
    key = _digest("public", scenario.stock_growth, ANCHOR_YEAR, points.grid, *(inputs[name] for name in names))

    def build() -> Supply:
        paths = stock_model(scenario, inputs)
        return Supply.build(_OnGrid(paths, points), points, paths.most_growth(points.grid[0]) * points.steps[1])

    return cache.get(key, build), key


def human_supply(
    scenario: Any,
    inputs: dict[str, np.ndarray],
    points: GridPoints,
    public_key: str,
    cache: SupplyCache | None = None,
) -> Supply:
    """The human-only stock of a scenario with `human_share` on (built on the whole grid, once per configuration)."""
    cache = cache if cache is not None else SUPPLY_CACHE
    settings = scenario.human_share
    key = _digest("human", public_key, settings.from_year, settings.discount, *(inputs[n] for n in ext.AI_PARAMS))

    def build() -> Supply:
        human = ext.human_only_stock(scenario, inputs, stock_model(scenario, inputs), points.grid)
        return Supply.build(human, points, human.most_step_growth())

    return cache.get(key, build)


# ----------------------------------------------------------------------------------------------------------------
# One scenario's projection
# ----------------------------------------------------------------------------------------------------------------


def _take(values: np.ndarray, rows: Rows) -> np.ndarray:
    return values if rows is None else values[rows]


@dataclass
class Projection:
    """Demand and supply of one scenario, and the crossings between them, evaluated only where needed.

    Every crossing here is `exhaustion.first_crossing` on the monthly grid, computed from the coarse points and a
    few refining evaluations: `bracketed_crossing` for gaps between demand and a stock (exact for every draw; it
    falls back to the whole grid for a draw whose gap is not shown to rise at every step), `scan_crossing` for the
    synthetic-data gaps, which need not rise, from a grid point before which they are shown to be negative.
    """

    points: GridPoints
    demand: demand.DemandPaths
    supply: Supply  # the stock the scenario's date uses: human-only with `human_share` on, else the public one
    public: Supply
    extra: np.ndarray | None = None  # per draw, accessible tokens of the extra stocks (None: switched off)
    tokens_coarse: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.tokens_coarse = self.demand.tokens(self.points.times(self.points.coarse))
        low, _ = self.points.steps
        self._demand_step = self.demand.least_growth() * low

    def tokens(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.demand.tokens(self.points.times(index), rows)

    def total(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        """log10 effective stock plus the extra stocks (the stock the scenario's date uses)."""
        effective = self.supply.effective(index, rows)
        return effective if self.extra is None else ext.with_extra(effective, _take(self.extra, rows))

    @cached_property
    def total_coarse(self) -> np.ndarray:
        effective = self.supply.at_coarse["effective"]
        return effective if self.extra is None else ext.with_extra(effective, self.extra)

    def crossing(
        self,
        stock_at: Callable[[np.ndarray, Rows], np.ndarray],
        step_growth: np.ndarray,
        stock_coarse: np.ndarray | None = None,
    ) -> Crossing:
        """First crossing of log10 demand − `stock_at` (a stock with per-step growth bound `step_growth`).

        With the stock at the coarse points given (computed anyway for the bands) the bisection starts from them;
        without, from the grid's two ends (~log2(T) evaluations per draw instead of one per year).
        """

        def gap_at(rows: Rows, index: np.ndarray) -> np.ndarray:
            return self.tokens(index, rows) - stock_at(index, rows)

        rising = steadily_rising(self._demand_step, step_growth)
        grid = self.points.grid
        if stock_coarse is not None:
            coarse, coarse_gap = self.points.coarse, self.tokens_coarse - stock_coarse
        else:
            coarse = np.array([0, grid.size - 1])
            coarse_gap = gap_at(None, coarse)
        return bracketed_crossing(grid, coarse, coarse_gap, gap_at, rising)

    def main_crossing(self) -> Crossing:
        return self.crossing(self.total, self.supply.step_growth, self.total_coarse)

    def at_crossing(self, crossing: Crossing) -> dict[str, np.ndarray]:
        """Dataset size, compute and total stock at each crossing (natural units; NaN when censored)."""
        pair = bracket_indices(crossing)
        t = self.points.times(pair)
        values = {
            "tokens": self.demand.tokens(t),
            "compute": self.demand.compute(t),
            "stock": self.total(pair),
        }
        return {name: 10.0 ** value_at_bracket(v, crossing) for name, v in values.items()}

    def with_extra_crossing(self, extra: np.ndarray) -> Crossing:
        """Crossing with the scenario's stock plus the given extra stock per draw (and not the configured ones)."""
        supply = self.supply

        def stock_at(index: np.ndarray, rows: Rows) -> np.ndarray:
            return ext.with_extra(supply.effective(index, rows), _take(extra, rows))

        return self.crossing(stock_at, supply.step_growth)

    def baseline_crossing(self) -> Crossing:
        """Crossing with the public stock: the scenario with its extensions off."""
        public = self.public
        return self.crossing(public.effective, public.step_growth, public.at_coarse["effective"])

    def synthetic_crossings(
        self, scenario: Any, inputs: dict[str, np.ndarray], main: Crossing
    ) -> tuple[Crossing, Crossing]:
        """Crossings with the synthetic supplement (D ≥ H + v·min(S_syn, cap)) and of the collapse guard.

        Neither gap need rise over time (synthetic text can grow faster than demand), so each is scanned month
        by month from a point before which it is provably negative:
        - the guard gap r* − real share: before the main crossing D < H, so the real share is exactly 1 and the
          gap r* − 1 < 0 (for r* < 1; r* = 1 is scanned from the start);
        - the supply gap log10 D − log10(supply): supply ≥ H, so the gap is at most the main gap plus rounding.
          Where the main gap rises by ≥ MONOTONE_MARGIN a step it is below −MARGIN two steps before the main
          crossing, so the scan starts one step before it; elsewhere it starts at the beginning.
        """
        size = self.points.grid.size
        first = np.where(main.censored, size, main.index)
        rising = steadily_rising(self._demand_step, self.supply.step_growth)
        supply_start = np.where(rising, np.maximum(first - 1, 0), 0)
        guard_start = np.where(inputs["synthetic_min_real_share"] < 1.0, first, 0)

        def gaps(rows: Rows, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = self.points.times(index)
            return ext.synthetic_supply(scenario, inputs, t, self.total(index, rows), self.tokens(index, rows), rows)

        grid = self.points.grid
        with_synthetic = scan_crossing(grid, lambda rows, index: gaps(rows, index)[0], supply_start)
        guard = scan_crossing(grid, lambda rows, index: gaps(rows, index)[1], guard_start)
        return with_synthetic, guard

    def bands(self) -> dict[str, np.ndarray]:
        """Yearly quantile bands of demand, compute, the stock stages and the total stock."""
        points = self.points
        compute = self.demand.compute(points.times(points.coarse))
        total = self.supply.bands["effective"] if self.extra is None else points.bands(self.total_coarse)
        return {
            "demand_tokens": points.bands(self.tokens_coarse),
            "compute_flop": points.bands(compute),
            **{f"stock_{k}": v for k, v in self.supply.bands.items()},
            "stock_total": total,
        }


def _extensions_on(scenario: Any) -> bool:
    return scenario.human_share.enabled or scenario.synthetic.enabled or scenario.extra_stocks.enabled


def projection(
    scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int, cache: SupplyCache | None = None
) -> Projection:
    """The projection of a scenario on `grid` from its inputs (stocks from `cache`, default `SUPPLY_CACHE`)."""
    points = GridPoints.of(grid)
    public, key = public_supply(scenario, inputs, points, cache)
    supply = human_supply(scenario, inputs, points, key, cache) if scenario.human_share.enabled else public
    extra_names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
    n = inputs["compute_level"].size
    extra = ext.extra_total(inputs, extra_names, n) if extra_names else None
    return Projection(points, demand_model(scenario, inputs, seed), supply, public, extra)


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
    proj = projection(scenario, inputs, grid, seed)
    crossing = proj.main_crossing()
    values = proj.at_crossing(crossing)
    result = ScenarioResult(
        name=scenario.name,
        horizon=horizon,
        crossing_year=crossing.year,
        censored=crossing.censored,
        tokens=values["tokens"],
        compute=values["compute"],
        stock_at_crossing=values["stock"],
        historical_arm=proj.demand.historical,
        band_years=proj.points.band_years,
        bands=proj.bands(),
        inputs=inputs,
    )
    if _extensions_on(scenario):
        result.baseline_year = proj.baseline_crossing().year
        extra_names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
        result.extra_stock_years = {
            name: proj.with_extra_crossing(ext.extra_total(inputs, [name], n)).year for name in extra_names
        }
        if scenario.synthetic.enabled:
            with_synthetic, guard = proj.synthetic_crossings(scenario, inputs, crossing)
            result.synthetic_year, result.guard_year = with_synthetic.year, guard.year
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
