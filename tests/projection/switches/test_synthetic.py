"""Synthetic-data arithmetic on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.errors import InputError
from forecast.projection.switches import synthetic

GRID = np.array([2020.0, 2021.0, 2022.0, 2023.0, 2024.0])


def test_real_share_needed_and_guard() -> None:
    # H = 100, D = 150, v = 0.5: the 50-token gap needs 100 raw synthetic tokens → real share 100/200 = 0.5.
    share = synthetic.real_share_needed(np.array([150.0]), np.array([100.0]), 0.5)
    np.testing.assert_allclose(share, [0.5])
    assert share[0] < 0.6  # r* = 0.6: guard breached
    np.testing.assert_allclose(synthetic.real_share_needed(np.array([80.0]), np.array([100.0]), 0.5), [1.0])


def test_cap_and_supply() -> None:
    # cap = H (1 − r*) / r* = 100 · 0.9 / 0.1 = 900.
    np.testing.assert_allclose(synthetic.synthetic_cap(np.array([100.0]), 0.1), [900.0])
    # S_syn = 2000 exceeds the cap: supply = 100 + 0.03 · 900 = 127.
    supply = synthetic.supply_with_synthetic(np.array([100.0]), np.array([2000.0]), 0.03, 0.1)
    np.testing.assert_allclose(supply, [127.0])
    # S_syn = 500 below the cap: supply = 100 + 0.03 · 500 = 115.
    np.testing.assert_allclose(
        synthetic.supply_with_synthetic(np.array([100.0]), np.array([500.0]), 0.03, 0.1), [115.0]
    )


def test_per_draw_parameters_broadcast_over_paths() -> None:
    H = np.full((2, 3), 100.0)
    cap = synthetic.synthetic_cap(H, np.array([0.1, 0.5]))
    np.testing.assert_allclose(cap, [[900.0] * 3, [100.0] * 3])


def test_synthetic_available() -> None:
    t = np.array([2023.0, 2024.0, 2025.0, 2026.0])
    flat = synthetic.synthetic_available(t, 2024.0, np.array([10.0]), np.array([1.0]))
    np.testing.assert_allclose(flat, [[0.0, 0.0, 10.0, 20.0]])
    # Doubling each year: ∫0^Δ 10 · 2^s ds = 10 (2^Δ − 1) / ln 2.
    doubling = synthetic.synthetic_available(t, 2024.0, np.array([10.0]), np.array([2.0]))
    np.testing.assert_allclose(doubling, [[0.0, 0.0, 10 / np.log(2), 30 / np.log(2)]])


def _paths() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw 0 crosses; draw 1's demand stays below every supply (censored)."""
    H = np.full((2, 5), 100.0)
    D = np.array([[50.0, 80.0, 110.0, 140.0, 170.0], [10.0, 20.0, 30.0, 40.0, 50.0]])
    S = np.tile([0.0, 20.0, 40.0, 60.0, 80.0], (2, 1))
    return D, H, S


def test_dates_hand_computed_and_censored() -> None:
    D, H, S = _paths()
    dates = synthetic.synthetic_dates(GRID, D, H, S, v=np.array([0.5, 0.5]), r_star=np.array([0.5, 0.5]))
    # D − H = −50, −20, 10 → crosses 2/3 of the way from 2021 to 2022.
    np.testing.assert_allclose(dates["human_only"].year[0], 2021 + 2 / 3)
    # cap = 100 > S, supply = 100 + 0.5 S = 100, 110, 120, 130, 140; D − supply = ..., −10, 10 → 2022.5.
    np.testing.assert_allclose(dates["with_synthetic"].year[0], 2022.5)
    # Real share 100 / (100 + (D − 100)/0.5) = 5/9 at 2023 and 5/12 at 2024; r* − share = −1/18, 1/12 →
    # linear interpolation (1/18) / (1/18 + 1/12) = 0.4 → 2023.4 (the exact crossing D = 150 is 2023.33).
    np.testing.assert_allclose(dates["guard"].year[0], 2023.4)
    for key in ("human_only", "with_synthetic", "guard"):
        assert not dates[key].censored[0]
        assert dates[key].censored[1]
        assert np.isnan(dates[key].year[1])


def test_guard_and_supply_coincide_when_synthetic_is_plentiful() -> None:
    D, H, _ = _paths()
    plenty = np.full_like(H, 1e9)
    dates = synthetic.synthetic_dates(GRID, D[:1], H[:1], plenty[:1], v=0.5, r_star=0.5)
    # Both conditions become D ≥ 150, i.e. 2023 + 1/3; the guard's share interpolation is off by < one step.
    np.testing.assert_allclose(dates["with_synthetic"].year, [2023 + 1 / 3])
    assert abs(dates["guard"].year[0] - dates["with_synthetic"].year[0]) < GRID[1] - GRID[0]


def test_crossing_at_grid_start() -> None:
    dates = synthetic.synthetic_dates(GRID, np.full((1, 5), 200.0), np.full((1, 5), 100.0), np.zeros((1, 5)), 0.5, 0.5)
    np.testing.assert_allclose(dates["human_only"].year, [2020.0])


@pytest.mark.parametrize(("v", "r_star"), [(0.0, 0.5), (0.5, 0.0), (0.5, 1.5)])
def test_bad_parameters(v: float, r_star: float) -> None:
    D, H, S = _paths()
    with pytest.raises(InputError):
        synthetic.synthetic_dates(GRID, D, H, S, v=v, r_star=r_star)


def test_shape_mismatch() -> None:
    D, H, S = _paths()
    with pytest.raises(InputError, match="same grid"):
        synthetic.synthetic_dates(GRID[:-1], D, H, S, v=0.5, r_star=0.5)


def test_synthetic_available_at_times_per_draw() -> None:
    """Times per draw (n, k) give the values of the whole grid at those times."""
    rate, growth = np.array([1e12, 5e12, 2e13]), np.array([1.0, 2.0, 0.5])
    full = synthetic.synthetic_available(GRID, 2021.5, rate, growth)
    index = np.array([[0, 4], [1, 2], [3, 3]])
    per_draw = synthetic.synthetic_available(GRID[index], 2021.5, rate, growth)
    np.testing.assert_array_equal(per_draw, full[np.arange(3)[:, None], index])
