"""First crossing, censoring and summaries on hand-computed cases."""

import numpy as np
import pytest

from forecast.projection.crossing import (
    bracketed_crossing,
    censored_quantiles,
    column_quantiles,
    first_crossing,
    probability_by_year,
    scan_crossing,
    scan_crossings,
    share_censored,
    sorted_quantiles,
    steadily_rising,
    value_at_crossing,
    window_indices,
)

GRID = np.arange(2024.0, 2031.0)


def test_crossing_interpolates_between_grid_points() -> None:
    gap = np.array([[-2.0, -1.0, 0.5, 1.0, 2.0, 3.0, 4.0]])
    c = first_crossing(GRID, gap)
    # Between 2025 (gap -1) and 2026 (gap 0.5): 2025 + 1/1.5.
    assert c.year[0] == pytest.approx(2025 + 2 / 3)
    assert not c.censored[0] and not c.at_start[0]
    path = np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]])
    assert value_at_crossing(path, c)[0] == pytest.approx(11 + 2 / 3)


def test_first_of_several_crossings_and_exact_zero() -> None:
    gap = np.array([[-1.0, 0.0, -1.0, 1.0, 1.0, 1.0, 1.0]])
    assert first_crossing(GRID, gap).year[0] == pytest.approx(2025.0)


def test_censored_and_at_start() -> None:
    gap = np.array([[-5.0] * 7, [1.0] * 7])
    c = first_crossing(GRID, gap)
    assert np.isnan(c.year[0]) and c.censored[0]
    assert c.year[1] == 2024.0 and c.at_start[1]
    assert np.isnan(value_at_crossing(np.ones((2, 7)), c)[0])


def test_censored_quantiles_put_censored_after_horizon() -> None:
    years = np.array([2025.0, 2026.0, np.nan, 2027.0, np.nan])
    q = censored_quantiles(years, {"median": 0.5, "q10": 0.1, "q90": 0.9})
    assert q["median"] == 2027.0  # sorted: 2025, 2026, 2027, inf, inf
    assert q["q10"] == pytest.approx(2025.4)
    assert q["q90"] == np.inf
    assert share_censored(years) == pytest.approx(0.4)


def test_quantiles_agree_with_numpy_without_censoring() -> None:
    x = np.random.default_rng(0).normal(2030, 2, 1001)
    q = censored_quantiles(x)
    np.testing.assert_allclose(list(q.values()), np.quantile(x, [0.05, 0.1, 0.5, 0.9, 0.95]))


def test_probability_by_year() -> None:
    years = np.array([2025.5, 2026.0, np.nan, 2030.0])
    np.testing.assert_allclose(probability_by_year(years, np.array([2025.0, 2026.0, 2031.0])), [0, 0.5, 0.75])


# ---------------------------------------------------------------------------------------------------------------
# Bracketed and scanned crossings: the same result as `first_crossing` on the whole grid, evaluating less of it
# ---------------------------------------------------------------------------------------------------------------

FINE = np.arange(433) / 12.0 + 2024.0


def _gap_at(gap: np.ndarray, calls: list[int] | None = None):
    """gap_at over a dense gap array, counting the evaluated points."""

    def gap_at(rows, index):
        values = gap[np.arange(gap.shape[0])[:, None] if rows is None else rows[:, None], index]
        if calls is not None:
            calls.append(values.size)
        return values

    return gap_at


def _assert_same(fast, exact) -> None:
    np.testing.assert_array_equal(fast.year, exact.year)  # NaN == NaN here
    np.testing.assert_array_equal(fast.censored, exact.censored)
    np.testing.assert_array_equal(fast.at_start, exact.at_start)
    np.testing.assert_array_equal(fast.index, exact.index)
    np.testing.assert_array_equal(fast.fraction, exact.fraction)


def _rising_gaps(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaps that rise at every step, crossing anywhere (also at the start or never)."""
    steps = rng.uniform(0.001, 0.05, (n, FINE.size))
    return rng.uniform(-12.0, 1.0, n)[:, None] + np.cumsum(steps, axis=1)


def test_bracketed_crossing_equals_first_crossing_for_rising_gaps() -> None:
    rng = np.random.default_rng(0)
    gap = _rising_gaps(3_000, rng)
    exact = first_crossing(FINE, gap)
    assert exact.censored.any() and exact.at_start.any() and (~exact.censored & ~exact.at_start).any()
    rising = np.ones(gap.shape[0], dtype=bool)
    calls: list[int] = []
    _assert_same(bracketed_crossing(FINE, _gap_at(gap, calls), rising), exact)  # from the grid's two ends
    assert sum(calls) < 12 * gap.shape[0]  # ~log2(433) + 2 points per path, not 433
    coarse = np.r_[np.arange(0, FINE.size, 12), FINE.size - 1]
    _assert_same(bracketed_crossing(FINE, _gap_at(gap), rising, coarse, gap[:, coarse]), exact)


def test_wrong_hints_cost_time_not_accuracy() -> None:
    rng = np.random.default_rng(1)
    gap = _rising_gaps(2_000, rng)
    exact = first_crossing(FINE, gap)
    rising = np.ones(gap.shape[0], dtype=bool)
    good = (np.maximum(exact.index - 3, 0), np.minimum(exact.index + 2, FINE.size - 1))
    bad = (rng.integers(0, FINE.size, gap.shape[0]), rng.integers(0, FINE.size, gap.shape[0]))
    for hint in (good, bad):
        _assert_same(bracketed_crossing(FINE, _gap_at(gap), rising, hint=hint), exact)


def test_gaps_not_known_to_rise_are_evaluated_on_the_whole_grid() -> None:
    """Gaps that go up and down (cross, fall back, cross again): exact only because they are not bracketed."""
    rng = np.random.default_rng(2)
    gap = np.sin(FINE[None, :] * rng.uniform(0.5, 3.0, (500, 1))) + rng.normal(0.0, 0.5, (500, 1))
    exact = first_crossing(FINE, gap)
    rising = rng.random(500) < 0.0  # none
    _assert_same(bracketed_crossing(FINE, _gap_at(gap), rising), exact)


def _windowed_gaps(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaps that do anything before grid index `first` and after `last` and rise at every step between them:
    a record flat while the stock grows, then rising (last at the end); compute that follows its trend, then is
    bent flat by a limit while the stock grows (first at 0); and windows anywhere, some empty."""
    first = rng.integers(0, FINE.size, n)
    last = rng.integers(0, FINE.size, n)
    kind = rng.integers(0, 3, n)
    first[kind == 1] = 0
    last[kind == 0] = FINE.size - 1
    index = np.arange(FINE.size)[None, :]
    inside = (index >= first[:, None]) & (index < last[:, None])  # the step from index to index + 1
    falling = -rng.uniform(0.0, 0.02, (n, FINE.size))
    wiggle = rng.random(n) < 0.3
    falling[wiggle] = rng.normal(0.0, 0.05, (int(wiggle.sum()), FINE.size))  # not monotone at all
    steps = np.where(inside, rng.uniform(0.001, 0.05, (n, FINE.size)), falling)
    steps = np.concatenate([np.zeros((n, 1)), steps[:, :-1]], axis=1)  # steps[i] is the step into point i
    gap = rng.uniform(-6.0, 0.3, n)[:, None] + np.cumsum(steps, axis=1)
    return gap, first, last


def test_gaps_rising_inside_a_window_are_scanned_outside_it_and_bisected_in_it() -> None:
    """Scanning up to the window, bisecting in it when the gap has reached 0 by its end, else scanning on from
    there, gives `first_crossing` exactly, with fewer evaluations than scanning everything."""
    rng = np.random.default_rng(3)
    gap, first, last = _windowed_gaps(4_000, rng)
    exact = first_crossing(FINE, gap)
    assert exact.censored.any() and (~exact.censored & ~exact.at_start).any()
    rising = np.zeros(gap.shape[0], dtype=bool)
    calls: list[int] = []
    _assert_same(bracketed_crossing(FINE, _gap_at(gap, calls), rising, window=(first, last)), exact)
    scanned: list[int] = []
    _assert_same(bracketed_crossing(FINE, _gap_at(gap, scanned), rising), exact)
    assert sum(calls) < 0.8 * sum(scanned)
    # Nothing proven (first at the grid's size) is the plain scan.
    never = np.full(gap.shape[0], FINE.size)
    _assert_same(bracketed_crossing(FINE, _gap_at(gap), rising, window=(never, last)), exact)


def test_window_indices_keep_every_step_inside_the_years() -> None:
    grid = FINE
    start = np.array([-np.inf, 2030.04, 2030.0, np.nan, 2070.0, 2024.0])
    end = np.array([np.inf, 2040.0, 2030.05, 2050.0, np.inf, -np.inf])
    first, last = window_indices(grid, start, end)
    assert (first[0], last[0]) == (0, grid.size - 1)  # open ends: the whole grid
    assert grid[first[1]] > 2030.04 and grid[last[1]] < 2040.0
    assert first[2] == grid.size  # shorter than a step: nothing proven
    assert first[3] == grid.size and first[4] == grid.size and first[5] == grid.size


def test_steadily_rising_needs_a_margin_and_ignores_a_falling_stock() -> None:
    demand = np.array([0.02, 0.02, 0.02, 1e-12, 0.01])
    stock = np.array([0.01, 0.02, -0.5, 0.0, 0.01])
    np.testing.assert_array_equal(steadily_rising(demand, stock), [True, False, True, False, False])


def test_scan_crossings_from_lower_bounds() -> None:
    """Two non-monotone gaps, each scanned from a point before which it is negative."""
    rng = np.random.default_rng(3)
    n = 800
    first = np.sin(FINE[None, :] * rng.uniform(0.2, 2.0, (n, 1))) + rng.normal(-0.5, 0.6, (n, 1))
    second = first - rng.uniform(0.0, 0.3, (n, 1))
    exact = [first_crossing(FINE, g) for g in (first, second)]
    # Each start: the last point at or before the crossing (index 0, or the grid's end when censored).
    starts = [
        np.where(e.censored, rng.integers(0, FINE.size, n), np.maximum(e.index - rng.integers(0, 30, n), 0))
        for e in exact
    ]
    for e, s in zip(exact, starts, strict=True):
        s[e.censored] = np.minimum(s[e.censored], FINE.size)  # censored: any start, the gap never reaches 0
    both = scan_crossings(
        FINE, lambda rows, index: (_gap_at(first)(rows, index), _gap_at(second)(rows, index)), starts, chunk=7
    )
    for fast, e in zip(both, exact, strict=True):
        _assert_same(fast, e)
    _assert_same(scan_crossing(FINE, _gap_at(first), starts[0]), exact[0])


def test_sorted_quantiles_are_numpys() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 4000, 4001):
        paths = rng.normal(size=(n, 7))
        paths[:, 2] = 1.5  # ties
        if n > 2:
            paths[1, 3] = np.nan
        q = (0.0, 0.05, 0.1, 1 / 3, 0.5, 0.9, 0.95, 1.0)
        np.testing.assert_array_equal(column_quantiles(paths, q), np.quantile(paths, q, axis=0))
        x = rng.normal(size=n)
        for p in (0.5, 0.25, np.linspace(0, 1, 9)[1:-1]):
            np.testing.assert_array_equal(sorted_quantiles(np.sort(x), 0, n, p), np.quantile(x, p))
