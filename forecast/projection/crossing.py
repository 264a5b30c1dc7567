"""Exhaustion date per path: the first time the frontier dataset reaches the effective stock.

Villalobos et al. 2024 read dates off the marginal P(D(t) ≥ S(t)) year by year ([C2] `projections.py`,
METHOD_NOTES A.11). Here each posterior draw is one coherent path (one demand path, one stock path) and its
exhaustion date is a first-passage time, found on the time grid and refined by linear interpolation of the gap
log10 D − log10 S between the two grid points around the crossing. Paths that never cross before the horizon
are *censored*: kept, with date NaN and `censored = True`, and counted as "not exhausted by the horizon".

Two ways to the same dates:

- `first_crossing` takes the gap on the whole (monthly) grid: simple, but building 433 points per path costs far
  more than finding the crossing.
- `bracketed_crossing` takes the gap at a few coarse grid points (or only the grid's ends) and a function that
  evaluates the gap at any grid points; it evaluates the fine grid only where the crossing can be.
  `scan_crossings` walks forward from a known lower bound. Both return exactly what `first_crossing` returns on
  the dense grid (same grid points, same interpolation), which tests/projection/test_project.py checks on the real
  inputs and on randomised ones.

The assumption that makes bracketing exact, and how it is checked rather than assumed: a bracket [lo, hi] with
gap(lo) < 0 <= gap(hi) contains the *first* crossing only if the gap cannot reach 0 and fall back below it
earlier. That holds when the gap rises at every grid step, which `steadily_rising` establishes per draw from
bounds on the paths' growth rates (demand: its slowest piece, e.g. 0.09 OOM/yr after a compute slowdown at
0.18; stock: its fastest growth, a few %/yr, at the grid's start), with a margin far above rounding. Draws
without that proof (e.g. per-user production growing faster than demand) are computed on the whole grid. Gaps
that need not rise at all (the synthetic-data supply and the collapse guard) are scanned point by point from a
point before which they are provably negative (`parts.Projection.synthetic_crossings`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Interval levels reported everywhere: the paper's 80% (comparability, [P2] A.11) and a 90% interval.
INTERVAL_QUANTILES = {"q05": 0.05, "q10": 0.10, "median": 0.50, "q90": 0.90, "q95": 0.95}

#: gap_at(rows, index): the gap at fine-grid indices. `rows` indexes the draws (None: all of them); `index` has
#: shape (k,) (the same points for every row) or (len(rows), k) (points per row). Returns (len(rows), k).
GapAt = Callable[[np.ndarray | None, np.ndarray], np.ndarray]

# Least rise of a gap per grid step (OOM) that `bracketed_crossing` trusts as "rising". Far above the rounding
# error of a gap (~1e-14 OOM for values ~10–30) and far below any real rise (~1e-2 OOM per month).
MONOTONE_MARGIN = 1e-9


@dataclass(frozen=True)
class Crossing:
    """First-crossing result for n paths; arrays of shape (n,)."""

    year: np.ndarray  # decimal year, NaN when censored
    censored: np.ndarray  # bool: no crossing up to the horizon
    at_start: np.ndarray  # bool: demand already above stock at the grid's first point
    index: np.ndarray  # grid index of the first point with gap >= 0 (0 when censored)
    fraction: np.ndarray  # interpolation weight between index − 1 and index


def _interpolate(
    grid: np.ndarray, index: np.ndarray, before: np.ndarray, after: np.ndarray, at_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(fraction, year) of the zero of the gap between grid points index − 1 (gap `before`) and index (`after`).

    The one interpolation every crossing function here uses, so that they agree to the last bit.
    """
    previous = np.maximum(index - 1, 0)
    span = after - before
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(at_start | (span <= 0), 1.0, -before / span)
    fraction = np.clip(fraction, 0.0, 1.0)
    return fraction, grid[previous] + fraction * (grid[index] - grid[previous])


def first_crossing(grid: np.ndarray, gap: np.ndarray) -> Crossing:
    """First t with gap(t) >= 0 per row of `gap` (shape (n, T)), interpolated linearly between grid points."""
    crossed = gap >= 0.0
    index = np.argmax(crossed, axis=1)  # first True (argmax stops there); 0 when there is none
    rows = np.arange(gap.shape[0])
    ever = crossed[rows, index]
    at_start = ever & (index == 0)
    previous = np.maximum(index - 1, 0)
    fraction, year = _interpolate(grid, index, gap[rows, previous], gap[rows, index], at_start)
    year = np.where(ever, year, np.nan)
    return Crossing(year=year, censored=~ever, at_start=at_start, index=index, fraction=fraction)


class _CrossingBuilder:
    """Collects per-row crossings found by different routes into one `Crossing` (censored until set)."""

    def __init__(self, grid: np.ndarray, n: int) -> None:
        self.grid = grid
        self.year = np.full(n, np.nan)
        self.censored = np.ones(n, dtype=bool)
        self.at_start = np.zeros(n, dtype=bool)
        self.index = np.zeros(n, dtype=np.intp)
        self.fraction = np.ones(n)  # what `first_crossing` reports for censored rows

    def set(self, rows: np.ndarray, index: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
        """Rows whose first point with gap >= 0 is `index`, with the gap `before` it and `after` (at it)."""
        at_start = index == 0
        fraction, year = _interpolate(self.grid, index, before, after, at_start)
        self.year[rows], self.censored[rows], self.at_start[rows] = year, False, at_start
        self.index[rows], self.fraction[rows] = index, fraction

    def set_crossing(self, rows: np.ndarray, crossing: Crossing) -> None:
        """Copy a `first_crossing` result computed for `rows` only."""
        self.year[rows], self.censored[rows], self.at_start[rows] = crossing.year, crossing.censored, crossing.at_start
        self.index[rows], self.fraction[rows] = crossing.index, crossing.fraction

    def build(self) -> Crossing:
        """The result, read-only: crossings may be shared between scenarios (`memo.ProjectionCache`)."""
        arrays = (self.year, self.censored, self.at_start, self.index, self.fraction)
        for array in arrays:
            array.flags.writeable = False
        return Crossing(*arrays)


def steadily_rising(demand_rise: np.ndarray, stock_rise: np.ndarray) -> np.ndarray:
    """Rows whose gap log10 D − log10 S rises by at least MONOTONE_MARGIN at every grid step.

    `demand_rise` is a lower bound on the rise of log10 D per grid step, `stock_rise` an upper bound on that of
    log10 S (per row). The stock's bound counts as at least 0, so the answer also holds for the stock plus any
    constant extra stock (adding a constant never speeds up the relative growth of a stock, nor a decline).
    """
    return demand_rise - np.maximum(stock_rise, 0.0) >= MONOTONE_MARGIN


def window_indices(grid: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the grid indices (first, last) such that every step between them lies inside the years
    [`start`, `end`] (where a bound on the growth holds), one point inside at each end for rounding. An empty or
    unknown window (NaN, start after the grid) gives first = `grid.size`: nothing proven."""
    start = np.where(np.isnan(start), np.inf, start)
    end = np.where(np.isnan(end), -np.inf, end)
    # No rounding margin at an open end (−inf: from the grid's start; +inf: to its end).
    first = np.where(start == -np.inf, 0, np.searchsorted(grid, start, side="left") + 1)
    last = np.where(end == np.inf, grid.size - 1, np.searchsorted(grid, end, side="right") - 2)
    first = np.where(last > first, first, grid.size)
    return np.minimum(first, grid.size).astype(np.intp), np.clip(last, 0, grid.size - 1).astype(np.intp)


def _bisect(
    out: _CrossingBuilder,
    gap_at: GapAt,
    rows: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    gap_lo: np.ndarray,
    gap_hi: np.ndarray,
    n: int,
) -> None:
    """Bisection between grid indices lo < hi with gap(lo) < 0 <= gap(hi), for rows whose gap rises."""
    lo, hi, gap_lo, gap_hi = lo.copy(), hi.copy(), gap_lo.copy(), gap_hi.copy()
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            break
        if open_.all():  # every row still bisects: whole-array updates, no selection
            mid = (lo + hi) // 2
            value = gap_at(None if rows.size == n else rows, mid[:, None])[:, 0]
            up = value >= 0.0
            hi, gap_hi = np.where(up, mid, hi), np.where(up, value, gap_hi)
            lo, gap_lo = np.where(up, lo, mid), np.where(up, gap_lo, value)
            continue
        active = np.flatnonzero(open_)
        mid = (lo[active] + hi[active]) // 2
        value = gap_at(rows[active], mid[:, None])[:, 0]
        up = value >= 0.0
        hi[active[up]], gap_hi[active[up]] = mid[up], value[up]
        lo[active[~up]], gap_lo[active[~up]] = mid[~up], value[~up]
    out.set(rows, hi, gap_lo, gap_hi)


def _from_coarse(
    out: _CrossingBuilder, gap_at: GapAt, rows: np.ndarray, coarse: np.ndarray, coarse_gap: np.ndarray, n: int
) -> None:
    """Rising rows from their gap at the coarse points: at the start, bisected in the first coarse interval that
    ends with gap >= 0, or censored (left as is) when the last point is still below 0."""
    crossed = coarse_gap >= 0.0
    first = np.argmax(crossed, axis=1)
    hit = crossed[np.arange(rows.size), first]
    start = np.flatnonzero(hit & (first == 0))
    out.set(rows[start], np.zeros(start.size, dtype=np.intp), coarse_gap[start, 0], coarse_gap[start, 0])
    inside = np.flatnonzero(hit & (first > 0))
    j = first[inside]
    gaps = coarse_gap[inside, j - 1], coarse_gap[inside, j]
    _bisect(out, gap_at, rows[inside], coarse[j - 1], coarse[j], *gaps, n)


def bracketed_crossing(
    grid: np.ndarray,
    gap_at: GapAt,
    rising: np.ndarray,
    coarse: np.ndarray | None = None,
    coarse_gap: np.ndarray | None = None,
    hint: tuple[np.ndarray, np.ndarray] | None = None,
    window: tuple[np.ndarray, np.ndarray] | None = None,
) -> Crossing:
    """`first_crossing` on the full grid, from a few evaluations of `gap_at` instead of all grid points.

    For the rows where `rising` is True the gap must rise at every grid step (see `steadily_rising`): its first
    point with gap >= 0 is then the only sign change, and bisection finds it in any interval where the gap goes
    from < 0 to >= 0, with ~log2(interval length) evaluations. The interval comes from
    - `hint`: per row a likely bracket (lo, hi) of grid indices, e.g. from related crossings; the gap is evaluated
      at both ends and the hint used only where it brackets a sign change, so a wrong hint costs time, not
      accuracy;
    - else the gap at `coarse` grid indices (`coarse_gap`, shape (n, len(coarse))), which must be increasing and
      hold the first and the last index: the first coarse interval that ends with gap >= 0. Without them the
      coarse points are the grid's two ends. A rising gap below 0 at the last point is censored.
    Rows not known to rise are evaluated from the grid's start up to their first gap >= 0 (`scan_crossing`), so
    every row is exact. `window` (per row, grid indices (first, last)) says that a row not known to rise on the
    whole grid rises at every step between those two points (a record that stays flat, then grows; compute that
    follows its trend until a limit comes near): such a row is scanned up to `first`, bisected inside the window
    when the gap has reached 0 by `last`, else scanned on from `last` (`_windowed`).
    """
    n, size = rising.size, grid.size
    out = _CrossingBuilder(grid, n)
    rows = np.flatnonzero(rising)
    if hint is not None and rows.size:
        lo, hi = (np.clip(np.asarray(h)[rows], 0, size - 1) for h in hint)
        ends = gap_at(None if rows.size == n else rows, np.stack([lo, hi], axis=1))
        good = (lo < hi) & (ends[:, 0] < 0.0) & (ends[:, 1] >= 0.0)
        _bisect(out, gap_at, rows[good], lo[good], hi[good], ends[good, 0], ends[good, 1], n)
        rows = rows[~good]
    if rows.size:
        if coarse is None:
            coarse = np.array([0, size - 1])
            coarse_gap = gap_at(rows, coarse)
        elif coarse[0] != 0 or coarse[-1] != size - 1:
            raise ValueError("the coarse points must include the first and the last grid point")
        else:
            coarse_gap = np.asarray(coarse_gap)[rows]
        _from_coarse(out, gap_at, rows, coarse, coarse_gap, n)
    dense = np.flatnonzero(~rising)
    if dense.size:
        # Walked from the grid's start a chunk at a time up to each row's first gap >= 0 (`scan_crossing`, the same
        # crossing as `first_crossing` on the whole grid): most rows cross long before the horizon.
        if window is None:
            scanned = scan_crossing(grid, lambda r, index: gap_at(dense[r], index), np.zeros(dense.size, np.intp))
            out.set_crossing(dense, scanned)
        else:
            first, last = (np.asarray(w, dtype=np.intp)[dense] for w in window)
            _windowed(out, grid, gap_at, dense, first, last, n)
    return out.build()


def _windowed(
    out: _CrossingBuilder,
    grid: np.ndarray,
    gap_at: GapAt,
    rows: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    n: int,
) -> None:
    """Rows whose gap rises at every step from grid index `first` to `last` (nothing known elsewhere): scanned up
    to `first` (every point evaluated); if not crossed by then, the gap at `last` decides — >= 0: the first
    crossing is in (first, last], bisected; < 0: none up to `last` (it rose to a value below 0), scanned on from
    there. An empty window (last <= first, or first at the grid's end) is a scan of the whole grid."""
    size = grid.size
    scanned = scan_crossing(grid, lambda r, index: gap_at(rows[r], index), np.zeros(rows.size, np.intp), until=first)
    out.set_crossing(rows, scanned)
    pending = np.flatnonzero(scanned.censored & (first < size - 1))
    if not pending.size:
        return
    lo = first[pending]
    hi = np.clip(last[pending], lo, size - 1)
    ends = gap_at(rows[pending], np.stack([lo, hi], axis=1))
    hit = (hi > lo) & (ends[:, 1] >= 0.0)
    _bisect(out, gap_at, rows[pending[hit]], lo[hit], hi[hit], ends[hit, 0], ends[hit, 1], n)
    on = ~hit & (hi < size - 1)
    if on.any():
        later = pending[on]
        resumed = scan_crossing(grid, lambda r, index: gap_at(rows[later[r]], index), hi[on])
        out.set_crossing(rows[later], resumed)


def scan_crossings(
    grid: np.ndarray,
    gaps_at: Callable[[np.ndarray | None, np.ndarray], tuple[np.ndarray, ...]],
    starts: list[np.ndarray],
    chunk: int = 12,
    until: np.ndarray | None = None,
) -> list[Crossing]:
    """`first_crossing` on the full grid of several gaps, each known to be < 0 at every index below its start.

    gaps_at(rows, index) returns every gap at once (one evaluation serves all). Each row's window walks forward
    from its earliest unresolved start in steps of `chunk` grid points (plus the point before, for the
    interpolation), until each of its gaps has reached 0 at or after its own start, or the grid ends (censored).
    No monotonicity is needed: every grid point from the start to the crossing is evaluated. With `until` (per row,
    a grid index), a row stops once its windows have covered that index: a row not crossed by then is left censored
    for the caller to continue (every point up to `until` was evaluated and found < 0).
    """
    size = grid.size
    start = np.stack([np.asarray(s, dtype=np.intp) for s in starts])  # (gaps, n)
    outs = [_CrossingBuilder(grid, start.shape[1]) for _ in starts]
    pending = start < size
    rows = np.flatnonzero(pending.any(axis=0))
    position = np.where(pending[:, rows], start[:, rows], size).min(axis=0)
    offsets = np.arange(-1, chunk)
    while rows.size:
        index = np.clip(position[:, None] + offsets, 0, size - 1)
        values = gaps_at(rows, index)
        for j, gap in enumerate(values):
            allowed = pending[j, rows][:, None] & (index[:, 1:] >= start[j, rows][:, None])
            crossed = (gap[:, 1:] >= 0.0) & allowed  # column 0 is the point before the window
            k = np.argmax(crossed, axis=1) + 1
            found = np.flatnonzero(crossed[np.arange(rows.size), k - 1])
            k = k[found]
            outs[j].set(rows[found], index[found, k], gap[found, k - 1], gap[found, k])
            pending[j, rows[found]] = False
        more = pending[:, rows].any(axis=0) & (position + chunk < size)
        if until is not None:
            more &= position + chunk <= until[rows]
        rows, position = rows[more], position[more] + chunk
    return [out.build() for out in outs]


def scan_crossing(
    grid: np.ndarray, gap_at: GapAt, start: np.ndarray, chunk: int = 12, until: np.ndarray | None = None
) -> Crossing:
    """`scan_crossings` of one gap: `first_crossing` for a gap known to be < 0 at every index below `start`."""
    return scan_crossings(grid, lambda rows, index: (gap_at(rows, index),), [start], chunk, until)[0]


def bracket_indices(crossing: Crossing) -> np.ndarray:
    """(n, 2) grid indices of the points around each crossing: (index − 1, index), clipped at 0."""
    return np.stack([np.maximum(crossing.index - 1, 0), crossing.index], axis=1)


def value_at_bracket(values: np.ndarray, crossing: Crossing) -> np.ndarray:
    """Interpolate a path given at `bracket_indices(crossing)` (shape (n, 2)) at the crossing; NaN if censored."""
    value = values[:, 0] + crossing.fraction * (values[:, 1] - values[:, 0])
    return np.where(crossing.censored, np.nan, value)


def value_at_crossing(paths: np.ndarray, crossing: Crossing) -> np.ndarray:
    """Interpolate a (n, T) path (e.g. log10 tokens) at each path's crossing; NaN when censored."""
    rows = np.arange(paths.shape[0])
    return value_at_bracket(paths[rows[:, None], bracket_indices(crossing)], crossing)


def sorted_quantiles(
    values: np.ndarray, starts: np.ndarray | int, counts: np.ndarray | int, q: np.ndarray | float
) -> np.ndarray:
    """numpy's default ("linear") quantile `q` of the sorted groups values[start : start + count], vectorised.

    `values` is 1-D and sorted within each group; `starts`, `counts` and `q` broadcast together. The arithmetic is
    `np.quantile`'s own (virtual index (count − 1)·q, its two-sided linear interpolation, NaN for a group with a
    NaN), so the results are identical, without one partition per group: one sort serves many quantiles.
    """
    starts, counts = np.asarray(starts), np.asarray(counts)
    virtual = (counts - 1) * np.asarray(q, dtype=float)
    previous = np.floor(virtual)
    above = virtual >= counts - 1
    lower = np.where(above, counts - 1, previous).astype(np.intp)
    upper = np.where(above, counts - 1, previous + 1).astype(np.intp)
    gamma = virtual - np.where(above, -1.0, previous)  # as numpy; irrelevant above, where both ends are equal
    a, b = values[starts + lower], values[starts + upper]
    diff = b - a
    result = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return np.where(np.isnan(values[starts + counts - 1]), np.nan, result)


def column_quantiles(paths: np.ndarray, q: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """`np.quantile(paths, q, axis=0)` (shape (len(q), columns)) by one sort of each column."""
    n, columns = paths.shape
    ordered = np.sort(paths.T, axis=1).ravel()
    starts = (np.arange(columns) * n)[None, :]
    return sorted_quantiles(ordered, starts, n, np.asarray(q, dtype=float)[:, None])


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
