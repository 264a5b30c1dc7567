"""Demand formulas: Chinchilla inversion, overtraining, profit policies, slowdown paths (exact)."""

from dataclasses import replace

import numpy as np
import pytest

from forecast.projection import demand


def test_chinchilla_tokens_hand_computed() -> None:
    # D = sqrt(20 C / 6): 5e28 FLOP -> 4.08e14 tokens (METHOD_NOTES A.8 check: "4.1e14").
    d = 10 ** demand.log10_chinchilla_tokens(np.log10(5e28))
    assert d == pytest.approx(np.sqrt(20 * 5e28 / 6), rel=1e-12)
    assert d == pytest.approx(4.08e14, rel=1e-3)


def test_overtraining_scales_data_by_sqrt_k() -> None:
    c = np.log10(1e26)
    d1 = demand.log10_chinchilla_tokens(c)
    d5 = demand.log10_chinchilla_tokens(c, overtraining=5)
    assert 10 ** (d5 - d1) == pytest.approx(np.sqrt(5))
    assert demand.overtrained_log10_tokens(d1, c, factor=100) == pytest.approx(d1 + 1.0)


def test_compute_for_tokens_inverts_chinchilla() -> None:
    c = np.array([22.0, 25.5, 29.0])
    for k in (1.0, 5.0, 100.0):
        back = demand.log10_compute_for_tokens(demand.log10_chinchilla_tokens(c, k), k)
        np.testing.assert_allclose(back, c, rtol=0, atol=1e-12)


def test_profit_policy_passes_through_tabulated_points() -> None:
    # METHOD_NOTES A.10 [R]: "5x" data multiple 2.26 at 1e24 and 2.06 at 1e28; "100x" 9.8 and 15.3.
    assert 10 ** demand.log10_profit_multiple(np.array(24.0), "5x") == pytest.approx(2.26)
    assert 10 ** demand.log10_profit_multiple(np.array(28.0), "100x") == pytest.approx(15.3)
    # Log-log straight line: at 1e26 the multiple is the geometric mean of the two ends.
    assert 10 ** demand.log10_profit_multiple(np.array(26.0), "100x") == pytest.approx(np.sqrt(9.8 * 15.3))


def _compute_arm(level: float, growth: float, **slowdown) -> demand.DemandPaths:
    """One draw on the compute arm (the historical arm's parameters are unused)."""
    one = np.array([0.0])
    return demand.DemandPaths(
        historical=np.array([False]),
        hist_level=one,
        hist_growth=one,
        hist_anchor=2024.0,
        compute_level=np.array([level]),
        compute_growth=np.array([growth]),
        compute_anchor=2024.0,
        **slowdown,
    )


def test_log_linear_and_slowdown_paths() -> None:
    grid = np.array([2024.0, 2026.0, 2030.0, 2034.0])
    straight = _compute_arm(25.0, 0.5).compute(grid)
    np.testing.assert_allclose(straight[0], [25.0, 26.0, 28.0, 30.0])
    slowed = _compute_arm(25.0, 0.5, slowdown_year=np.array([2030.0]), growth_after=0.1).compute(grid)
    np.testing.assert_allclose(slowed[0], [25.0, 26.0, 28.0, 28.4])
    # The historical arm is the frontier line; its compute is the Chinchilla compute of its tokens.
    historical = demand.DemandPaths(
        historical=np.array([True]),
        hist_level=np.array([12.0]),
        hist_growth=np.array([0.4]),
        hist_anchor=2024.0,
        compute_level=np.array([0.0]),
        compute_growth=np.array([0.0]),
        compute_anchor=2024.0,
    )
    tokens, compute = historical.paths(grid)
    np.testing.assert_allclose(tokens[0], [12.0, 12.8, 14.4, 16.0])
    np.testing.assert_allclose(compute[0], demand.log10_compute_for_tokens(tokens[0]))


# DemandPaths, the one evaluator: its values anywhere equal those on the whole grid, each draw on its own arm.

GRID = 2024.0 + np.arange(433) / 12.0


# A record-process fit's historical arm: the record from 3e12 tokens at 2024.5, per draw at its own quantile.
RECORD = demand.RecordStart(
    2024.5, 12.5, np.random.default_rng(7).uniform(0.15, 0.4, 300), np.random.default_rng(8).random(300)
)


def _model(rng: np.random.Generator, n: int = 300, **settings) -> demand.DemandPaths:
    return demand.DemandPaths(
        historical=rng.random(n) < 0.5,
        hist_level=rng.normal(12.8, 0.3, n),
        hist_growth=rng.normal(0.4, 0.1, n),
        hist_anchor=2024.0,
        compute_level=rng.normal(25.2, 0.3, n),
        compute_growth=rng.normal(0.55, 0.1, n),
        compute_anchor=2024.0,
        **({"slowdown_year": rng.uniform(2026.0, 2045.0, n), "growth_after": 0.18} | settings),
    )


def _per_arm(model: demand.DemandPaths, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mixture from each arm alone on the whole grid, picked per draw."""
    arm = model.historical[:, None]
    historical = replace(model, historical=np.ones_like(model.historical)).paths(grid)
    compute = replace(model, historical=np.zeros_like(model.historical)).paths(grid)
    return np.where(arm, historical[0], compute[0]), np.where(arm, historical[1], compute[1])


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"factor": 10.0},
        {"profit_policy": "near_optimal", "overtrain_historical": True},
        {"profit_policy": "100x"},
        {"record": RECORD},
    ],
)
def test_demand_paths_equal_the_full_grid_anywhere(settings: dict) -> None:
    rng = np.random.default_rng(0)
    model = _model(rng, **settings)
    tokens, compute = _per_arm(model, GRID)
    for got, want in zip(model.paths(GRID), (tokens, compute), strict=True):
        np.testing.assert_array_equal(got, want)
    index = rng.integers(0, GRID.size, (300, 3))  # a few points per draw
    rows = np.arange(300)[:, None]
    np.testing.assert_array_equal(model.tokens(GRID[index]), tokens[rows, index])
    np.testing.assert_array_equal(model.compute(GRID[index]), compute[rows, index])
    some = np.array([3, 7, 250])
    np.testing.assert_array_equal(model.tokens(GRID[index[some]], some), tokens[some[:, None], index[some]])
    np.testing.assert_array_equal(model.tokens(GRID[:40], some), tokens[some, :40])


@pytest.mark.parametrize(
    "settings", [{}, {"profit_policy": "near_optimal", "overtrain_historical": True}, {"record": RECORD}]
)
def test_least_growth_bounds_every_step(settings: dict) -> None:
    model = _model(np.random.default_rng(1), **settings)
    steps = np.diff(model.tokens(GRID), axis=1) / np.diff(GRID)
    assert np.all(steps >= model.least_growth()[:, None] - 1e-9)


CAPS = demand.ComputeCaps(
    names=("spending", "power", "chips"),
    level=np.stack([np.full(300, 27.0), np.full(300, 26.5), np.random.default_rng(9).uniform(25.5, 27.5, 300)]),
    slope=np.stack([np.full(300, 0.16), np.full(300, 0.1), np.random.default_rng(10).uniform(0.0, 0.2, 300)]),
    anchor=2024.0,
    width_oom=0.3,
)


@pytest.mark.parametrize(
    "settings",
    [
        {"record": RECORD},
        {"record": RECORD, "profit_policy": "near_optimal", "overtrain_historical": True},
        {"caps": CAPS, "slowdown_year": None},
        {"caps": CAPS, "slowdown_year": None, "record": RECORD, "profit_policy": "100x"},
        {},
    ],
)
def test_rising_window_bounds_every_step_inside_it(settings: dict) -> None:
    """Inside its window every draw's tokens grow at least at the stated rate; a record draw stays at the
    record until its window opens; compute bent by limits is proven to rise until a limit comes near."""
    model = _model(np.random.default_rng(4), **settings)
    fine = np.linspace(2024.5, 2060.0, 2_000)
    tokens = model.tokens(fine)
    start, end, growth = model.rising_window()
    steps = np.diff(tokens, axis=1) / np.diff(fine)
    inside = (fine[None, :-1] >= start[:, None]) & (fine[None, 1:] <= end[:, None])
    assert np.all(np.where(inside, steps >= growth[:, None] - 1e-9, True))
    if "record" in settings:
        record = model.historical & (model.hist_growth > 0)
        assert np.isfinite(start[record]).all() and (start[record] >= RECORD.year).all()
        flat = fine[None, :] < start[:, None] - 1e-6
        held = np.where(record[:, None] & flat, tokens - tokens[:, :1], 0.0)
        assert np.abs(held).max() < 1e-12  # still at the record before its window opens
    if "caps" in settings:
        bent = ~model.historical
        assert np.all(growth[bent] > model.least_growth()[bent])  # better than the whole-grid bound
        assert np.isfinite(end[bent]).all()  # every limit here grows slower than some trend draws
    if not settings:
        np.testing.assert_array_equal(growth, model.least_growth())


def test_observed_overtraining_of_llama_3_1_405b() -> None:
    """15.6T tokens at 3.8e25 FLOP: k = 6·D² / (20·C) = 1.92 (the issue's "k ≈ 2"), and the conversion inverts it."""
    k = demand.observed_log10_overtraining(np.log10(15.6e12), np.log10(3.8e25))
    assert 10**k == pytest.approx(6 * 15.6e12**2 / (20 * 3.8e25), rel=1e-12)
    assert demand.log10_chinchilla_tokens(np.log10(3.8e25), 10**k) == pytest.approx(np.log10(15.6e12), abs=1e-12)


def test_overtraining_path_starts_from_today_and_moves_at_its_rate() -> None:
    """k starts at today's practice at t0, moves 0.6 OOM/yr toward the target and stays there."""
    path = demand.OvertrainingPath(
        target=np.array([1.3, -0.2, 0.3]), start=np.array([0.3, 0.3, 0.3]), t0=2026.5, rate=0.6
    )
    t = demand.time_major(np.array([2020.0, 2026.5, 2027.0, 2027.5, 2030.0]))
    k = path.log10_k(t, None)  # (times, draws)
    np.testing.assert_allclose(k[:, 0], [0.3, 0.3, 0.6, 0.9, 1.3])  # up 1 OOM in 1.67 years, then flat
    np.testing.assert_allclose(k[:, 1], [0.3, 0.3, 0.0, -0.2, -0.2])  # down 0.5 OOM in 0.83 years
    np.testing.assert_allclose(k[:, 2], 0.3)  # no change
    np.testing.assert_array_equal(path.least_growth(), [0.0, -0.6, 0.0])
    fixed = demand.OvertrainingPath(target=np.array([1.3]))  # no start: the target throughout ([P2])
    np.testing.assert_allclose(fixed.log10_k(t, None)[:, 0], 1.3)


@pytest.mark.parametrize("target", [2.0, -1.0])
def test_least_growth_bounds_every_step_with_a_changing_overtraining(target: float) -> None:
    rng = np.random.default_rng(2)
    n = 300
    path = demand.OvertrainingPath(target=np.full(n, target), start=rng.normal(0.2, 0.2, n), t0=2024.5, rate=0.6)
    model = _model(rng, n, overtraining_path=path)
    steps = np.diff(model.tokens(GRID), axis=1) / np.diff(GRID)
    assert np.all(steps >= model.least_growth()[:, None] - 1e-9)
    # At the start the compute arm's tokens are today's: sqrt(20·k_start·C/6).
    compute = model.compute(np.array([2024.5]))[:, 0]
    tokens = model.tokens(np.array([2024.5]))[:, 0]
    arm = ~model.historical
    expected = demand.log10_chinchilla_tokens(compute[arm]) + 0.5 * path.start[arm]
    np.testing.assert_allclose(tokens[arm], expected)


def test_record_arm_starts_at_the_record_and_never_falls() -> None:
    model = _model(np.random.default_rng(2), record=RECORD)
    historical = replace(model, historical=np.ones_like(model.historical))
    tokens = historical.tokens(np.array([2024.5, 2025.0, 2030.0, 2040.0]))
    assert np.all(tokens[:, 0] == 12.5) and np.all(np.diff(tokens, axis=1) >= 0)
    # Long after the start the record follows the line: it grows at the trend's rate.
    late = historical.tokens(np.array([2039.0, 2040.0]))
    assert np.allclose(np.diff(late, axis=1)[:, 0], model.hist_growth, atol=1e-3)
