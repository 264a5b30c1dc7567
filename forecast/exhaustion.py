"""Exhaustion date per path: the first time the frontier dataset reaches the effective stock.

Villalobos et al. 2024 read dates off the marginal P(D(t) ≥ S(t)) year by year ([C2] `projections.py`,
METHOD_NOTES A.11). Here each posterior draw is one coherent path (one demand path, one stock path) and its
exhaustion date is a first-passage time, found on the time grid and refined by linear interpolation of the gap
log10 D − log10 S between the two grid points around the crossing. Paths that never cross before the horizon
are *censored*: kept, with date NaN and `censored = True`, and counted as "not exhausted by the horizon".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Interval levels reported everywhere: the paper's 80% (comparability, [P2] A.11) and a 90% interval.
INTERVAL_QUANTILES = {"q05": 0.05, "q10": 0.10, "median": 0.50, "q90": 0.90, "q95": 0.95}


@dataclass(frozen=True)
class Crossing:
    """First-crossing result for n paths; arrays of shape (n,)."""

    year: np.ndarray  # decimal year, NaN when censored
    censored: np.ndarray  # bool: no crossing up to the horizon
    at_start: np.ndarray  # bool: demand already above stock at the grid's first point
    index: np.ndarray  # grid index of the first point with gap >= 0 (0 when censored)
    fraction: np.ndarray  # interpolation weight between index − 1 and index


def first_crossing(grid: np.ndarray, gap: np.ndarray) -> Crossing:
    """First t with gap(t) >= 0 per row of `gap` (shape (n, T)), interpolated linearly between grid points."""
    crossed = gap >= 0.0
    index = np.argmax(crossed, axis=1)  # first True (argmax stops there); 0 when there is none
    rows = np.arange(gap.shape[0])
    ever = crossed[rows, index]
    at_start = ever & (index == 0)
    previous = np.maximum(index - 1, 0)
    before, after = gap[rows, previous], gap[rows, index]
    span = after - before
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(at_start | (span <= 0), 1.0, -before / span)
    fraction = np.clip(fraction, 0.0, 1.0)
    year = grid[previous] + fraction * (grid[index] - grid[previous])
    year = np.where(ever, year, np.nan)
    return Crossing(year=year, censored=~ever, at_start=at_start, index=index, fraction=fraction)


def value_at_crossing(paths: np.ndarray, crossing: Crossing) -> np.ndarray:
    """Interpolate a (n, T) path (e.g. log10 tokens) at each path's crossing; NaN when censored."""
    rows = np.arange(paths.shape[0])
    previous = np.maximum(crossing.index - 1, 0)
    value = paths[rows, previous] + crossing.fraction * (paths[rows, crossing.index] - paths[rows, previous])
    return np.where(crossing.censored, np.nan, value)


def censored_quantiles(years: np.ndarray, quantiles: dict[str, float] = INTERVAL_QUANTILES) -> dict[str, float]:
    """Quantiles of dates where NaN means "after the horizon"; a quantile reaching into that tail is +inf.

    Linear interpolation between order statistics (numpy's default), written out so that infinite order
    statistics give +inf instead of NaN.
    """
    values = np.sort(np.where(np.isnan(years), np.inf, years).ravel())
    result = {}
    for name, q in quantiles.items():
        position = (values.size - 1) * q
        low, high = int(np.floor(position)), int(np.ceil(position))
        weight = position - low
        if weight == 0.0 or values[low] == values[high]:
            result[name] = float(values[low])
        elif np.isinf(values[high]):
            result[name] = np.inf
        else:
            result[name] = float(values[low] + weight * (values[high] - values[low]))
    return result


def probability_by_year(years: np.ndarray, by_years: np.ndarray) -> np.ndarray:
    """P(exhausted on or before each year in `by_years`); censored paths count as not exhausted."""
    values = np.where(np.isnan(years), np.inf, years).ravel()
    return (values[None, :] <= np.asarray(by_years, dtype=float)[:, None]).mean(axis=1)


def share_censored(years: np.ndarray) -> float:
    """Share of paths not exhausted by the horizon."""
    return float(np.isnan(years).mean())
