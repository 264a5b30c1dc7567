"""Backtest: cut-offs, the observed record, predictive paths, the --observed file, and a fast run on the real data.

The real-data run fits the default preset's model at the four cut-offs of the issue with a reduced sampler
(tests/fixtures/backtest/fast.yml: 2 chains × 300 draws, 300 tuning), once per session; the CLI test reuses those
fits from the session's private posterior cache.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import backtest as bt
from forecast.cli.app import app
from forecast.config import load_config
from forecast.errors import DataError, InputError
from forecast.units import decimal_year

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
FIXTURES = REPO / "tests" / "fixtures" / "backtest"
FAST_CONFIG = FIXTURES / "fast.yml"
#: The rolling fits run on one worker under `--dist loadgroup` (the Quickstart's test command).
pytestmark = pytest.mark.xdist_group("backtest")
CUTOFFS = [dt.date(2021, 1, 1), dt.date(2022, 1, 1), dt.date(2023, 1, 1), dt.date(2024, 1, 1)]
FORECAST_COLUMNS = ["date", "q05", "q10", "q50", "q90", "q95"]


def _runs(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": [r[0] for r in rows],
            "publication_date": pd.to_datetime([r[1] for r in rows]),
            "dataset_tokens": [r[2] for r in rows],
            "leak": [r[3] for r in rows],
        }
    )


# ---------------------------------------------------------------------------------------------------
# Cut-offs
# ---------------------------------------------------------------------------------------------------


def test_parse_cutoffs_repeated_and_comma_separated() -> None:
    dates = bt.parse_cutoffs(["2023-01-01,2021-01-01", "2024-01-01", " 2022-01-01 ", "2021-01-01"])
    assert dates == CUTOFFS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2021-13-01", "expected a date as YYYY-MM-DD, got '2021-13-01'"),
        ("2021", "expected a date as YYYY-MM-DD"),
        ("2009-12-31", "on or after 2010-01-01"),
        ("2999-01-01", "not after today"),
        ("", "expected at least one date"),
        (",", "expected at least one date"),
    ],
)
def test_parse_cutoffs_rejects_bad_dates(value: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        bt.parse_cutoffs([value])


def test_monthly_dates_span_three_years() -> None:
    dates = bt.monthly_dates(dt.date(2021, 1, 31))
    assert len(dates) == 37
    assert dates[0] == pd.Timestamp("2021-01-31")
    assert dates[1] == pd.Timestamp("2021-02-28")
    assert dates[-1] == pd.Timestamp("2024-01-31") == bt.horizon_end(dt.date(2021, 1, 31))


# ---------------------------------------------------------------------------------------------------
# The observed record
# ---------------------------------------------------------------------------------------------------


def test_observed_record_is_the_running_max_by_date() -> None:
    history = _runs(
        [
            ("A", "2020-03-01", 1e12, False),
            ("Leak", "2020-06-01", 5e12, True),  # a leak never sets the record by default
            ("After", "2021-06-01", 9e12, False),  # in history but after the cut-off: ignored
        ]
    )
    later = _runs(
        [
            ("Before", "2020-12-01", 8e12, False),  # on or before the cut-off: ignored
            ("Small", "2021-02-01", 5e11, False),  # below the record: the record stays
            ("Big", "2021-03-01", 2e12, False),
            ("Same day", "2021-03-01", 3e12, False),  # same date: one point, max of the day
            ("Leak 2", "2021-04-01", 9e12, True),
            ("Smaller", "2021-05-01", 2.5e12, False),
            ("Late", "2024-01-02", 1e14, False),  # after the three-year horizon
        ]
    )
    record = bt.observed_record(history, later, dt.date(2021, 1, 1))
    assert record.log10_at_cutoff == pytest.approx(12.0)
    assert record.holder == "A"
    points = record.points
    assert list(points["date"].dt.strftime("%Y-%m-%d")) == ["2021-02-01", "2021-03-01", "2021-05-01"]
    assert points["models"].iloc[1] == "Big; Same day"
    assert 10 ** points["log10_record"].to_numpy() == pytest.approx([1e12, 3e12, 3e12])
    assert list(points["new_record"]) == [False, True, False]
    assert points["lead_years"].iloc[0] == pytest.approx(31 / 365)

    with_leaks = bt.observed_record(history, later, dt.date(2021, 1, 1), leaks_set_record=True)
    assert 10**with_leaks.log10_at_cutoff == pytest.approx(5e12)
    assert 10 ** with_leaks.points["log10_record"].to_numpy() == pytest.approx([5e12, 5e12, 9e12, 9e12])


def test_observed_record_needs_a_record_at_the_cutoff() -> None:
    history = _runs([("Leak", "2020-06-01", 5e12, True)])
    with pytest.raises(InputError, match="no run with a dataset token count published on or before it"):
        bt.observed_record(history, history.iloc[:0], dt.date(2021, 1, 1))


# ---------------------------------------------------------------------------------------------------
# Predictive paths
# ---------------------------------------------------------------------------------------------------


def test_model_paths_are_monotone_and_floored_at_the_record() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    level = rng.normal(12.8, 0.3, n)
    growth = rng.normal(0.3, 0.3, n)  # some draws shrink: their paths must stay flat, not fall
    noise = np.abs(rng.normal(0.15, 0.05, n))
    years = np.linspace(2021.0, 2024.0, 37)
    paths = bt.model_paths(level, growth, noise, 2021.0, years, 12.4, np.random.default_rng(1))
    assert paths.shape == (n, 37)
    assert np.all(np.diff(paths, axis=1) >= 0)
    assert np.all(paths >= 12.4)
    quantiles = np.quantile(paths, [0.05, 0.1, 0.5, 0.9, 0.95], axis=0)
    assert np.all(np.diff(quantiles, axis=0) >= 0) and np.all(np.diff(quantiles, axis=1) >= 0)


def test_model_paths_without_noise_are_the_frontier_maxed_with_the_record() -> None:
    years = np.array([2022.0, 2023.0, 2024.0, 2025.0])
    paths = bt.model_paths(
        np.array([13.0]), np.array([0.5]), np.array([0.0]), 2022.0, years, 12.2, np.random.default_rng(0)
    )
    # f(t) = 13 + 0.5 (t − 2024): 12.0, 12.5, 13.0, 13.5; floored at the record 12.2.
    assert paths[0] == pytest.approx([12.2, 12.5, 13.0, 13.5])


def test_baseline_paths_grow_from_the_anchor_at_the_papers_rate() -> None:
    years = 2021.0 + np.array([0.0, 1.0, 2.0, 3.0])
    paths = bt.baseline_paths(12.0, 2021.0, years, 40_000, np.random.default_rng(2))
    assert np.all(paths[:, 0] == 12.0)  # a point at the cut-off
    assert np.median(paths[:, 3]) == pytest.approx(12.0 + 3 * 0.38, abs=0.005)
    assert np.std(paths[:, 3]) == pytest.approx(3 * 0.055, rel=0.02)


# ---------------------------------------------------------------------------------------------------
# --observed files
# ---------------------------------------------------------------------------------------------------


def test_load_observed_ignores_extra_columns_and_rows_without_tokens() -> None:
    frame = bt.load_observed(FIXTURES / "observed_good.csv")
    assert list(frame.columns) == ["model", "publication_date", "dataset_tokens", "leak"]
    assert "No tokens" not in set(frame["model"])
    assert len(frame) == 6
    assert frame.set_index("model").loc["Leaked run", "leak"]
    assert not frame.set_index("model").loc["Big run", "leak"]


def test_observed_file_record_points() -> None:
    history = bt.runs_with_tokens(_real_runs())
    record = bt.observed_record(history, bt.load_observed(FIXTURES / "observed_good.csv"), dt.date(2021, 1, 1))
    # At 2021-01-01 the record is mT5-XXL (1e12); the file's later runs: 2e12, (leak skipped) 1.5e12, 3e12.
    assert record.holder == "mT5-XXL"
    assert 10 ** record.points["log10_record"].to_numpy() == pytest.approx([2e12, 2e12, 3e12])


def _real_runs() -> pd.DataFrame:
    from forecast.data import load_training_runs

    return load_training_runs(DATA_DIR)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "observed_bad_date.csv",
            "observed_bad_date.csv: line 3, column 'publication_date': expected a date as YYYY-MM-DD, got 'April 2021'",
        ),
        (
            "observed_bad_tokens.csv",
            "observed_bad_tokens.csv: line 3, column 'dataset_tokens': expected a positive number of tokens "
            "(or an empty cell), got '-3'",
        ),
        (
            "observed_missing_column.csv",
            "observed_missing_column.csv: line 1 (header), column 'publication_date': missing column",
        ),
    ],
)
def test_bad_observed_file_is_one_line_naming_file_line_column(name: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        bt.load_observed(FIXTURES / name)
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_cli_bad_observed_file_exits_2_before_fitting(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--cutoff",
            "2021-01-01",
            "--observed",
            str(FIXTURES / "observed_bad_tokens.csv"),
            "--scenarios",
            str(FAST_CONFIG),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "observed_bad_tokens.csv: line 3, column 'dataset_tokens'" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["2021-02-30", "yesterday"])
def test_cli_bad_cutoff_exits_2(value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--cutoff", value, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: --cutoff: expected a date as YYYY-MM-DD, got '{value}'"]


# ---------------------------------------------------------------------------------------------------
# A fast backtest on the real data (four cut-offs, reduced sampler)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")  # with the xdist group below: fitted once per test run, not per worker
def rolling(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[bt.BacktestResult, Path]:
    config = load_config(FAST_CONFIG)
    out = tmp_path_factory.mktemp("backtest") / "out"
    return bt.run_backtest(config, CUTOFFS, data_dir=DATA_DIR, out_dir=out), out


def test_rolling_writes_one_folder_per_cutoff_and_pooled_scores(rolling: tuple[bt.BacktestResult, Path]) -> None:
    _, out = rolling
    for cutoff in CUTOFFS:
        folder = out / cutoff.isoformat()
        for name in (bt.FORECAST_FILE, bt.SCORES_FILE, bt.POINTS_FILE, bt.BASELINE_FILE):
            assert (folder / name).is_file(), folder / name
    assert (out / bt.SCORES_FILE).is_file()
    assert (out / bt.HTML_FILE).is_file()
    assert not list(out.parent.glob(".forecast-staging-*"))


def test_forecast_csv_is_monthly_ordered_and_monotone(rolling: tuple[bt.BacktestResult, Path]) -> None:
    result, out = rolling
    for c in result.cutoffs:
        table = pd.read_csv(out / c.cutoff.isoformat() / bt.FORECAST_FILE)
        assert list(table.columns) == FORECAST_COLUMNS
        assert len(table) == 37
        assert table["date"].iloc[0] == c.cutoff.isoformat()
        assert pd.to_datetime(table["date"]).tolist() == list(bt.monthly_dates(c.cutoff))
        values = table[FORECAST_COLUMNS[1:]].to_numpy()
        assert np.all(np.diff(values, axis=1) >= 0)  # q05 <= q10 <= ... <= q95
        assert np.all(np.diff(values, axis=0) >= -1e-6 * values[1:])  # non-decreasing over time (csv rounding)
        record = 10**c.scored.record.log10_at_cutoff
        assert values.min() >= record * (1 - 1e-5)  # never below the record known at the cut-off


def test_fits_use_only_what_was_known_at_the_cutoff(rolling: tuple[bt.BacktestResult, Path]) -> None:
    result, _ = rolling
    for c in result.cutoffs:
        year = decimal_year(pd.Timestamp(c.cutoff))[0]
        data = c.fit.data
        assert np.all(data.dataset_year <= year)
        assert np.all(data.compute_year <= year)
        assert np.all(data.adoption_year <= year)
        assert getattr(data, "ai_share", None) is None
    first = result.cutoffs[0].fit.data
    assert sorted(first.dataset_runs) == ["GPT-3 175B (davinci)", "mT5-XXL"]  # priors carry the rest
    keys = {c.fit.key for c in result.cutoffs}
    assert len(keys) == 4  # one cache entry per cut-off


def test_backtest_cache_key_differs_from_a_forecast_run(rolling: tuple[bt.BacktestResult, Path]) -> None:
    from forecast.data import load_bundle
    from forecast.model.fit import fit_hash

    result, _ = rolling
    c = result.cutoffs[0]
    config = bt.config_at_cutoff(result.config, c.cutoff)
    assert c.fit.key != fit_hash(config, load_bundle(DATA_DIR, cutoff=c.cutoff))


def test_backtest_cache_key_follows_the_code_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is derived from the source of the backtest's fit (and what it imports), not from a hand-kept tag."""
    from forecast.backtest import fit
    from forecast.data import load_bundle
    from forecast.hashing import source_hash

    config = bt.config_at_cutoff(load_config(FAST_CONFIG), CUTOFFS[0])
    bundle = load_bundle(DATA_DIR, cutoff=CUTOFFS[0])
    key = fit.cutoff_fit_key(config, bundle)
    assert source_hash("forecast.backtest.fit") != source_hash("forecast.model")  # it covers more than the model
    monkeypatch.setattr(fit, "source_hash", lambda *packages: "an edited backtest fit")
    assert fit.cutoff_fit_key(config, bundle) != key


def test_scores_json_per_cutoff_and_pooled(rolling: tuple[bt.BacktestResult, Path]) -> None:
    result, out = rolling
    total, inside80, crps_sum = 0, 0.0, 0.0
    for c in result.cutoffs:
        scores = json.loads((out / c.cutoff.isoformat() / bt.SCORES_FILE).read_text())
        assert scores["cutoff"] == c.cutoff.isoformat()
        n = scores["n_observed"]
        assert n > 0
        for who in ("model", "baseline"):
            block = scores[who]
            assert block["n_observed"] == n
            assert 0 <= block["coverage80"] <= block["coverage90"] <= 1
            assert block["crps"] > 0
            assert np.isfinite(block["log_score"])
        assert scores["coverage80"] == scores["model"]["coverage80"]
        assert scores["fit"]["n_dataset_runs"] == c.fit.data.dataset_runs.size
        assert scores["record_at_cutoff"]["tokens"] == pytest.approx(10**c.scored.record.log10_at_cutoff)
        points = pd.read_csv(out / c.cutoff.isoformat() / bt.POINTS_FILE)
        assert len(points) == n
        assert np.all(np.diff(points["record_tokens"]) >= 0)
        assert scores["model"]["coverage80"] == pytest.approx(points["model_inside80"].mean(), abs=1e-4)
        total += n
        inside80 += points["model_inside80"].sum()
        crps_sum += points["model_crps"].sum()
    pooled = json.loads((out / bt.SCORES_FILE).read_text())
    assert pooled["cutoffs"] == [c.isoformat() for c in CUTOFFS]
    assert pooled["n_observed"] == total
    assert pooled["coverage80"] == pytest.approx(inside80 / total, abs=1e-4)
    assert pooled["crps"] == pytest.approx(crps_sum / total, abs=1e-4)
    assert set(pooled["baseline"]) >= {"coverage80", "coverage90", "crps", "log_score"}
    assert set(pooled["per_cutoff"]) == {c.isoformat() for c in CUTOFFS}
    assert "leaks_set_record" in pooled["sensitivity"]


def test_html_is_self_contained_with_every_cutoff(rolling: tuple[bt.BacktestResult, Path]) -> None:
    _, out = rolling
    page = (out / bt.HTML_FILE).read_text(encoding="utf-8")
    assert 'data-figures-expected="4"' in page
    assert "<script src=" not in page  # plotly.js inline, works offline
    assert page.count('class="plotly-graph-div"') == 4
    for cutoff in CUTOFFS:
        assert f'id="cutoff-{cutoff.isoformat()}"' in page
    assert 'id="interpretation"' in page


def test_console_summary_has_a_row_per_cutoff_and_the_pooled_line(rolling: tuple[bt.BacktestResult, Path]) -> None:
    result, _ = rolling
    text = bt.console_summary(result)
    for cutoff in CUTOFFS:
        assert cutoff.isoformat() in text
    pooled = text.strip().splitlines()[-1]
    assert re.match(
        r"pooled: coverage80 \d\.\d\d \(model\) vs \d\.\d\d \(baseline\); CRPS \d\.\d\d vs \d\.\d\d OOM", pooled
    )


def test_cli_rolling_backtest_reuses_the_fits(rolling: tuple[bt.BacktestResult, Path], tmp_path: Path) -> None:
    result, _ = rolling
    cli_out = tmp_path / "cli"
    run = CliRunner().invoke(
        app,
        [
            "backtest",
            "--cutoff",
            "2021-01-01,2022-01-01",
            "--cutoff",
            "2023-01-01",
            "--cutoff",
            "2024-01-01",
            "--scenarios",
            str(FAST_CONFIG),
            "--out",
            str(cli_out),
        ],
    )
    assert run.exit_code == 0, run.output
    assert run.stderr.count("fit reused from the cache") == 4
    assert "pooled: coverage80" in run.stdout
    assert json.loads((cli_out / bt.SCORES_FILE).read_text())["crps"] == pytest.approx(
        result.pooled["model"]["crps"], abs=1e-4
    )


def test_observed_file_with_the_data_gives_the_same_scores(
    rolling: tuple[bt.BacktestResult, Path], tmp_path: Path
) -> None:
    result, _ = rolling
    single = bt.run_backtest(
        result.config, [CUTOFFS[-1]], data_dir=DATA_DIR, observed=DATA_DIR / "training_runs.csv", out_dir=tmp_path
    )
    assert single.cutoffs[0].scored.model == result.cutoffs[-1].scored.model
    assert single.cutoffs[0].scored.baseline == result.cutoffs[-1].scored.baseline
    # One cut-off: the files sit at the top of the output folder.
    assert (tmp_path / bt.FORECAST_FILE).is_file() and (tmp_path / bt.SCORES_FILE).is_file()
    assert json.loads((tmp_path / bt.SCORES_FILE).read_text())["cutoff"] == CUTOFFS[-1].isoformat()


def test_fewer_cutoffs_into_the_same_folder_leave_no_earlier_cutoff_behind(
    rolling: tuple[bt.BacktestResult, Path], tmp_path: Path
) -> None:
    """A backtest into the folder of an earlier one replaces all of its outputs: the cut-offs it no longer has
    go (the pooled scores and the page would not include them), the user's own files stay."""
    result, out = rolling
    folder = tmp_path / "out"
    shutil.copytree(out, folder)
    (folder / "notes").mkdir()
    (folder / "notes" / bt.SCORES_FILE).write_text("{}")  # not a date: not a backtest's folder
    (folder / "2020-13-01").mkdir()  # not a real date either
    bt.run_backtest(result.config, CUTOFFS[-2:], data_dir=DATA_DIR, out_dir=folder)
    dated = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name[:2] == "20")
    assert dated == ["2020-13-01", *(c.isoformat() for c in CUTOFFS[-2:])]
    assert json.loads((folder / bt.SCORES_FILE).read_text())["cutoffs"] == [c.isoformat() for c in CUTOFFS[-2:]]
    assert (folder / "notes" / bt.SCORES_FILE).is_file()

    bt.run_backtest(result.config, CUTOFFS[-1:], data_dir=DATA_DIR, out_dir=folder)
    assert not any((folder / c.isoformat()).exists() for c in CUTOFFS)
    assert (folder / bt.FORECAST_FILE).is_file()
    assert json.loads((folder / bt.SCORES_FILE).read_text())["cutoff"] == CUTOFFS[-1].isoformat()

    bt.run_backtest(result.config, CUTOFFS[-2:], data_dir=DATA_DIR, out_dir=folder)
    assert not (folder / bt.FORECAST_FILE).exists()  # the one-cut-off files go when the cut-offs get folders
