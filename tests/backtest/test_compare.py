"""Frontier models compared by the same rolling backtest (`forecast compare`): one row per model and cut-off, the
stochastic model's rows are exactly its backtest's, and record-process models add the leave-future-out terms.

One cut-off (2023-01-01) and two models with the fast sampler of tests/fixtures/backtest/fast.yml; the stochastic
fit is the one tests/backtest/test_backtest.py makes at that cut-off (reused from the session's cache).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import backtest as bt
from forecast.backtest.compare import COMPARISON_FILE
from forecast.cli.app import app
from forecast.config import load_config, with_frontier

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
FAST_CONFIG = REPO / "tests" / "fixtures" / "backtest" / "fast.yml"
CUTOFF = dt.date(2023, 1, 1)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("compare") / "out"
    args = ["compare", "--cutoff", CUTOFF.isoformat(), "--model", "stochastic-constant,record-constant"]
    run = CliRunner().invoke(app, [*args, "--scenarios", str(FAST_CONFIG), "--data", str(DATA_DIR), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "| record-constant | pooled |" in run.stdout
    return pd.read_csv(out / COMPARISON_FILE), out


def test_one_row_per_model_and_cutoff_and_a_pooled_row(compared: tuple[pd.DataFrame, Path]) -> None:
    table, out = compared
    assert list(zip(table["model"], table["cutoff"], strict=True)) == [
        ("stochastic-constant", CUTOFF.isoformat()),
        ("stochastic-constant", "pooled"),
        ("record-constant", CUTOFF.isoformat()),
        ("record-constant", "pooled"),
    ]
    assert (out / COMPARISON_FILE.replace(".csv", ".md")).read_text().startswith("| model | cutoff |")
    # The baseline does not depend on the model: the same scores on every row of a cut-off.
    assert table["baseline_crps"].nunique() == 1


def test_stochastic_rows_are_its_backtest(compared: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    table, _ = compared
    config = load_config(FAST_CONFIG)
    result = bt.run_backtest(config, [CUTOFF], data_dir=DATA_DIR, out_dir=tmp_path)
    row = table[(table["model"] == "stochastic-constant") & (table["cutoff"] == CUTOFF.isoformat())].iloc[0]
    assert row["crps"] == pytest.approx(result.cutoffs[0].scored.model["crps"], rel=1e-12)
    assert row["n_observed"] == result.cutoffs[0].scored.model["n_observed"]


def test_leave_future_out_only_where_the_horizon_is_observed(compared: tuple[pd.DataFrame, Path]) -> None:
    # The fast config's data end at 2024-12-31: the year after 2023-01-01 is observed, the three years are not.
    # The stochastic frontier has no likelihood of the record path, so no LFO term.
    table, _ = compared
    record = table[(table["model"] == "record-constant") & (table["cutoff"] == CUTOFF.isoformat())].iloc[0]
    stochastic = table[(table["model"] == "stochastic-constant") & (table["cutoff"] == CUTOFF.isoformat())].iloc[0]
    assert pd.notna(record["lfo_elpd_1y"]) and pd.isna(record["lfo_elpd_3y"])
    assert pd.isna(stochastic["lfo_elpd_1y"])


def test_the_config_differs_only_in_its_frontier_model() -> None:
    config = load_config(FAST_CONFIG)
    changed = with_frontier(config, "record-hinge")
    assert changed.fit.frontier.growth == "hinge" and changed.sampler == config.sampler
    assert changed.model_dump(exclude={"fit"}) == config.model_dump(exclude={"fit"})


def test_unknown_model_is_one_line_exit_2(tmp_path: Path) -> None:
    run = CliRunner().invoke(
        app, ["compare", "--cutoff", "2024-01-01", "--model", "record-cubic", "--out", str(tmp_path)]
    )
    assert run.exit_code == 2
    assert run.stderr.strip().count("\n") == 0 and "expected one of stochastic-constant" in run.stderr


def test_loo_of_each_fit_on_its_own_observations(compared: tuple[pd.DataFrame, Path]) -> None:
    # PSIS-LOO is of each fit on what it saw: spells of the record path for the record process, candidate runs for
    # the stochastic frontier. With one record process there is nothing to rank it against; pooled rows have none.
    table, _ = compared
    at = table[table["cutoff"] == CUTOFF.isoformat()].set_index("model")
    config = load_config(FAST_CONFIG)
    from forecast.backtest.fit import fit_data_known_at
    from forecast.data import load_bundle

    bundle = load_bundle(DATA_DIR, cutoff=CUTOFF)
    data = fit_data_known_at(bundle.runs, bundle.web_growth, CUTOFF, config.fit.leak_rows)
    assert data.dataset_record is not None
    assert at.loc["record-constant", "loo_observations"] == data.dataset_record.segments
    assert at.loc["stochastic-constant", "loo_observations"] == data.dataset_runs.size
    for model in at.index:
        assert np.isfinite(at.loc[model, "elpd_loo"]) and at.loc[model, "elpd_loo_se"] > 0
        assert 0 < at.loc[model, "p_loo"] < 10 and np.isfinite(at.loc[model, "pareto_k_max"])
    assert at["stacking_weight"].isna().all()
    assert table.loc[table["cutoff"] == "pooled", "elpd_loo"].isna().all()
