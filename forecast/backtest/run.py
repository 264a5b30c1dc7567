"""The backtest of the frontier dataset forecast: refit with what was known at each cut-off, forecast the record
monthly for three years, and score that forecast, and the paper-style baseline's, against the runs published after.

Steps per cut-off c: the fit (`forecast.backtest.fit`), the predictive paths of the record (`.predictive`), the
observed record points (`.record`) and their scores (`.scoring`); the results (`.result`) are written by
`.outputs` and read on the console and the HTML page (`.report`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.backtest.fit import CutoffFit, Progress, fit_at_cutoff
from forecast.backtest.outputs import DEFAULT_OUT, HTML_FILE, SCORES_FILE, earlier_outputs, write_outputs
from forecast.backtest.predictive import baseline_paths, model_paths, quantile_table, record_process_paths
from forecast.backtest.record import monthly_dates, observed_record, observed_runs, runs_with_tokens
from forecast.backtest.result import BacktestResult, CutoffResult, Scored
from forecast.backtest.scoring import point_scores, summarize
from forecast.config import Config
from forecast.data import load_training_runs
from forecast.errors import InputError
from forecast.model.record import record_data_after
from forecast.model.record_paths import RecordFrontier, future_log_likelihood, log_mean_exp, record_frontier
from forecast.model.trend import frontier_log10
from forecast.projection.demand import log10_chinchilla_tokens
from forecast.units import decimal_year

#: Posterior parameters the backtest reads: the dataset frontier and its noise, and the compute frontier.
DRAWN_PARAMETERS = ("dataset_level", "dataset_growth", "dataset_noise_sd", "compute_level", "compute_growth")
#: Posterior quantiles reported per parameter (median and the central 90% interval).
SUMMARY_QUANTILES = (0.05, 0.5, 0.95)


def _posterior_draws(idata: xr.DataTree, name: str) -> np.ndarray:
    return np.asarray(idata.posterior[name].values, dtype=float).reshape(-1)


def _summary(values: np.ndarray) -> dict[str, float]:
    q05, q50, q95 = np.quantile(values, SUMMARY_QUANTILES)
    return {"median": float(q50), "q05": float(q05), "q95": float(q95)}


#: Leave-future-out horizons, years: the record path in (c, c + h] is scored by the fit at c.
LFO_HORIZONS_YEARS = (1.0, 3.0)

ForecastPaths = Callable[[float, np.ndarray, float, np.random.Generator], np.ndarray]


def forecast_paths_of(fit: CutoffFit, draws: dict[str, np.ndarray]) -> ForecastPaths:
    """The predictive record paths of a fit: simulated from the record process when the fit is one, else the
    stochastic frontier's mapping (`forecast.backtest.predictive`)."""
    if "dataset_record_scale" in fit.idata.posterior and fit.data.dataset_record is not None:
        frontier = record_frontier_of(fit)
        return lambda cutoff_year, years, record, rng: record_process_paths(frontier, cutoff_year, years, record, rng)
    return lambda cutoff_year, years, record, rng: model_paths(
        draws["dataset_level"], draws["dataset_growth"], draws["dataset_noise_sd"], cutoff_year, years, record, rng
    )


def record_frontier_of(fit: CutoffFit) -> RecordFrontier:
    posterior = {name: np.asarray(fit.idata.posterior[name].values) for name in fit.idata.posterior.data_vars}
    return record_frontier(posterior, fit.data.dataset_record)  # type: ignore[arg-type]


def leave_future_out(
    fit: CutoffFit, runs: pd.DataFrame, cutoff: dt.date, observed_to: dt.date, seed: int
) -> dict[str, float | None]:
    """log predictive density of the record path after the cut-off, per horizon (None without a record process or
    when the horizon is not yet observed): exact LFO with a refit at each cut-off (Bürkner, Gabry & Vehtari 2020)."""
    out: dict[str, float | None] = {f"lfo_elpd_{int(h)}y": None for h in LFO_HORIZONS_YEARS}
    if "dataset_record_scale" not in fit.idata.posterior or fit.data.dataset_record is None:
        return out
    frontier = record_frontier_of(fit)
    known = fit.data.dataset_record
    start = float(decimal_year(pd.Timestamp(cutoff))[0])
    last = float(decimal_year(pd.Timestamp(observed_to))[0])
    record_c = float(max(known.start_log10, *known.event_log10)) if known.event_log10.size else known.start_log10
    for h in LFO_HORIZONS_YEARS:
        if start + h > last + 1e-9:
            continue
        future = record_data_after(runs, start, record_c, start + h)
        rng = np.random.default_rng(np.random.SeedSequence([seed, cutoff.toordinal(), int(h)]))
        out[f"lfo_elpd_{int(h)}y"] = log_mean_exp(
            future_log_likelihood(frontier, frontier.draws["dataset_record_scale"], future, rng)
        )
    return out


def score_against(
    forecast: ForecastPaths,
    draws_n: int,
    history: pd.DataFrame,
    later: pd.DataFrame,
    cutoff: dt.date,
    seed: int,
    leaks_set_record: bool,
) -> tuple[Scored, np.ndarray, np.ndarray]:
    """Score model and baseline predictive paths at the observed record points; also return the monthly paths."""
    record = observed_record(history, later, cutoff, leaks_set_record)
    cutoff_year = float(decimal_year(pd.Timestamp(cutoff))[0])
    months = decimal_year(monthly_dates(cutoff))
    point_years = decimal_year(record.points["date"]) if len(record.points) else np.zeros(0)
    years = np.concatenate([months, point_years])
    # The same random streams for every definition of the record (common random numbers).
    model_stream, baseline_stream = np.random.SeedSequence([seed, cutoff.toordinal()]).spawn(2)
    model = forecast(cutoff_year, years, record.log10_at_cutoff, np.random.default_rng(model_stream))
    base = baseline_paths(record.log10_at_cutoff, cutoff_year, years, draws_n, np.random.default_rng(baseline_stream))
    n_months = months.size
    y = record.points["log10_record"].to_numpy(dtype=float)
    points = record.points.copy()
    summaries = {}
    for prefix, paths in (("model", model), ("baseline", base)):
        scores = point_scores(paths[:, n_months:], y)
        scores["y"] = y
        summaries[prefix] = summarize(scores)
        for column in scores.columns.drop("y"):
            points[f"{prefix}_{column}"] = scores[column].to_numpy()
    scored = Scored(record, points, summaries["model"], summaries["baseline"])
    return scored, model[:, :n_months], base[:, :n_months]


def backtest_cutoff(
    config: Config,
    cutoff: dt.date,
    data_dir: Path,
    later: pd.DataFrame,
    use_cache: bool = True,
    progress: Progress | None = None,
    observed_to: dt.date | None = None,
) -> CutoffResult:
    """Fit at one cut-off, forecast the record monthly for three years and score it against `later` runs
    (observed up to `observed_to`, the config's data cut-off unless given)."""
    started = time.perf_counter()
    fit = fit_at_cutoff(config, data_dir, cutoff, use_cache=use_cache, progress=progress)
    if progress and fit.diagnostics.problems():
        progress(
            f"WARNING: cut-off {cutoff}: sampling did not converge: {'; '.join(fit.diagnostics.problems())} "
            f"(reported in {SCORES_FILE} and {HTML_FILE})"
        )
    history = runs_with_tokens(load_training_runs(Path(data_dir), cutoff=cutoff))
    draws = {name: _posterior_draws(fit.idata, name) for name in DRAWN_PARAMETERS if name in fit.idata.posterior}
    forecast = forecast_paths_of(fit, draws)
    n = draws["dataset_level"].size
    scored, model_months, base_months = score_against(forecast, n, history, later, cutoff, config.seed, False)
    sensitivity, _, _ = score_against(forecast, n, history, later, cutoff, config.seed, True)
    runs = load_training_runs(Path(data_dir))
    scored.model.update(leave_future_out(fit, runs, cutoff, observed_to or config.data.cutoff, config.seed))
    dates = monthly_dates(cutoff)
    cutoff_year = float(decimal_year(pd.Timestamp(cutoff))[0])
    dataset_at_cutoff = frontier_log10(cutoff_year, draws["dataset_level"], draws["dataset_growth"])
    compute_at_cutoff = frontier_log10(cutoff_year, draws["compute_level"], draws["compute_growth"])
    return CutoffResult(
        cutoff=cutoff,
        fit=fit,
        forecast=quantile_table(dates, model_months),
        baseline_forecast=quantile_table(dates, base_months),
        scored=scored,
        sensitivity=sensitivity,
        history=history,
        later=later,
        posterior_summary={
            "dataset_growth_oom_per_year": _summary(draws["dataset_growth"]),
            "dataset_frontier_log10_at_cutoff": _summary(dataset_at_cutoff),
            **({"dataset_noise_sd_oom": _summary(draws["dataset_noise_sd"])} if "dataset_noise_sd" in draws else {}),
            **(
                {"dataset_record_scale_oom": _summary(_posterior_draws(fit.idata, "dataset_record_scale"))}
                if "dataset_record_scale" in fit.idata.posterior
                else {}
            ),
            "compute_growth_oom_per_year": _summary(draws["compute_growth"]),
            "compute_chinchilla_tokens_log10_at_cutoff": _summary(log10_chinchilla_tokens(compute_at_cutoff)),
        },
        seconds=round(time.perf_counter() - started, 3),
    )


def run_backtest(
    config: Config,
    cutoffs: Sequence[dt.date],
    data_dir: Path = Path("data"),
    observed: Path | None = None,
    out_dir: Path | None = DEFAULT_OUT,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest at every cut-off and write the outputs atomically into `out_dir` (None: write nothing).

    Inputs are all checked (data provenance, the observed file, every cut-off's record) before any sampling."""
    from forecast.data.provenance import verify
    from forecast.hashing import package_versions
    from forecast.run.folders import staged_output

    started = time.perf_counter()
    cutoffs = sorted(set(cutoffs))
    if not cutoffs:
        raise InputError("--cutoff: expected at least one date as YYYY-MM-DD")
    verify(Path(data_dir))
    later, source = observed_runs(data_dir, observed)
    all_runs = runs_with_tokens(load_training_runs(Path(data_dir)))
    for cutoff in cutoffs:  # fail early on a cut-off with no record, before any fit
        observed_record(all_runs, later.iloc[:0], cutoff)
    results = [backtest_cutoff(config, c, data_dir, later, use_cache=use_cache, progress=progress) for c in cutoffs]
    result = BacktestResult(config=config, cutoffs=results, observed_source=source)
    result.metadata = {
        "seed": config.seed,
        "sampler": config.sampler.model_dump(mode="json"),
        "fit": config.fit.model_dump(mode="json"),
        "config_description": config.description or "",
        "versions": package_versions(),
        "data_dir": str(data_dir),
    }
    result.seconds = round(time.perf_counter() - started, 3)
    if out_dir is not None:
        with staged_output(Path(out_dir), replaces=earlier_outputs(Path(out_dir))) as staging:
            write_outputs(result, staging)
        result.seconds = round(time.perf_counter() - started, 3)
    return result
