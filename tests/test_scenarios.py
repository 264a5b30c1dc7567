"""Scenario projection: the test-locked exhaustion schema, mixture balance, and directions of prior changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.config import load_config, resolve
from forecast.draws import balanced_arms, flatten
from forecast.fit import posterior_arrays
from forecast.scenarios import (
    EXHAUSTION_SCHEMA,
    SUMMARY_COLUMNS,
    exhaustion_dataset,
    project_scenario,
    summary_table,
)


def _project(default_run, scenario):
    result, _ = default_run
    posterior = flatten(posterior_arrays(result.idata))
    return project_scenario(scenario, posterior, result.bundle.stock_priors, result.config.seed)


# The published schema of the exhaustion draws, written out so that any change to it is a visible test change.
LOCKED_SCHEMA = {
    "exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "censored": (("scenario", "chain", "draw"), "bool"),
    "tokens_at_crossing": (("scenario", "chain", "draw"), "tokens"),
    "compute_at_crossing": (("scenario", "chain", "draw"), "FLOP"),
    "stock_at_crossing": (("scenario", "chain", "draw"), "tokens"),
    "historical_arm": (("scenario", "chain", "draw"), "bool"),
    "baseline_exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "synthetic_exhaustion_year": (("scenario", "chain", "draw"), "decimal year"),
    "collapse_guard_year": (("scenario", "chain", "draw"), "decimal year"),
    "horizon": (("scenario",), "decimal year"),
    "synthetic_enabled": (("scenario",), "bool"),
}


def test_exhaustion_schema_is_locked(default_run) -> None:
    result, _ = default_run
    ds = result.exhaustion
    assert {k: (v[0], v[1]) for k, v in EXHAUSTION_SCHEMA.items()} == LOCKED_SCHEMA
    assert set(ds.data_vars) == set(LOCKED_SCHEMA)
    for name, (dims, unit) in LOCKED_SCHEMA.items():
        assert ds[name].dims == dims, name
        assert ds[name].attrs["units"] == unit
    assert ds["exhaustion_year"].dtype == np.float64
    assert ds["censored"].dtype == bool
    assert list(ds["scenario"].values) == [s.name for s in resolve(result.config)]
    assert ds.sizes["chain"] == result.config.sampler.chains and ds.sizes["draw"] == result.config.sampler.draws
    # Censored <=> NaN year; crossing values are NaN exactly when censored.
    np.testing.assert_array_equal(np.isnan(ds["exhaustion_year"].values), ds["censored"].values)
    np.testing.assert_array_equal(np.isnan(ds["tokens_at_crossing"].values), ds["censored"].values)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)


def test_mixture_is_an_equal_weight_mixture() -> None:
    arms = balanced_arms(4000, seed=1)
    assert arms.sum() == 2000
    assert not np.array_equal(arms, balanced_arms(4000, seed=2))


def test_summary_matches_draws(default_run) -> None:
    result, _ = default_run
    row = result.summary.set_index("scenario").loc["historical"]
    years = result.exhaustion.sel(scenario="historical")["exhaustion_year"].values.ravel()
    assert row["median"] == np.quantile(years[~np.isnan(years)], 0.5) or np.isnan(years).any()
    assert row["q10"] < row["median"] < row["q90"]
    assert row["q05"] <= row["q10"] and row["q90"] <= row["q95"]


def test_larger_quality_fraction_delays_exhaustion(default_run, tmp_path) -> None:
    """Copy the default preset's YAML, raise the quality-fraction prior, load it: the median moves later."""
    from importlib import resources

    import yaml

    document = yaml.safe_load(resources.files("forecast.presets").joinpath("default.yml").read_text())
    document["defaults"]["priors"] = {
        "quality_fraction": {"distribution": "lognormal", "low": 0.3, "high": 0.9, "source": "test: more usable text"}
    }
    copied = tmp_path / "richer.yml"
    copied.write_text(yaml.safe_dump(document, sort_keys=False))
    names = ("mixture-optimal", "historical")
    base = {s.name: s for s in resolve(load_config("default"))}
    richer = {s.name: s for s in resolve(load_config(copied))}
    for name in names:
        medians = [float(np.nanmedian(_project(default_run, s[name]).crossing_year)) for s in (base, richer)]
        # Same draws for every other input (common random numbers), so the shift is the prior's effect alone:
        # ~3x more quality text at ~0.3 OOM/yr net demand growth is ~1.5 years; require at least 0.5.
        assert medians[1] > medians[0] + 0.5, name


def test_overtraining_brings_exhaustion_forward(default_run) -> None:
    result, _ = default_run
    s = result.summary.set_index("scenario")["median"]
    assert s["compute-100x"] < s["compute-10x"] < s["compute-5x"] < s["compute-optimal"]


def test_censoring_at_a_short_horizon(default_run) -> None:
    base = next(s for s in resolve(load_config("default")) if s.name == "compute-optimal")
    short = base.model_copy(update={"horizon": 2028})
    res = _project(default_run, short)
    assert res.censored.any() and not res.censored.all()
    ds = exhaustion_dataset([res], 4, res.censored.size // 4)
    table = summary_table(ds)
    assert table.loc[0, "p_not_by_horizon"] == res.censored.mean()
    assert table.loc[0, "q95"] == np.inf  # a quantile in the censored tail is "after the horizon"
    assert isinstance(table, pd.DataFrame)


def test_extensions_move_the_date_as_expected(default_run) -> None:
    """Human-share discount: earlier; non-public stocks: later; synthetic data: not earlier, guard after start."""
    effects = default_run[0].effects.set_index(["scenario", "effect"])["shift_years"]
    assert effects[("mixture-human-share", "scenario as configured")] < 0
    assert effects[("mixture-nonpublic", "scenario as configured")] > 0
    assert effects[("mixture-synthetic", "with synthetic data")] >= 0
    # Each extra stock alone buys less than all of them together.
    alone = effects.loc["mixture-nonpublic"].drop("scenario as configured")
    assert (alone <= effects[("mixture-nonpublic", "scenario as configured")] + 1e-9).all()
    ds = default_run[0].exhaustion
    assert bool(ds["synthetic_enabled"].sel(scenario="mixture-synthetic"))
    assert np.isnan(ds["synthetic_exhaustion_year"].sel(scenario="historical")).all()


def test_sensitivity_tables_cover_every_scenario(default_run) -> None:
    result = default_run[0]
    assert set(result.sensitivity["scenario"]) == {s.name for s in resolve(result.config)}
    first = result.sensitivity[result.sensitivity["scenario"] == "mixture-optimal"]
    assert first["index"].between(0, 1).all()
    assert first.iloc[0]["rank"] == 1 and first["index"].is_monotonic_decreasing
