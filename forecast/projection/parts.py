"""One scenario's projection in parts: its demand, its stocks and the crossings between them, on its grid.

Why the paths are not built on the whole grid: 433 monthly points × 4,000 draws × several paths per scenario cost
far more than the answer needs. The paths are evaluated at whole years (which the bands need anyway) and at the
grid's ends, and `crossing.bracketed_crossing` / `scan_crossings` evaluate the monthly points only where a
crossing can be; the dates are those of the dense monthly computation (tests/projection/test_project.py compares them).
The stock depends on the stock inputs only, which most scenarios share, so it is built once per distinct stock
(`ProjectionCache.part`, keyed by the settings and inputs its build read), and so are other parts that
scenarios share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from forecast.projection import demand
from forecast.projection.crossing import (
    Crossing,
    bracket_indices,
    bracketed_crossing,
    scan_crossings,
    steadily_rising,
    value_at_bracket,
    window_indices,
)
from forecast.projection.memo import (
    PROJECTION_CACHE,
    ClosedFormOnGrid,
    GridPoints,
    PartBuild,
    ProjectionCache,
    Rows,
    Supply,
    content_digest,
    read_only,
)
from forecast.projection.scenario_model import demand_model, frontier_model, stock_model
from forecast.projection.stock import with_extra
from forecast.projection.switches import StockReplacement, added_stock, replaced_stock, settings_of, synthetic

# Each build below is a `ProjectionCache.part`: it reads the scenario and the inputs only through its first two
# arguments (so the cache records what it read) and takes everything else as further arguments.


def _public_stock(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray) -> Supply:
    """The public stock on `grid`, in closed form, with its coarse values and bands."""
    points, paths = GridPoints.of(grid), stock_model(scenario, inputs)
    return Supply.build(ClosedFormOnGrid(paths, points), points, paths.most_growth(grid[0]) * points.steps[1])


def _replacing_stock(switch_name: str, replace: StockReplacement) -> PartBuild:
    """The build of the stock a switch puts in place of the public one (`switches.replaced_stock`)."""

    def build(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray) -> Supply:
        """The switch's stock on the whole grid, from the scenario's public stock paths."""
        replaced = replace(settings_of(scenario, switch_name), inputs, stock_model(scenario, inputs), grid)
        return Supply.build(replaced, GridPoints.of(grid), replaced.most_step_growth())

    return build


def _tokens_at_coarse(scenario: Any, inputs: dict[str, np.ndarray], seed: int, grid: np.ndarray) -> np.ndarray:
    """log10 tokens of the frontier dataset at the coarse points of `grid`."""
    points = GridPoints.of(grid)
    return read_only(demand_model(scenario, inputs, seed).tokens(points.times(points.coarse)))


def _compute_band(scenario: Any, inputs: dict[str, np.ndarray], seed: int, grid: np.ndarray) -> np.ndarray:
    """Yearly quantiles of the frontier compute, which overtraining leaves as it is (so scenarios that differ only
    in overtraining share it)."""
    points = GridPoints.of(grid)
    return points.bands(frontier_model(scenario, inputs, seed).compute(points.times(points.coarse)))


def _take(values: np.ndarray, rows: Rows) -> np.ndarray:
    return values if rows is None else values[rows]


@dataclass(frozen=True)
class Keys:
    """What a projection's parts depend on, as `ProjectionCache` keys."""

    demand: str
    supply: str
    public: str
    extra: str | None


@dataclass
class Projection:
    """Demand and supply of one scenario, and the crossings between them, evaluated only where needed.

    Every crossing here is `crossing.first_crossing` on the monthly grid, computed from the coarse points and a
    few refining evaluations: `bracketed_crossing` for gaps between demand and a stock (exact for every draw; it
    falls back to the whole grid for a draw whose gap is not shown to rise at every step), `scan_crossings` for
    the synthetic-data gaps, which need not rise, from a grid point before which they are shown to be negative.
    Parts shared with other scenarios come from `cache`.
    """

    points: GridPoints
    demand: demand.DemandPaths
    tokens_coarse: np.ndarray  # log10 tokens at the coarse points
    supply: Supply  # the stock the scenario's date uses: a switch's (`switches.replaced_stock`), else the public one
    public: Supply
    keys: Keys
    cache: ProjectionCache
    compute_band: np.ndarray  # yearly quantiles of the frontier compute (year, quantile)
    extra: np.ndarray | None = None  # per draw, tokens the switches add to the stock (None: none)

    def __post_init__(self) -> None:
        low, _ = self.points.steps
        self._demand_step = self.demand.least_growth() * low
        start, end, growth = self.demand.rising_window()
        self._window_step = growth * low
        self._window = window_indices(self.points.grid, start, end)

    def tokens(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.demand.tokens(self.points.times(index), rows)

    def total(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        """log10 effective stock plus the extra stocks (the stock the scenario's date uses)."""
        effective = self.supply.effective(index, rows)
        return effective if self.extra is None else with_extra(effective, _take(self.extra, rows))

    @cached_property
    def total_coarse(self) -> np.ndarray:
        effective = self.supply.at_coarse["effective"]
        if self.extra is None:
            return effective
        key = ("total at coarse", self.keys.supply, self.keys.extra)
        return self.cache.get(key, lambda: read_only(with_extra(effective, self.extra)))

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
        proven = steadily_rising(self._window_step, step_growth)
        window = (np.where(proven, self._window[0], grid.size), self._window[1])
        if stock_coarse is None:
            return bracketed_crossing(grid, gap_at, rising, hint=hint, window=window)
        coarse_gap = self.tokens_coarse - stock_coarse
        return bracketed_crossing(grid, gap_at, rising, self.points.coarse, coarse_gap, hint, window=window)

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
            return with_extra(supply.effective(index, rows), _take(extra, rows))

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
        self, settings: synthetic.SyntheticSettings, inputs: dict[str, np.ndarray], main: Crossing
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
            total, tokens = self.total(index, rows), self.tokens(index, rows)
            return synthetic.synthetic_supply(settings, inputs, t, total, tokens, rows)

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
            "compute_flop": self.compute_band,
            **{f"stock_{k}": v for k, v in self.supply.bands.items()},
            "stock_total": total,
        }


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
    public, public_key = cache.part("public stock", scenario, inputs, _public_stock, grid)
    supply, supply_key = public, public_key
    replacing = replaced_stock(scenario)
    if replacing is not None:
        switch_name, kind, replace = replacing
        supply, supply_key = cache.part(kind, scenario, inputs, _replacing_stock(switch_name, replace), grid)
    extra = added_stock(scenario, inputs, inputs["compute_level"].size)
    tokens_coarse, demand_key = cache.part("demand at coarse", scenario, inputs, _tokens_at_coarse, seed, grid)
    compute_band, _ = cache.part("compute band", scenario, inputs, _compute_band, seed, grid)
    keys = Keys(demand_key, supply_key, public_key, None if extra is None else content_digest(extra))
    model = demand_model(scenario, inputs, seed)
    return Projection(GridPoints.of(grid), model, tokens_coarse, supply, public, keys, cache, compute_band, extra)
