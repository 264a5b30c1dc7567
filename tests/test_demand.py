"""Demand formulas: Chinchilla inversion, overtraining, profit policies, slowdown paths (exact)."""

import numpy as np
import pytest

from forecast import demand


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


def test_log_linear_and_slowdown_paths() -> None:
    grid = np.array([2024.0, 2026.0, 2030.0, 2034.0])
    level, growth = np.array([25.0]), np.array([0.5])
    straight = demand.log10_compute_path(grid, level, growth, 2024.0)
    np.testing.assert_allclose(straight[0], [25.0, 26.0, 28.0, 30.0])
    slowed = demand.log10_compute_path(grid, level, growth, 2024.0, np.array([2030.0]), 0.1)
    np.testing.assert_allclose(slowed[0], [25.0, 26.0, 28.0, 28.4])
