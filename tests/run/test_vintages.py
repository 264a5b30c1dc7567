"""Vintages and `--as-of`: the forecast that the data known at an earlier date would have produced."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import DATA_DIR, make_result, with_vintages

from forecast.config import load_config, parse_config, resolve, with_cutoff
from forecast.errors import ConfigError
from forecast.run.vintages import VINTAGE_COLUMNS, vintage_dates, vintage_scenarios


@pytest.fixture(scope="module")
def result():
    return with_vintages(make_result("default"))


def test_default_vintages_are_the_issue_dates_and_the_cutoff() -> None:
    config = load_config("default")
    dates = [d.isoformat() for d in vintage_dates(config)]
    assert dates == ["2022-01-01", "2023-01-01", "2024-01-01", "2025-01-01", "2026-01-01", "2026-06-30"]
    assert vintage_scenarios(config) == ["mixture-observed", "historical", "compute-observed"]


def test_vintage_table_has_a_row_per_vintage_and_scenario(result) -> None:
    table = result.vintages
    assert list(table.columns) == list(VINTAGE_COLUMNS)
    assert len(table) == 6 * 3
    assert table["vintage"].is_monotonic_increasing
    # Each vintage sees only the runs published by then, so the count of runs with tokens grows with the date.
    runs = table.drop_duplicates("vintage")["runs_with_tokens"].to_numpy()
    assert np.all(np.diff(runs) > 0)
    # The record is the one known at each vintage: it never shrinks, and at 2024-01-01 it is at most 2023's.
    assert np.all(np.diff(table.drop_duplicates("vintage")["record_tokens"].to_numpy()) >= 0)
    today = table[table["vintage"] == result.config.data.cutoff.isoformat()].set_index("scenario")
    summary = result.summary.set_index("scenario")
    for name in today.index:  # today's row is today's run, not a re-run
        assert today.loc[name, "median"] == summary.loc[name, "median"]


def test_each_vintage_starts_its_projections_at_its_cutoff() -> None:
    earlier = with_cutoff(load_config("default"), dt.date(2023, 1, 1), ["historical"])
    assert [s.name for s in earlier.scenarios] == ["historical"]
    assert all(s.projection_start == dt.date(2023, 1, 1) for s in resolve(earlier))
    assert not earlier.vintages.dates  # a vintage has no vintages of its own


def test_as_of_refuses_a_fixed_start_before_the_new_cutoff() -> None:
    with pytest.raises(ConfigError, match=r"as of 2024-06-01: defaults.projection_start: projection start 2024-01-01"):
        with_cutoff(load_config("villalobos2024"), dt.date(2024, 6, 1))


def test_vintage_settings_are_checked() -> None:
    text = (DATA_DIR.parent / "forecast" / "config" / "presets" / "default.yml").read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match=r"vintages.scenarios.*unknown scenario 'nope'"):
        parse_config(text.replace("scenarios: [mixture-observed,", "scenarios: [nope,"), "x.yml")
    with pytest.raises(ConfigError, match="vintage 2027-01-01 is after the data cut-off"):
        parse_config(text.replace("2026-01-01]", "2027-01-01]"), "x.yml")


@pytest.mark.slow
def test_as_of_reproduces_a_run_on_data_cut_at_that_date(tmp_path: Path) -> None:
    """`forecast run --as-of 2024-01-01` equals a run on data files cut at 2024-01-01 (same fit data, same seed:
    the same posterior and projections; tolerance: equal to the Monte Carlo error of a 400-draw median, 0.1 yr,
    although the two are expected to agree exactly)."""
    from forecast.data.provenance import update_hashes
    from forecast.run.pipeline import compute_result

    cut = dt.date(2024, 1, 1)
    text = (DATA_DIR.parent / "forecast" / "config" / "presets" / "default.yml").read_text(encoding="utf-8")
    small = (
        text.replace("draws: 1000 ", "draws: 200 ")
        .replace("tune: 2000 ", "tune: 500 ")
        .replace("chains: 4 ", "chains: 2 ")
    )
    config = parse_config(small, "small.yml")
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    for name, column in (
        ("training_runs.csv", "publication_date"),
        ("web_growth.csv", "date"),
        ("stock_estimates.csv", "publication_date"),
    ):
        frame = pd.read_csv(data / name, dtype=str, keep_default_na=False)
        dates = pd.to_datetime(frame[column], errors="coerce")
        frame[(dates.isna()) | (dates <= pd.Timestamp(cut))].to_csv(data / name, index=False)
    update_hashes(data)
    as_of = compute_result(with_cutoff(config, cut), DATA_DIR, vintages=False)
    without = small[: small.index("vintages:")] + small[small.index("defaults:") :]
    truncated = parse_config(without.replace("cutoff: 2026-06-30", "cutoff: 2024-01-01"), "cut.yml")
    direct = compute_result(truncated, data, vintages=False)
    a, b = as_of.summary.set_index("scenario"), direct.summary.set_index("scenario")
    np.testing.assert_allclose(a["median"], b["median"], atol=0.1)
    np.testing.assert_allclose(a["q10"], b["q10"], atol=0.1)


def test_a_vintage_already_computed_in_this_process_is_not_computed_again(result) -> None:
    """A `forecast watch` edit that leaves the vintages' configs as they were reuses their rows; `reuse=False`
    (what `--no-cache` passes) computes them again. A different seed is a different config: computed."""

    from forecast.run.vintages import vintage_table

    config = result.config.model_copy(update={"seed": 97})
    table = result.vintages.set_index(["vintage", "scenario"])
    calls = []

    def earlier(cfg):
        calls.append(cfg.data.cutoff)
        return make_result_at(cfg)

    first = vintage_table(config, result, earlier, None)
    assert len(calls) == 5
    again = vintage_table(config, result, earlier, None)
    assert len(calls) == 5  # nothing computed again
    pd.testing.assert_frame_equal(again, first)
    vintage_table(config, result, earlier, None, reuse=False)
    assert len(calls) == 10
    assert set(first.set_index(["vintage", "scenario"]).index) == set(table.index)


def make_result_at(config):
    """A result for an earlier vintage's config from a synthetic posterior (no sampling)."""
    from fakes import synthetic_idata

    from forecast.data import load_bundle
    from forecast.run.pipeline import compute_result

    config = config.model_copy(update={"sampler": config.sampler.model_copy(update={"chains": 2, "draws": 100})})
    bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
    return compute_result(config, DATA_DIR, posterior=synthetic_idata(bundle, 2, 100), vintages=False)


def test_vintage_rows_are_kept_in_the_cache(result, monkeypatch, tmp_path) -> None:
    """A new process (empty in-process memo) reads each vintage's rows from the cache instead of recomputing it;
    `reuse=False` (--no-cache) computes them again."""
    from forecast.run import vintages

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(vintages, "_SEEN", {})
    calls: list[dt.date] = []

    def compute(earlier):
        calls.append(earlier.data.cutoff)
        return result

    first = vintages.vintage_table(result.config, result, compute, None)
    assert len(calls) == len(vintage_dates(result.config)) - 1  # today's row is today's run
    monkeypatch.setattr(vintages, "_SEEN", {})
    again = vintages.vintage_table(result.config, result, compute, None)
    assert len(calls) == len(vintage_dates(result.config)) - 1
    pd.testing.assert_frame_equal(first, again)
    vintages.vintage_table(result.config, result, compute, None, reuse=False)
    assert len(calls) == 2 * (len(vintage_dates(result.config)) - 1)
    # Another seed is another forecast: its own entries.
    reseeded = result.config.model_copy(update={"seed": result.config.seed + 1})
    fingerprint = result.bundle.fingerprint
    assert vintages.vintage_key(with_cutoff(reseeded, dt.date(2024, 1, 1)), fingerprint) != vintages.vintage_key(
        with_cutoff(result.config, dt.date(2024, 1, 1)), fingerprint
    )
