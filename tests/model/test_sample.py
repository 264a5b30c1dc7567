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
