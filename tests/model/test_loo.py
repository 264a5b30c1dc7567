"""PSIS-LOO of the dataset frontier (`forecast.model.loo`): the summary is ArviZ's LOO of the pointwise terms, it
recovers the exact leave-one-out density where that is known, and the comparison ranks only fits on the same
observations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from forecast.model.loo import PARETO_K_LIMIT, RECORD_TERM, compare_loo, loo_summary

CHAINS, DRAWS = 4, 1000


def _tree(log_lik: np.ndarray, name: str = RECORD_TERM, dim: str = "spell") -> xr.DataTree:
    mu = np.zeros((CHAINS, DRAWS))
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"mu": (("chain", "draw"), mu)}),
            "log_likelihood": xr.Dataset({name: (("chain", "draw", dim), log_lik.reshape(CHAINS, DRAWS, -1))}),
        }
    )


def _normal_mean_fit(y: np.ndarray, seed: int = 1, offset: float = 0.0) -> np.ndarray:
    """Pointwise log-likelihood of y_i ~ N(μ, 1) at draws of μ's posterior under a flat prior, N(ȳ, 1/n)
    (moved by `offset`: a fit that misses the data)."""
    mu = np.random.default_rng(seed).normal(y.mean() + offset, 1 / np.sqrt(y.size), size=CHAINS * DRAWS)
    return stats.norm.logpdf(y[None, :], loc=mu[:, None])


def test_loo_recovers_the_exact_leave_one_out_density() -> None:
    # Leaving y_i out, μ | y_-i ~ N(mean_-i, 1/(n-1)) and y_i's predictive is N(mean_-i, 1 + 1/(n-1)): the exact
    # ELPD. PSIS with 4,000 draws and n = 20 well-behaved points is within a few hundredths of it (its Monte
    # Carlo error per point is ~0.005); 0.1 allows for the sum over 20 points.
    y = np.random.default_rng(0).normal(size=20)
    n = y.size
    mean_without = (y.sum() - y) / (n - 1)
    exact = stats.norm.logpdf(y, loc=mean_without, scale=np.sqrt(1 + 1 / (n - 1))).sum()
    summary = loo_summary(_tree(_normal_mean_fit(y), name="y_obs", dim="run"))
    assert summary.likelihood == "stochastic" and summary.n_observations == n
    assert summary.elpd_loo == pytest.approx(exact, abs=0.1)
    assert summary.p_loo == pytest.approx(1.0, abs=0.3)  # one parameter, μ
    assert summary.n_pareto_k_high == 0 and summary.pareto_k_max < PARETO_K_LIMIT
    assert summary.elpd_loo_se > 0


def test_comparison_ranks_the_better_fit_first_and_stacks_on_it() -> None:
    y = np.random.default_rng(2).normal(size=15)
    good = _normal_mean_fit(y)
    bad = _normal_mean_fit(y, offset=1.5)  # its μ sits 1.5 sd away from the data it is scored on
    table = compare_loo({"bad": _tree(bad), "good": _tree(good)})
    assert list(table.index) == ["good", "bad"]
    assert table.loc["good", "elpd_diff"] == 0 and table.loc["bad", "elpd_diff"] < -5
    assert table.loc["good", "stacking_weight"] > 0.9
    assert table["stacking_weight"].sum() == pytest.approx(1.0)


def test_comparison_refuses_fits_on_other_observations() -> None:
    y = np.random.default_rng(3).normal(size=10)
    with pytest.raises(ValueError, match="only record-process fits"):
        compare_loo({"record": _tree(_normal_mean_fit(y)), "runs": _tree(_normal_mean_fit(y), name="y", dim="run")})
    with pytest.raises(ValueError, match="different numbers of spells"):
        compare_loo({"a": _tree(_normal_mean_fit(y)), "b": _tree(_normal_mean_fit(y[:8]))})
