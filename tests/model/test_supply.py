"""The supply block: which rows each trend fits, and that the fit recovers known lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.data import load_compute_supply
from forecast.model.supply import TRENDS, add_supply_block, supply_data_from_frame

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def _frame(truth: dict[str, tuple[float, float]], noise: float, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for name, (series, *_rest) in TRENDS.items():
        level, growth = truth[name]
        year = rng.uniform(2012, 2026, rows)
        dates = pd.to_datetime("2012-01-01") + pd.to_timedelta((year - 2012) * 365.25, unit="D")
        values = 10 ** (level + growth * (year - 2024) + rng.normal(0, noise, rows))
        parts.append(pd.DataFrame({"series": series, "date": dates, "value": values}))
    return pd.concat(parts, ignore_index=True)


def test_rows_are_cut_at_the_cutoff_and_too_few_rows_leave_the_block_out() -> None:
    truth = {name: (10.0, 0.1) for name in TRENDS}
    frame = _frame(truth, 0.1, 20, seed=1)
    data = supply_data_from_frame(frame, cutoff_year=2020.0)
    assert data is not None and all(np.all(data.year[name] <= 2020.0) for name in TRENDS)
    assert supply_data_from_frame(frame, cutoff_year=2012.1) is None  # fewer than 3 rows of a trend by then
    assert supply_data_from_frame(None) is None


def test_the_shipped_rows_feed_every_trend() -> None:
    data = supply_data_from_frame(load_compute_supply(DATA_DIR))
    assert data is not None
    assert {name: data.year[name].size >= 10 for name in TRENDS} == dict.fromkeys(TRENDS, True)


def test_the_fit_recovers_known_lines() -> None:
    """Simulated rows from known lines (noise 0.1 OOM, 40 rows each): every level and growth within 4 posterior
    sds of the truth (a 4-sd miss has probability ~6e-5 per parameter under a calibrated posterior)."""
    import pymc as pm

    truth = {"price": (17.9, 0.13), "hardware": (10.7, 0.1), "efficiency": (12.1, 0.1), "gwp": (14.0, 0.02)}
    data = supply_data_from_frame(_frame(truth, 0.1, 40, seed=7))
    assert data is not None
    with pm.Model():
        add_supply_block(data)
        idata = pm.sample(500, tune=500, chains=2, random_seed=11, progressbar=False, compute_convergence_checks=False)
    posterior = idata.posterior
    for name, (level, growth) in truth.items():
        for part, value in (("level", level), ("growth", growth)):
            draws = posterior[f"supply_{name}_{part}"].values.ravel()
            assert abs(draws.mean() - value) < 4 * draws.std(), (name, part, draws.mean(), draws.std())
    assert float(posterior["supply_price_noise_sd"].mean()) == pytest.approx(0.1, rel=0.4)
