"""Backtests of the frontier dataset forecast: refit with what was known at a cut-off, score what came after.

`forecast backtest` runs `run_backtest` (`forecast.backtest.run`). The method is described where it is done: the
fit at a cut-off in `.fit`, the observed record in `.record`, the predictive paths of the model and the baseline
in `.predictive`, the scores in `.scoring`, the written files in `.outputs` and the page in `.report`. This module
only re-exports the names the command line and the tests use.
"""

from __future__ import annotations

from forecast.backtest.fit import config_at_cutoff
from forecast.backtest.outputs import BASELINE_FILE, FORECAST_FILE, HTML_FILE, POINTS_FILE, SCORES_FILE
from forecast.backtest.predictive import baseline_paths, model_paths
from forecast.backtest.record import (
    horizon_end,
    load_observed,
    monthly_dates,
    observed_record,
    parse_cutoffs,
    runs_with_tokens,
)
from forecast.backtest.report import console_summary
from forecast.backtest.result import BacktestResult
from forecast.backtest.run import run_backtest

__all__ = [
    "BASELINE_FILE",
    "FORECAST_FILE",
    "HTML_FILE",
    "POINTS_FILE",
    "SCORES_FILE",
    "BacktestResult",
    "baseline_paths",
    "config_at_cutoff",
    "console_summary",
    "horizon_end",
    "load_observed",
    "model_paths",
    "monthly_dates",
    "observed_record",
    "parse_cutoffs",
    "run_backtest",
    "runs_with_tokens",
]
