"""Convergence diagnostics travel with the posterior, so reusing a cached fit needs no ArviZ."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast.model import sample as fit


def _tree(seed: int = 0) -> xr.DataTree:
    """A small two-chain posterior with a sample_stats group, shaped like PyMC's output."""
    rng = np.random.default_rng(seed)
    posterior = xr.Dataset(
        {
            "dataset_level": (("chain", "draw"), rng.normal(12.8, 0.1, (2, 200))),
            "ai_fp": (("chain", "draw", "ai_series"), rng.beta(2, 20, (2, 200, 3))),
        }
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 200), dtype=bool))})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_stored_diagnostics_round_trip() -> None:
    tree = _tree()
    computed = fit.diagnose(tree)
    fit.attach_diagnostics(tree, computed)
    stored = fit.stored_diagnostics(tree)
    assert stored is not None
    assert stored.as_dict() == computed.as_dict()
    assert list(stored.table.index) == list(computed.table.index)  # vector variables element by element
    np.testing.assert_allclose(stored.table.to_numpy(float), computed.table.to_numpy(float), rtol=1e-14)


def test_diagnostics_of_uses_the_stored_report(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree()
    fit.attach_diagnostics(tree, fit.diagnose(tree))

    def must_not_run(*args, **kwargs):
        raise AssertionError("diagnostics recomputed although stored")

    monkeypatch.setattr(fit, "diagnose", must_not_run)
    assert fit.diagnostics_of(tree).divergences == 0


@pytest.mark.parametrize("stored", [None, "not json", '{"divergences": 0}'])
def test_missing_or_broken_stored_diagnostics_are_recomputed(stored: str | None) -> None:
    tree = _tree()
    if stored is not None:
        tree.attrs[fit.DIAGNOSTICS_ATTR] = stored
    assert fit.stored_diagnostics(tree) is None
    assert fit.diagnostics_of(tree).as_dict() == fit.diagnose(tree).as_dict()


def test_thinning_keeps_every_divergence() -> None:
    """draws × thin are sampled and every thin-th kept; the divergence count is of all sampled transitions.

    A funnel sampled by PyMC's NUTS at a low target_accept diverges; the same seed and total number of draws,
    thinned by 3, must report the same count even though some divergent draws are not kept."""
    import pymc as pm

    from forecast.config import SamplerSettings

    with pm.Model() as funnel:
        log_scale = pm.Normal("v", 0, 3)
        pm.Normal("x", 0, pm.math.exp(log_scale / 2), shape=9)
    settings = {"backend": "pymc", "tune": 200, "chains": 2, "target_accept": 0.6, "cores": 1}
    full = fit.sample_posterior(funnel, SamplerSettings(draws=300, **settings), 3)
    thinned = fit.sample_posterior(funnel, SamplerSettings(draws=100, thin=3, **settings), 3)
    assert dict(thinned["posterior"].sizes) == {"chain": 2, "draw": 100, "x_dim_0": 9}
    assert list(thinned["posterior"]["draw"].values) == list(range(100))
    every = int(full["sample_stats"]["diverging"].sum())
    assert every > 0
    assert fit.diagnose(thinned).divergences == every
    np.testing.assert_array_equal(thinned["posterior"]["v"].values, full["posterior"]["v"].values[:, ::3])
