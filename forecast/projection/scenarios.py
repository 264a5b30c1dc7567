"""Scenarios: from posterior draws and a resolved scenario to exhaustion draws, bands and summaries.

For each scenario: draw its inputs (`forecast.projection.inputs`), describe one demand path and one stock path per
draw on a monthly grid (`forecast.projection.demand`, `forecast.projection.stock`), find the first crossing
(`forecast.projection.crossing`). Everything is
array code over draws. The exhaustion draws form a test-locked schema (see `EXHAUSTION_SCHEMA`).

Why the paths are not built on the whole grid: 433 monthly points × 4,000 draws × several paths per scenario cost
far more than the answer needs. The paths are evaluated at whole years (which the bands need anyway) and at the
grid's ends, and `exhaustion.bracketed_crossing` / `scan_crossing` evaluate the monthly points only where a
crossing can be; the dates are those of the dense monthly computation (tests/test_scenarios.py compares them).
The stock depends on the stock inputs only, which most scenarios share, so it is built once per distinct stock
configuration (`ProjectionCache`), and so are other parts that scenarios share.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model.trend import ANCHOR_YEAR
from forecast.priors import Prior
from forecast.projection import demand, stock
from forecast.projection.crossing import (
    INTERVAL_QUANTILES,
    Crossing,
    bracket_indices,
    bracketed_crossing,
    censored_quantiles,
    probability_by_year,
    scan_crossings,
    share_censored,
    steadily_rising,
    value_at_bracket,
)
from forecast.projection.inputs import balanced_arms, draw_prior, resolve_prior
from forecast.projection.memo import (
    BAND_QUANTILES,
    GRID_STEP_YEARS,
    PROJECTION_CACHE,
    ClosedFormOnGrid,
    GridPoints,
    ProjectionCache,
    Rows,
    Supply,
    content_digest,
    read_only,
)
from forecast.projection.switches import apply as ext
from forecast.units import decimal_year

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


@lru_cache(maxsize=64)
def date_year(date: Any) -> float:
    """`units.decimal_year` of one date (cached: every scenario asks for the same few dates, via pandas)."""
    return float(decimal_year(pd.Series([date]))[0])


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
        anchor = date_year(scenario.historical_trend.anchor_date)
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

_STOCK_LEVEL = ("indexed_pages", "bytes_per_page", "bytes_per_token", "quality_fraction", "epochs")
_STOCK_INPUTS = {
    "prior": (*_STOCK_LEVEL, "page_size_growth", "page_count_growth"),
    "users_model": (*_STOCK_LEVEL, "adoption_midpoint", "adoption_rate", "per_user_production_growth"),
}


def _public_key(scenario: Any, inputs: dict[str, np.ndarray], points: GridPoints) -> tuple[tuple, str]:
    """The cache key of a scenario's public stock, and its digest."""
    names = _STOCK_INPUTS[scenario.stock_growth]
    key = content_digest("public", scenario.stock_growth, ANCHOR_YEAR, points.grid, *(inputs[name] for name in names))
    return ("supply", key), key


def public_supply(
    scenario: Any, inputs: dict[str, np.ndarray], points: GridPoints, cache: ProjectionCache
) -> tuple[Supply, str]:
    """The public stock of a scenario (from `cache` when an identical one was built) and its cache key."""
    key, digest = _public_key(scenario, inputs, points)

    def build() -> Supply:
        paths = stock_model(scenario, inputs)
        return Supply.build(
            ClosedFormOnGrid(paths, points), points, paths.most_growth(points.grid[0]) * points.steps[1]
        )

    return cache.get(key, build), digest


def human_supply(
    scenario: Any, inputs: dict[str, np.ndarray], points: GridPoints, public_key: str, cache: ProjectionCache
) -> tuple[Supply, str]:
    """The human-only stock of a scenario with `human_share` on (built on the whole grid) and its cache key."""
    settings = scenario.human_share
    key = content_digest(
        "human", public_key, settings.from_year, settings.discount, *(inputs[n] for n in ext.AI_PARAMS)
    )

    def build() -> Supply:
        human = ext.human_only_stock(scenario, inputs, stock_model(scenario, inputs), points.grid)
        return Supply.build(human, points, human.most_step_growth())

    return cache.get(("supply", key), build), key


def demand_keys(model: demand.DemandPaths, grid: np.ndarray) -> tuple[str, str]:
    """Cache keys of a demand on a grid: (tokens and compute, compute alone, which overtraining leaves as is)."""
    compute = content_digest(
        "compute",
        grid,
        model.historical,
        model.hist_level,
        model.hist_growth,
        model.hist_anchor,
        model.compute_level,
        model.compute_growth,
        model.compute_anchor,
        model.slowdown_year,
        model.growth_after,
    )
    return content_digest("demand", compute, model.factor, model.profit_policy, model.overtrain_historical), compute


# ----------------------------------------------------------------------------------------------------------------
# One scenario's projection
# ----------------------------------------------------------------------------------------------------------------


def _take(values: np.ndarray, rows: Rows) -> np.ndarray:
    return values if rows is None else values[rows]


@dataclass(frozen=True)
class Keys:
    """What a projection's parts depend on, as `ProjectionCache` keys."""

    demand: str
    compute: str
    supply: str
    public: str
    extra: str | None


@dataclass
class Projection:
    """Demand and supply of one scenario, and the crossings between them, evaluated only where needed.

    Every crossing here is `exhaustion.first_crossing` on the monthly grid, computed from the coarse points and a
    few refining evaluations: `bracketed_crossing` for gaps between demand and a stock (exact for every draw; it
    falls back to the whole grid for a draw whose gap is not shown to rise at every step), `scan_crossings` for
    the synthetic-data gaps, which need not rise, from a grid point before which they are shown to be negative.
    Parts shared with other scenarios come from `cache`.
    """

    points: GridPoints
    demand: demand.DemandPaths
    supply: Supply  # the stock the scenario's date uses: human-only with `human_share` on, else the public one
    public: Supply
    keys: Keys
    cache: ProjectionCache
    extra: np.ndarray | None = None  # per draw, accessible tokens of the extra stocks (None: switched off)
    tokens_coarse: np.ndarray = field(init=False)  # log10 tokens at the coarse points
    compute_coarse: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        def coarse() -> tuple[np.ndarray, np.ndarray]:
            tokens, compute = self.demand.paths(self.points.times(self.points.coarse))
            return read_only(tokens), read_only(compute)

        self.tokens_coarse, self.compute_coarse = self.cache.get(("demand at coarse", self.keys.demand), coarse)
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
        if self.extra is None:
            return effective
        key = ("total at coarse", self.keys.supply, self.keys.extra)
        return self.cache.get(key, lambda: read_only(ext.with_extra(effective, self.extra)))

    def crossing(
        self,
        stock_at: Callable[[np.ndarray, Rows], np.ndarray],
        step_growth: np.ndarray,
        stock_coarse: np.ndarray | None = None,
        hint: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Crossing:
        """First crossing of log10 demand − `stock_at` (a stock with per-step growth bound `step_growth`).

        With the stock at the coarse points given (computed anyway for the bands) the bisection starts from them,
        with a `hint` from its bracket, else from the grid's two ends (~log2(T) evaluations per draw).
        """

        def gap_at(rows: Rows, index: np.ndarray) -> np.ndarray:
            return self.tokens(index, rows) - stock_at(index, rows)

        rising = steadily_rising(self._demand_step, step_growth)
        grid = self.points.grid
        if stock_coarse is None:
            return bracketed_crossing(grid, gap_at, rising, hint=hint)
        coarse_gap = self.tokens_coarse - stock_coarse
        return bracketed_crossing(grid, gap_at, rising, self.points.coarse, coarse_gap, hint)

    def main_crossing(self) -> Crossing:
        """The scenario's exhaustion: demand reaches its stock (plus extra stocks)."""
        key = ("crossing", self.keys.demand, self.keys.supply, self.keys.extra)
        return self.cache.get(key, lambda: self.crossing(self.total, self.supply.step_growth, self.total_coarse))

    def values_at_main(self) -> dict[str, np.ndarray]:
        """`at_crossing` of `main_crossing`."""
        key = ("values at crossing", self.keys.demand, self.keys.supply, self.keys.extra)
        return self.cache.get(key, lambda: self.at_crossing(self.main_crossing()))

    def at_crossing(self, crossing: Crossing) -> dict[str, np.ndarray]:
        """Dataset size, compute and total stock at each crossing (natural units; NaN when censored)."""
        pair = bracket_indices(crossing)
        tokens, compute = self.demand.paths(self.points.times(pair))
        values = {"tokens": tokens, "compute": compute, "stock": self.total(pair)}
        return {name: read_only(10.0 ** value_at_bracket(v, crossing)) for name, v in values.items()}

    def with_extra_crossing(self, extra: np.ndarray, main: Crossing, without: Crossing | None = None) -> Crossing:
        """Crossing with the scenario's stock plus the given extra stock per draw instead of the configured ones.

        A part of the extra stocks crosses no later than all of them (`main`, one step of rounding aside) and no
        earlier than none (`without`, the crossing without extra stocks, when known): the bisection starts from
        that bracket.
        """
        supply, last = self.supply, self.points.grid.size - 1

        def stock_at(index: np.ndarray, rows: Rows) -> np.ndarray:
            return ext.with_extra(supply.effective(index, rows), _take(extra, rows))

        hi = np.where(main.censored, last, main.index + 1)
        lo = np.zeros_like(hi) if without is None else np.maximum(without.index - 2, 0)
        return self.crossing(stock_at, supply.step_growth, hint=(lo, hi))

    def baseline_crossing(self) -> Crossing:
        """Crossing with the public stock: the scenario with its extensions off."""
        public = self.public

        def build() -> Crossing:
            return self.crossing(public.effective, public.step_growth, public.at_coarse["effective"])

        return self.cache.get(("crossing", self.keys.demand, self.keys.public, None), build)

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

        with_synthetic, guard = scan_crossings(self.points.grid, gaps, [supply_start, guard_start])
        return with_synthetic, guard

    def bands(self) -> dict[str, np.ndarray]:
        """Yearly quantile bands of demand, compute, the stock stages and the total stock."""
        points, keys = self.points, self.keys
        if self.extra is None:
            total = self.supply.bands["effective"]
        else:
            total = self.cache.get(("total band", keys.supply, keys.extra), lambda: points.bands(self.total_coarse))
        return {
            "demand_tokens": self.cache.get(("tokens band", keys.demand), lambda: points.bands(self.tokens_coarse)),
            "compute_flop": self.cache.get(("compute band", keys.compute), lambda: points.bands(self.compute_coarse)),
            **{f"stock_{k}": v for k, v in self.supply.bands.items()},
            "stock_total": total,
        }


def _extensions_on(scenario: Any) -> bool:
    return scenario.human_share.enabled or scenario.synthetic.enabled or scenario.extra_stocks.enabled


def projection(
    scenario: Any,
    inputs: dict[str, np.ndarray],
    grid: np.ndarray,
    seed: int,
    cache: ProjectionCache | None = None,
) -> Projection:
    """The projection of a scenario on `grid` from its inputs (shared parts from `cache`, default
    `PROJECTION_CACHE`)."""
    cache = cache if cache is not None else PROJECTION_CACHE
    points = GridPoints.of(grid)
    public, public_key = public_supply(scenario, inputs, points, cache)
    supply, supply_key = public, public_key
    if scenario.human_share.enabled:
        supply, supply_key = human_supply(scenario, inputs, points, public_key, cache)
    extra_names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
    extra = ext.extra_total(inputs, extra_names, inputs["compute_level"].size) if extra_names else None
    model = demand_model(scenario, inputs, seed)
    demand_key, compute_key = demand_keys(model, grid)
    keys = Keys(demand_key, compute_key, supply_key, public_key, None if extra is None else content_digest(extra))
    return Projection(points, model, supply, public, keys, cache, extra)


def steadily_rising_draws(model: demand.DemandPaths, paths: stock.StockPaths, grid: np.ndarray) -> np.ndarray:
    """Draws whose gap between demand and the public stock provably rises at every step of `grid`."""
    steps = np.diff(grid)
    return steadily_rising(model.least_growth() * steps.min(), paths.most_growth(grid[0]) * steps.max())


def exhaustion_crossing(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> Crossing:
    """The first crossing of every draw's demand with its public effective stock, from the inputs alone.

    The scenario's date with its extensions off (its date, for a scenario without them), as `project_scenario`
    finds it, without the bands, the other dates and the caches: the demand and stock paths are evaluated only
    where the bisection from the grid's two ends needs them (~log2(T) + 2 points per draw; a draw not shown to
    rise at every step on the whole grid). What `forecast bench` times as exhaustion draw-paths per second.
    """
    model, paths = demand_model(scenario, inputs, seed), stock_model(scenario, inputs)

    def gap_at(rows: Rows, index: np.ndarray) -> np.ndarray:
        t = grid[index]
        return model.tokens(t, rows) - paths.effective(t, rows)

    return bracketed_crossing(grid, gap_at, steadily_rising_draws(model, paths, grid))


def _grid_and_inputs(
    scenario: Any, posterior: dict[str, np.ndarray], stock_priors: pd.DataFrame, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A scenario's monthly grid and its inputs per draw (with those of its extensions)."""
    grid = time_grid(date_year(scenario.projection_start), float(scenario.horizon))
    inputs = scenario_inputs(scenario, posterior, stock_priors, seed)
    return grid, inputs | ext.extension_inputs(scenario, posterior, inputs["compute_level"].size, seed)


def project_scenario(
    scenario: Any,
    posterior: dict[str, np.ndarray],
    stock_priors: pd.DataFrame,
    seed: int,
    cache: ProjectionCache | None = None,
) -> ScenarioResult:
    """Exhaustion draws and bands of one resolved scenario (with its extensions and their baseline).

    Parts shared with other scenarios come from `cache` (default `PROJECTION_CACHE`).
    """
    grid, inputs = _grid_and_inputs(scenario, posterior, stock_priors, seed)
    return project_inputs(scenario, inputs, grid, seed, cache)


def project_inputs(
    scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int, cache: ProjectionCache | None = None
) -> ScenarioResult:
    """`project_scenario` from given inputs per draw (`scenario_inputs` and `extension_inputs`) on `grid`."""
    n = inputs["compute_level"].size
    proj = projection(scenario, inputs, grid, seed, cache)
    crossing = proj.main_crossing()
    values = proj.values_at_main()
    result = ScenarioResult(
        name=scenario.name,
        horizon=float(scenario.horizon),
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
        baseline = proj.baseline_crossing()
        result.baseline_year = baseline.year
        extra_names = [s.name for s in scenario.extra_stocks.stocks] if scenario.extra_stocks.enabled else []
        without = baseline if not scenario.human_share.enabled else None  # the same stock, no extra stocks
        result.extra_stock_years = {
            name: proj.with_extra_crossing(ext.extra_total(inputs, [name], n), crossing, without).year
            for name in extra_names
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
