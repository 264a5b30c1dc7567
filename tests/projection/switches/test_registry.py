"""Extension settings: defaults validate, bad settings are rejected, draws match their intervals."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from forecast.errors import InputError
from forecast.priors import Prior
from forecast.projection.switches.extra_stocks import (
    ExtraStocksSettings,
    extra_stock_draws,
    median_years_bought,
    years_bought,
)
from forecast.projection.switches.human_share import HumanShareSettings
from forecast.projection.switches.synthetic import SYNTHETIC_TOKENS_PER_YEAR_ANCHOR, SyntheticSettings

N = 20_000


def test_defaults_validate_and_round_trip() -> None:
    for model in (HumanShareSettings, SyntheticSettings, ExtraStocksSettings):
        settings = model()
        assert settings.enabled is False
        assert model.model_validate(settings.model_dump()) == settings
    assert HumanShareSettings().discount == 1.0
    assert {s.name for s in ExtraStocksSettings().stocks} == {
        "instant_messages",
        "email",
        "deep_web",
        "images",
        "video",
    }


def test_synthetic_anchor() -> None:
    # 100B words/day × 365 / 0.8 words per token ≈ 4.6e13 tokens/yr ([P2] §3.1, App. E).
    assert pytest.approx(4.5625e13) == SYNTHETIC_TOKENS_PER_YEAR_ANCHOR
    assert SyntheticSettings().tokens_per_year.median() == pytest.approx(SYNTHETIC_TOKENS_PER_YEAR_ANCHOR)


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (HumanShareSettings, {"enable": True}),
        (HumanShareSettings, {"discount": 1.2}),
        (SyntheticSettings, {"value_per_tokens": {}}),
        (SyntheticSettings, {"min_real_share": {"distribution": "normal", "low": 0.1, "high": 0.6}}),
        (ExtraStocksSettings, {"stocks": [{"name": "x", "tokens": {}, "access_fraction": {}}]}),
        (Prior, {"distribution": "lognormal", "low": 1.0, "high": 2.0, "sd": 3}),
        (Prior, {"distribution": "lognormal", "low": 2.0, "high": 1.0}),
        (Prior, {"distribution": "loguniform", "low": 0.0, "high": 1.0}),
        (Prior, {"distribution": "uniform", "low": 0.0, "high": 1.0, "mass": 0.9}),
        (Prior, {"distribution": "beta", "low": 0.0, "high": 1.0}),
    ],
)
def test_bad_settings_rejected(model: type, payload: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def test_duplicate_stock_names_rejected() -> None:
    stock = ExtraStocksSettings().stocks[0].model_dump()
    with pytest.raises(ValidationError, match="duplicate"):
        ExtraStocksSettings(stocks=[stock, stock])


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        HumanShareSettings().discount = 0.5  # type: ignore[misc]


def test_interval_draws() -> None:
    rng = np.random.default_rng(0)
    uniform = Prior(distribution="uniform", low=0.1, high=0.62).sample(N, rng)
    assert uniform.min() >= 0.1 and uniform.max() <= 0.62
    loguniform = Prior(distribution="loguniform", low=0.01, high=0.1).sample(N, rng)
    assert loguniform.min() >= 0.01 and loguniform.max() <= 0.1
    assert np.median(loguniform) == pytest.approx(np.sqrt(0.01 * 0.1), rel=0.03)
    lognormal = Prior(distribution="lognormal", low=1e13, high=1e15).sample(N, rng)
    assert np.median(lognormal) == pytest.approx(1e14, rel=0.05)
    # 95% between low and high: Monte Carlo sd of the share is sqrt(.95 · .05 / 20000) ≈ 0.0015.
    assert np.mean((lognormal > 1e13) & (lognormal < 1e15)) == pytest.approx(0.95, abs=0.006)
    normal = Prior(distribution="normal", low=-1.0, high=1.0, mass=0.5).sample(N, rng)
    assert np.mean(np.abs(normal) < 1.0) == pytest.approx(0.5, abs=0.015)
    with pytest.raises(InputError):
        Prior(distribution="normal", low=0.0, high=1.0).sample(0, rng)


def test_extra_stock_draws() -> None:
    rng = np.random.default_rng(1)
    assert extra_stock_draws(ExtraStocksSettings(), N, rng) == {}
    settings = ExtraStocksSettings(enabled=True)
    draws = extra_stock_draws(settings, N, rng)
    assert set(draws) == {s.name for s in settings.stocks}
    for stock in settings.stocks:
        accessible = draws[stock.name]
        assert accessible.shape == (N,) and np.all(accessible > 0)
        # Product of independent log-symmetric draws: median = product of medians (5% Monte Carlo slack).
        expected = stock.tokens.median() * stock.access_fraction.median()
        assert np.median(accessible) == pytest.approx(expected, rel=0.05)


def test_years_bought_with_censoring() -> None:
    with_ = np.array([2030.0, np.nan, np.nan, 2031.0])
    without = np.array([2028.0, 2029.0, np.nan, 2030.0])
    np.testing.assert_allclose(years_bought(with_, without), [2.0, np.nan, np.nan, 1.0])
    # Horizon 2050: the draw censored only with the extra stock bought at least 21 years; both censored → 0.
    np.testing.assert_allclose(years_bought(with_, without, horizon=2050.0), [2.0, 21.0, 0.0, 1.0])
    with pytest.raises(InputError):
        years_bought(with_, without[:2])


def test_median_years_bought() -> None:
    without = np.array([2028.0, 2029.0, 2030.0, np.nan, 2027.0])  # median 2029 (NaN counts as +inf)
    with_ = np.array([2030.0, 2031.0, np.nan, np.nan, 2029.0])  # median 2031
    assert median_years_bought(with_, without) == pytest.approx(2.0)
    mostly_censored = np.array([2030.0, np.nan, np.nan, np.nan, np.nan])
    assert np.isnan(median_years_bought(mostly_censored, without))


def test_registry_gives_the_scenario_its_switch_fields() -> None:
    from forecast.config import ScenarioOverride, ScenarioSettings
    from forecast.projection.switches import EFFECT_ORDER, SWITCHES

    assert list(SWITCHES) == ["human_share", "synthetic", "extra_stocks"]
    assert sorted(EFFECT_ORDER) == sorted(SWITCHES)
    for name, switch in SWITCHES.items():
        assert name == switch.NAME
        assert ScenarioSettings.model_fields[name].annotation is switch.Settings
        assert ScenarioSettings.model_fields[name].description == switch.DESCRIPTION
        assert ScenarioOverride.model_fields[name].default is None
        for member in ("draw_inputs", "cited_priors", "results", "effects"):
            assert callable(getattr(switch, member))
    assert list(ScenarioSettings.model_fields)[-len(SWITCHES) :] == list(SWITCHES)


def test_switch_inputs_and_cited_priors_follow_the_enabled_switches() -> None:
    from forecast.config import ScenarioSettings
    from forecast.projection.switches import cited_priors, switch_inputs

    off = ScenarioSettings()
    assert switch_inputs(off, {}, 10, seed=1) == {} and cited_priors(off) == []
    on = ScenarioSettings(synthetic=SyntheticSettings(enabled=True), extra_stocks=ExtraStocksSettings(enabled=True))
    inputs = switch_inputs(on, {}, 10, seed=1)
    assert list(inputs)[:4] == [
        "synthetic_tokens_per_year",
        "synthetic_growth_per_year",
        "synthetic_value_per_token",
        "synthetic_min_real_share",
    ]
    assert {f"extra_{s.name}" for s in on.extra_stocks.stocks} == set(list(inputs)[4:])
    names = [name for name, _ in cited_priors(on)]
    assert names[0] == "synthetic.tokens_per_year" and "email.access_fraction" in names
