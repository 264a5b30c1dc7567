"""Sensitivity measures on functions with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import InputError
from forecast.projection.sensitivity import (
    BinningCache,
    _Binned,
    _covariance,
    _Output,
    default_n_bins,
    first_order_indices,
    isotonic_regression,
    sensitivity_report,
    what_you_would_have_to_believe,
)

N = 20_000
# Tolerance on first-order indices. Over 200 replications at n = 20,000 (50 bins) the estimator's sd was
# ≤ 0.006 for every index below (linear: 0.005, 0.0024, 0.0003; Ishigami: 0.005, 0.006, 0.0004) and its bias
# (bin discretisation) ≤ 0.004; 0.03 is ≥ 4.5 sd beyond the bias, so a failure means a real error.
TOLERANCE = 0.03
# Ishigami (a = 7, b = 0.1) first-order indices (Ishigami & Homma 1990; Saltelli et al. 2008).
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
ISHIGAMI_S = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}


def _indices(table) -> dict[str, float]:
    return dict(zip(table["input"], table["index"], strict=True))


def test_linear_known_indices_and_ranking() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, N))
    # Var(X1 + 2 X2) = 1 + 4 = 5 → S = 1/5, 4/5, 0.
    table = first_order_indices({"x1": x[0], "x2": x[1], "x3": x[2]}, x[0] + 2 * x[1])
    assert list(table.columns) == ["input", "index", "rank"]
    assert list(table["input"]) == ["x2", "x1", "x3"]
    assert list(table["rank"]) == [1, 2, 3]
    for name, truth in {"x1": 0.2, "x2": 0.8, "x3": 0.0}.items():
        assert abs(_indices(table)[name] - truth) < TOLERANCE


def test_ishigami_known_indices() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-np.pi, np.pi, (3, N))
    y = np.sin(x[0]) + ISHIGAMI_A * np.sin(x[1]) ** 2 + ISHIGAMI_B * x[2] ** 4 * np.sin(x[0])
    estimates = _indices(first_order_indices({"x1": x[0], "x2": x[1], "x3": x[2]}, y))
    for name, truth in ISHIGAMI_S.items():
        assert abs(estimates[name] - truth) < TOLERANCE


def test_irrelevant_input_is_near_zero_after_bias_correction() -> None:
    # Uncorrected, pure noise scores (m − 1)/(n − 1) = 49/1999 ≈ 0.025 on average (50 bins, n = 2000).
    # Corrected, its mean is 0 before clipping at 0; over 200 replications the clipped mean was 0.002 (sd
    # 0.003 per estimate), so the mean of 20 stays well below 0.01, which the uncorrected bias would exceed.
    rng = np.random.default_rng(2)
    estimates = [
        _indices(first_order_indices({"z": rng.random(2000)}, rng.random(2000), n_bins=50))["z"] for _ in range(20)
    ]
    assert np.mean(estimates) < 0.01


def test_default_bins() -> None:
    assert default_n_bins(100) == 5
    assert default_n_bins(400) == 10
    assert default_n_bins(1_000_000) == 50


def _linear_dates() -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 10.0, N)
    noise = rng.standard_normal(N)
    return {"x1": x, "noise": noise}, 2030.0 + x


def test_what_you_would_have_to_believe_linear() -> None:
    inputs, y = _linear_dates()
    table = what_you_would_have_to_believe(inputs, y, target=2035.0).set_index("input")
    # Bin width 10/50 = 0.2; the binned median curve is exact for a linear function, so 5 ± half a bin.
    assert abs(table.loc["x1", "value"] - 5.0) < 0.1
    assert abs(table.loc["x1", "prior_percentile"] - 0.5) < 0.02
    assert table.loc["x1", "reachable"]
    # An input the date does not depend on cannot move it.
    assert not table.loc["noise", "reachable"]
    assert np.isnan(table.loc["noise", "value"])


def test_what_you_would_have_to_believe_direction() -> None:
    inputs, y = _linear_dates()
    later = what_you_would_have_to_believe(inputs, y, target=2038.0).set_index("input")
    assert abs(later.loc["x1", "value"] - 8.0) < 0.1
    assert later.loc["x1", "direction"] == "increase"
    # Decreasing relation: Y = 2040 − X1 reaches 2032 at X1 = 8.
    falling = what_you_would_have_to_believe({"x1": inputs["x1"]}, 4070.0 - y, target=2032.0)
    assert abs(falling.loc[0, "value"] - 8.0) < 0.1
    assert abs(falling.loc[0, "prior_percentile"] - 0.8) < 0.02


def test_what_you_would_have_to_believe_unreachable() -> None:
    inputs, y = _linear_dates()
    table = what_you_would_have_to_believe(inputs, y, target=2045.0)
    row = table.set_index("input").loc["x1"]
    assert not row["reachable"]
    assert np.isnan(row["value"]) and np.isnan(row["prior_percentile"])


def test_bad_inputs() -> None:
    x = np.arange(100.0)
    with pytest.raises(InputError, match="censored"):
        first_order_indices({"x": x}, np.where(x > 50, np.nan, x))
    with pytest.raises(InputError, match="draws"):
        first_order_indices({"x": x[:50]}, x)
    with pytest.raises(InputError, match="n_bins"):
        first_order_indices({"x": x}, x, n_bins=2)
    with pytest.raises(InputError, match="quantile"):
        what_you_would_have_to_believe({"x": x}, x, quantile=1.0)


# ---------------------------------------------------------------------------------------------------------------
# The one-sort implementation equals the straightforward one: np.quantile bins, lexsort, np.median and
# np.quantile per bin, scipy's isotonic regression, np.corrcoef
# ---------------------------------------------------------------------------------------------------------------


def _reference_bins(x: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    return np.unique(np.searchsorted(edges, x, side="right"), return_inverse=True)[1]


def _reference_curve(x: np.ndarray, y: np.ndarray, n_bins: int, quantile: float) -> tuple[np.ndarray, ...]:
    bins = _reference_bins(x, n_bins)
    order = np.lexsort((y, bins))
    counts = np.bincount(bins)
    splits = np.cumsum(counts)[:-1]
    centres = np.array([np.median(g) for g in np.split(x[order], splits)])
    levels = np.array([np.quantile(g, quantile) for g in np.split(y[order], splits)])
    return centres, levels, counts


def _draws_with_ties(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=n)
    x[rng.random(n) < 0.3] = 0.5  # a large tie: bins merge
    return np.round(x, 2)


def test_binning_and_curve_equal_the_straightforward_computation() -> None:
    rng = np.random.default_rng(7)
    for n in (40, 1_001, 4_000):
        x, y = _draws_with_ties(rng, n), rng.normal(size=n)
        y[rng.random(n) < 0.1] = 0.0
        m = default_n_bins(n)
        binned = _Binned.of(x, m)
        np.testing.assert_array_equal(binned.bins, _reference_bins(x, m))
        for q in (0.5, 0.1, 0.9):
            for got, want in zip(binned.curve(_Output.of(y), q), _reference_curve(x, y, m, q), strict=True):
                np.testing.assert_array_equal(got, want)


def test_isotonic_regression_equals_scipys() -> None:
    from scipy.optimize import isotonic_regression as scipy_isotonic

    rng = np.random.default_rng(8)
    for _ in range(300):
        m = int(rng.integers(1, 60))
        y = rng.normal(size=m) + rng.choice([0.0, 1.0]) * np.arange(m) / 10
        y[rng.random(m) < 0.2] = 0.25  # equal values
        w = rng.integers(1, 50, m).astype(float)
        for increasing in (True, False):
            want = scipy_isotonic(y, weights=w, increasing=increasing).x
            np.testing.assert_array_equal(isotonic_regression(y, w, increasing), want)


def test_trend_direction_is_corrcoefs() -> None:
    rng = np.random.default_rng(9)
    for i in range(2_000):
        m = int(rng.integers(2, 50))
        x = np.sort(rng.normal(size=m))
        y = rng.normal(size=m) * rng.choice([1e-9, 1.0, 1e6]) + rng.choice([-1.0, 0.0, 1.0]) * x
        if i % 5 == 0:
            y = np.full(m, 2.0)
        trend = np.corrcoef(x, y)[0, 1] if np.ptp(y) > 0 else 0.0
        assert (not trend < 0) == (not (np.ptp(y) > 0 and _covariance(x, y) < 0))


def test_report_equals_the_two_tables_and_reuses_bins() -> None:
    inputs, y = _linear_dates()
    inputs["tied"] = np.round(inputs["noise"], 1)
    arm = {"arm": (np.arange(y.size) % 2).astype(float)}
    cache = BinningCache()
    indices, beliefs = sensitivity_report(inputs, y, target=2036.0, index_only=arm, cache=cache)
    pd.testing.assert_frame_equal(indices, first_order_indices(inputs | arm, y))
    pd.testing.assert_frame_equal(beliefs, what_you_would_have_to_believe(inputs, y, target=2036.0))
    again = sensitivity_report(inputs, 4070.0 - y, target=2036.0, index_only=arm, cache=cache)
    pd.testing.assert_frame_equal(again[0], first_order_indices(inputs | arm, 4070.0 - y))
    labelled = sensitivity_report(inputs, y, target=2036.0, columns={"scenario": "s"})[1]
    assert list(labelled["scenario"]) == ["s"] * len(inputs)
