"""The compute arm's limits: the smooth minimum, the lines each limit makes, and what binds (exact arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.config.compute_limits import H100_FLOP_PER_SECOND, ComputeLimits
from forecast.config.scenario import ScenarioSettings
from forecast.errors import InputError
from forecast.projection import demand
from forecast.projection.compute_ahead import compute_ahead_of, compute_ahead_table
from forecast.projection.compute_limits import SECONDS_PER_DAY, compute_caps, limit_inputs
from forecast.projection.crossing import Crossing


def _caps(level: list[float], slope: list[float], width: float = 0.3) -> demand.ComputeCaps:
    names = tuple(f"limit{i}" for i in range(len(level)))
    return demand.ComputeCaps(names, np.array(level)[:, None], np.array(slope)[:, None], 2024.0, width)


def _arm(caps: demand.ComputeCaps | None) -> demand.DemandPaths:
    one = np.zeros(1)
    return demand.DemandPaths(
        historical=np.array([False]),
        hist_level=one,
        hist_growth=one,
        hist_anchor=2024.0,
        compute_level=np.array([25.0]),
        compute_growth=np.array([0.5]),
        compute_anchor=2024.0,
        caps=caps,
    )


def test_the_bend_stays_below_every_line_and_within_its_width_of_the_lowest() -> None:
    # Smooth minimum of k + 1 lines: C <= min, and C >= min - w log10(k + 1) (all terms equal at worst).
    caps = _caps([28.0, 29.0], [0.1, 0.0], width=0.3)
    t = np.linspace(2024, 2040, 161)
    bent = _arm(caps).compute(t)[0]
    lines = np.vstack([25.0 + 0.5 * (t - 2024), 28.0 + 0.1 * (t - 2024), np.full(t.shape, 29.0)])
    assert np.all(bent <= lines.min(axis=0) + 1e-12)
    assert np.all(bent >= lines.min(axis=0) - 0.3 * np.log10(3) - 1e-12)


def test_far_below_a_limit_compute_is_the_trend() -> None:
    # 10 OOM below the limit the bend takes off w log10(1 + 10^(-10/w)), below 1e-30.
    bent = _arm(_caps([35.0], [0.5])).compute(np.array([2024.0, 2026.0]))[0]
    np.testing.assert_allclose(bent, [25.0, 26.0], rtol=0, atol=1e-12)


def test_binding_names_the_lowest_line_and_least_growth_bounds_every_step() -> None:
    model = _arm(_caps([27.0], [0.1]))
    t = np.array([2024.0, 2027.0, 2030.0])
    _, binding = model.compute_arm(t)
    # Trend 25, 26.5, 28 against the limit 27, 27.3, 27.6: the trend, the trend, then the limit.
    assert binding[0].tolist() == [0, 0, 1]
    grid = np.linspace(2024, 2060, 433)
    steps = np.diff(model.tokens(grid)[0])
    assert np.all(steps >= model.least_growth()[0] * np.diff(grid) - 1e-12)


def _supply_inputs(n: int) -> dict[str, np.ndarray]:
    return {
        "supply_price_level": np.full(n, 18.0),  # 1e18 FLOP per dollar at 2024
        "supply_price_growth": np.full(n, 0.1),
        "supply_efficiency_level": np.full(n, 12.0),  # 1e12 FLOP per joule
        "supply_efficiency_growth": np.full(n, 0.1),
        "supply_gwp_level": np.full(n, 14.0),  # $1e14
        "supply_gwp_growth": np.full(n, 0.02),
    }


def test_each_limit_is_the_product_of_its_factors() -> None:
    limits = ComputeLimits()
    n = 5
    inputs = _supply_inputs(n) | limit_inputs(limits, _supply_inputs(n), n, seed=3)
    caps = compute_caps(limits, inputs)
    assert caps is not None and caps.names == ("spending", "power", "chips")
    share, gw = inputs["limit_spending_share_of_gwp"], inputs["limit_power_gw"]
    seconds = inputs["limit_training_days"] * SECONDS_PER_DAY
    util, overhead = inputs["limit_utilisation"], inputs["limit_power_overhead"]
    at_2030 = caps.lines(np.array([[2031.0]]), None)[:, 0, :]  # power_year and chips_year are 2030-12-31
    # spending: share x $1e14 x 10^(0.02*7) x 1e18 x 10^(0.1*7) FLOP
    np.testing.assert_allclose(at_2030[0], np.log10(share * 1e14 * 1e18) + 0.12 * 7, atol=1e-9)
    # power at its stated year: GW x 1e9 x 1e12 x 10^(0.1*7) FLOP/J x utilisation / overhead x seconds
    np.testing.assert_allclose(at_2030[1], np.log10(gw * 1e9 * 1e12 * util / overhead * seconds) + 0.7, atol=2e-3)
    # chips at their stated year: H100e x peak FLOP/s x utilisation x seconds
    chips = np.log10(inputs["limit_chips_h100e"] * H100_FLOP_PER_SECOND * util * seconds)
    np.testing.assert_allclose(at_2030[2], chips, atol=2e-3)  # 2030-12-31 is 2030.997, not 2031.0


def test_a_dollar_cap_adds_a_second_spending_line_and_null_limits_are_off() -> None:
    limits = ComputeLimits(spending_cap_usd={"distribution": "uniform", "low": 1e10, "high": 1.1e10}, power_gw=None)
    inputs = _supply_inputs(4) | limit_inputs(limits, _supply_inputs(4), 4, seed=3)
    caps = compute_caps(limits, inputs)
    assert caps is not None and caps.names == ("spending", "spending", "chips")
    none = ComputeLimits(spending_share_of_gwp=None, power_gw=None, chips_h100e=None)
    assert compute_caps(none, _supply_inputs(4)) is None


def test_limits_need_the_fitted_supply_trends() -> None:
    with pytest.raises(InputError, match="supply_price_level"):
        limit_inputs(ComputeLimits(), {}, 4, seed=1)


def test_limits_replace_the_hand_set_slowdown() -> None:
    with pytest.raises(ValueError, match="compute_limits replaces compute_slowdown"):
        ScenarioSettings(compute_limits={})
    assert ScenarioSettings(compute_limits={}, compute_slowdown=None).compute_limits is not None


def test_compute_ahead_counts_what_binds_at_each_date() -> None:
    model = _arm(_caps([27.0], [0.1]))
    no = np.array([False])
    crossing = Crossing(np.array([2030.0]), no, no, np.array([0]), np.array([0.0]))
    ahead = compute_ahead_of(model, _supply_inputs(1), crossing, 2026.5, 2060.0)
    assert ahead is not None and ahead.binding.tolist() == ["limit0"]
    # cost = compute / FLOP per dollar: at 2027 the trend (26.5) less 18 + 0.1 x 3 = 8.2 (with the bend's nick).
    assert np.log10(ahead.cost_band[0, 2]) == pytest.approx(8.2, abs=0.01)

    class Result:
        name, compute_ahead = "s", ahead

    table = compute_ahead_table([Result()])
    assert table.loc[0, "share_trend"] == 0.0 and table.loc[0, "compute_draws"] == 1
