"""Prior -> distribution conversions: the numbers must match the paper's code (METHOD_NOTES A.12)."""

import numpy as np
import pytest

from forecast.priors import Prior


@pytest.mark.parametrize(
    ("spec", "mu", "sigma"),
    [
        # METHOD_NOTES A.12 lists these (mu, sigma) for the [C2] priors, to 4 decimals.
        (Prior(distribution="lognormal", low=7.5e10, high=1e12), 26.3359, 0.6608),
        (Prior(distribution="lognormal", low=6100, high=8200), 8.8640, 0.0755),
        (Prior(distribution="reflected_lognormal", low=2, high=5, ceiling=6), 0.6931, 0.3537),
        (Prior(distribution="lognormal", low=0.1, high=0.4), -1.6094, 0.3537),
        (Prior(distribution="lognormal", low=3e12, high=13e12, mass=0.9), 29.4628, 0.4457),
    ],
)
def test_normal_params_match_method_notes(spec: Prior, mu: float, sigma: float) -> None:
    got_mu, got_sigma = spec.normal_params()
    assert got_mu == pytest.approx(mu, abs=1e-4)
    assert got_sigma == pytest.approx(sigma, abs=1e-4)


def test_draws_hold_the_stated_mass() -> None:
    # 200k draws: the sd of an empirical 95% coverage is sqrt(.95*.05/2e5) = 0.0005; allow 4 sd.
    spec = Prior(distribution="lognormal", low=0.1, high=0.4)
    x = spec.draw(200_000, seed=1, name="q")
    assert np.mean((x >= 0.1) & (x <= 0.4)) == pytest.approx(0.95, abs=0.002)
    assert spec.median() == pytest.approx(0.2)


def test_streams_are_keyed_by_name_and_seed() -> None:
    spec = Prior(distribution="normal", low=0, high=1)
    a = spec.draw(5, seed=3, name="x")
    assert np.array_equal(a, spec.draw(5, seed=3, name="x"))
    assert not np.array_equal(a, spec.draw(5, seed=3, name="y"))
    assert not np.array_equal(a, spec.draw(5, seed=4, name="x"))


def test_uniform_and_loguniform() -> None:
    assert Prior(distribution="uniform", low=0.1, high=0.62).median() == pytest.approx(0.36)
    x = Prior(distribution="loguniform", low=0.01, high=0.1).draw(10_000, 0, "v")
    assert x.min() >= 0.01 and x.max() <= 0.1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"distribution": "lognormal", "low": 5, "high": 2},
        {"distribution": "lognormal", "low": 0, "high": 2},
        {"distribution": "reflected_lognormal", "low": 2, "high": 5},
        {"distribution": "normal", "low": 0, "high": 1, "mass": 1.0},
    ],
)
def test_invalid_specs_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Prior(**kwargs)
