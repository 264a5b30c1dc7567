"""Backtests of the frontier dataset forecast: refit with what was known at a cut-off, score what came after.

For each cut-off date c:

1. **Fit with only what was known then.** Training runs published on or before c (`load_bundle(cutoff=c)`), and
   rows of `web_growth.csv` dated on or before c for the internet-adoption block. The dataset and compute
   frontiers are fitted exactly as in a forecast run (`forecast.model.frontier`, the config's priors and sampler). The
   AI-share block, when the model has one, is left out: it shares no parameter with the frontiers, so it cannot
   change the dataset forecast. Few runs before early cut-offs carry a token count (two before 2021: GPT-3 and
   mT5); the fit still runs, its priors carry it, and the number of runs used is reported.
2. **Forecast the record.** The quantity forecast and scored is the *record*: the largest dataset recorded so
   far, R(t) = max{tokens of runs published on or before t}. The model's frontier f(t) = level + growth·(t −
   2024) is an envelope line (the largest dataset achievable at t; runs sit below it by a shortfall), so it is
   mapped to the record as follows, per posterior draw s, in log10 tokens:

       R_s(t) = max( R(c),  max(f_s(c), f_s(t)) + ε_s ),   ε_s ~ Normal(0, σ_ε,s),   t ≥ c,

   where R(c) is the record at the cut-off (observed and known at c), f_s(t) + ε_s is the frontier line plus its
   fitted noise σ_ε (`dataset_noise_sd`, the error of a figure above the frontier), drawn once per path so that
   paths are coherent, and max(f(c), f(t)) keeps a path flat if a draw's growth is negative. Every path is
   therefore monotone non-decreasing and never below the known record, like the record itself; the predictive
   has an atom at R(c) (no new record yet) where f + ε is below it. This is the simple mapping "frontier +
   noise, maxed with the known record": it does not model how often frontier runs are published (the record
   lags the envelope between releases), which a record-process model would (see the report's interpretation).
3. **Score.** An observed point is the record R(t) at each distinct publication date t in (c, c + 3 years] of
   the runs with a token count (from `data/` or `--observed`; the record at the cut-off always comes from
   `data/`, what was known then, and `--observed` rows on or before the cut-off are ignored). Scores are on
   log10 tokens (sizes span orders of magnitude; see `forecast.backtest.scoring`): coverage of the central 80% and 90%
   bands (quantiles of the predictive at t, ends included), CRPS (OOM, lower is better) and the log score (log
   density per OOM of a Gaussian KDE of the predictive, bandwidth floored at `LOG_SCORE_MIN_BANDWIDTH_OOM`;
   higher is better).
4. **Baseline** in the style of Villalobos et al. 2024 ([P2] §2.4): a fixed growth of 0.38 OOM/yr from a fixed
   anchor, here the observed record at the cut-off, log10 R_b(t) = log10 R(c) + G·(t − c), with the paper's
   growth uncertainty G ~ Normal(0.38, 0.055) OOM/yr (METHOD_NOTES A.12; clipped at 0, so never shrinking) for
   its bands. A point forecast would have coverage 0 and a degenerate log score, so the probabilistic version is
   used. The anchor is known, so the baseline's only uncertainty is the growth rate.

**Leaks.** Leaked figures (GPT-4 13T, PaLM 2 3.6T) never set the record, by default: the model treats them as
unreliable (large extra noise; never record-setters in `frontier_candidates`, as in the reference table's
`is_frontier` rule), and the scored record follows the same rule. `leaks_set_record=True` counts them; both are
written to `scores.json` (the alternative as a sensitivity). An `--observed` file may carry `flags` or
`tokens_basis` columns; a row whose flags include `leak` or whose basis is `leak` is a leak, all other extra
columns are ignored.

Rolling origin: several cut-offs give one subfolder each plus pooled scores (points pooled across cut-offs; the
same later run can be scored from several origins, so pooled points are not independent).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.backtest.scoring import crps_from_samples, interval_coverage, log_score_from_samples
from forecast.config import Config
from forecast.data import (
    EARLIEST_RUN_DATE,
    MAX_RUN_TOKENS,
    is_leak,
    load_bundle,
    load_training_runs,
    read_csv_records,
    show_value,
)
from forecast.errors import DataError, InputError
from forecast.model.frontier import FitData
from forecast.model.trend import ANCHOR_YEAR
from forecast.projection.demand import log10_chinchilla_tokens
from forecast.units import decimal_year

Progress = Callable[[str], None]

#: Forecast horizon after each cut-off (the issue: monthly from the cut-off to three years after it).
HORIZON_MONTHS = 36
#: Quantiles written to frontier_forecast.csv (and the bands scored: 80% = q10–q90, 90% = q05–q95).
QUANTILES: dict[str, float] = {"q05": 0.05, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q95": 0.95}
BANDS: dict[str, tuple[str, str]] = {"coverage80": ("q10", "q90"), "coverage90": ("q05", "q95")}

#: Baseline growth, OOM/yr: [P2] §2.4, 0.38 OOM/yr, bootstrapped 95% CI 0.27–0.48; as a normal, sd 0.055
#: ([C2] bootstrap, METHOD_NOTES A.12).
BASELINE_GROWTH_OOM = 0.38
BASELINE_GROWTH_SD_OOM = 0.055

#: Smallest KDE bandwidth of the log score, OOM. Token counts are reported to one or two significant figures
#: ("15T" vs "15.6T" differ by 0.017 OOM), so densities sharper than ~0.02 OOM are not resolved by the data.
LOG_SCORE_MIN_BANDWIDTH_OOM = 0.02

#: Columns an --observed CSV must have (others are ignored, apart from leak markers; see module docstring).
OBSERVED_COLUMNS: tuple[str, ...] = ("model", "publication_date", "dataset_tokens")

DEFAULT_OUT = Path("reports/backtest")
FORECAST_FILE = "frontier_forecast.csv"
BASELINE_FILE = "baseline_forecast.csv"
POINTS_FILE = "observed_points.csv"
SCORES_FILE = "scores.json"
HTML_FILE = "backtest.html"
TEMPLATE_NAME = "backtest.html.j2"

#: Part of the posterior cache key: these fits differ from a forecast run's fit with the same data.cutoff
#: (web_growth rows are cut too, and the AI-share block is left out), so they must never share an entry.
FIT_TAG = "backtest-fit-v1: runs and web_growth rows dated <= cutoff; AI-share block left out"

MAPPING = (
    "record R_s(t) = max(R(c), max(f_s(c), f_s(t)) + eps_s), eps_s ~ Normal(0, dataset_noise_sd_s) once per "
    "posterior draw; f_s = dataset frontier; R(c) = observed record at the cut-off (log10 tokens)"
)
BASELINE_TEXT = (
    f"Villalobos et al. 2024 style: log10 R(c) + G*(t - c), anchor R(c) = observed record at the cut-off, "
    f"G ~ Normal({BASELINE_GROWTH_OOM}, {BASELINE_GROWTH_SD_OOM}) OOM/yr clipped at 0"
)
SCALE_TEXT = "log10 tokens: CRPS in OOM (lower is better); log score = log density per OOM (higher is better)"


# ----------------------------------------------------------------------------------------------------
# Inputs: cut-offs and observed runs
# ----------------------------------------------------------------------------------------------------


def parse_cutoffs(values: Iterable[str | dt.date], today: dt.date | None = None) -> list[dt.date]:
    """Cut-off dates from repeated and/or comma-separated YYYY-MM-DD values; sorted, duplicates removed."""
    today = today or dt.date.today()
    out: set[dt.date] = set()
    for value in values:
        parts = [value] if isinstance(value, dt.date) else [p.strip() for p in str(value).split(",") if p.strip()]
        for part in parts:
            if isinstance(part, dt.date):
                date = part
            else:
                try:
                    date = dt.date.fromisoformat(part)
                except ValueError:
                    raise InputError(f"--cutoff: expected a date as YYYY-MM-DD, got {show_value(part)}") from None
                if len(part) != 10:
                    raise InputError(f"--cutoff: expected a date as YYYY-MM-DD, got {show_value(part)}")
            if date > today:
                raise InputError(f"--cutoff: expected a date not after today ({today.isoformat()}), got {date}")
            if date < EARLIEST_RUN_DATE:
                raise InputError(
                    f"--cutoff: expected a date on or after {EARLIEST_RUN_DATE.isoformat()} (the study period), "
                    f"got {date}"
                )
            out.add(date)
    if not out:
        raise InputError("--cutoff: expected at least one date as YYYY-MM-DD")
    return sorted(out)


def runs_with_tokens(runs: pd.DataFrame) -> pd.DataFrame:
    """Training runs (a frame of `forecast.data.load_training_runs`) as observations: model, date, tokens, leak."""
    has_tokens = runs["dataset_tokens"].notna() & (runs["dataset_tokens"] > 0)
    leak = is_leak(runs)
    kept = runs.loc[has_tokens]
    return pd.DataFrame(
        {
            "model": kept["model"].astype(str).to_numpy(),
            "publication_date": pd.to_datetime(kept["publication_date"]).to_numpy(),
            "dataset_tokens": kept["dataset_tokens"].to_numpy(dtype=float),
            "leak": leak.loc[has_tokens].to_numpy(dtype=bool),
        }
    )


def load_observed(path: Path, today: dt.date | None = None) -> pd.DataFrame:
    """Runs to score against from a CSV with at least model, publication_date, dataset_tokens.

    Extra columns are ignored (except leak markers), rows without tokens are skipped, and the first bad cell is
    a one-line `DataError` naming file, line, column and what was expected, as for the files in `data/`.
    """
    path = Path(path)
    name = path.name
    today = today or dt.date.today()
    header, header_line, records, lines = read_csv_records(path, OBSERVED_COLUMNS)
    where_header = f"line {header_line} (header)"
    for column in OBSERVED_COLUMNS:
        count = header.count(column)
        if count == 0:
            raise DataError(
                f"{name}: {where_header}, column '{column}': missing column; expected at least the columns "
                f"{', '.join(OBSERVED_COLUMNS)} (others are ignored)"
            )
        if count > 1:
            raise DataError(f"{name}: {where_header}, column '{column}': column appears twice; expected it once")
    position = {column: header.index(column) for column in OBSERVED_COLUMNS}
    extra = {c: header.index(c) for c in ("flags", "tokens_basis") if header.count(c) == 1}
    rows: list[dict[str, Any]] = []
    for record, line in zip(records, lines, strict=True):
        cells = {column: record[index].strip() for column, index in position.items()}

        def fail(column: str, expected: str, cells: dict[str, str] = cells, line: int = line) -> DataError:
            value = cells[column] or None
            return DataError(f"{name}: line {line}, column '{column}': {expected}, got {show_value(value)}")

        if not cells["model"]:
            raise fail("model", "expected a model name (this column is required)")
        try:
            date = dt.date.fromisoformat(cells["publication_date"])
            if len(cells["publication_date"]) != 10:
                raise ValueError
        except ValueError:
            raise fail("publication_date", "expected a date as YYYY-MM-DD") from None
        if date < EARLIEST_RUN_DATE:
            raise fail("publication_date", f"expected a date on or after {EARLIEST_RUN_DATE.isoformat()}")
        if date > today:
            raise fail("publication_date", f"expected a date not after today ({today.isoformat()})")
        if not cells["dataset_tokens"]:
            continue  # no token count: nothing to score
        try:
            tokens = float(cells["dataset_tokens"])
        except ValueError:
            tokens = math.nan
        if not (math.isfinite(tokens) and tokens > 0):
            raise fail("dataset_tokens", "expected a positive number of tokens (or an empty cell)")
        if tokens > MAX_RUN_TOKENS:
            raise fail("dataset_tokens", f"expected at most {MAX_RUN_TOKENS:.0e} tokens".replace("e+", "e"))
        row = {"model": cells["model"], "publication_date": pd.Timestamp(date), "dataset_tokens": tokens}
        row.update({column: record[index].strip() for column, index in extra.items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*OBSERVED_COLUMNS, *extra])
    frame["publication_date"] = pd.to_datetime(frame["publication_date"])
    frame["dataset_tokens"] = frame["dataset_tokens"].astype(float)
    frame["leak"] = is_leak(frame)
    return frame[["model", "publication_date", "dataset_tokens", "leak"]].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------
# The record: observed points
# ----------------------------------------------------------------------------------------------------


def horizon_end(cutoff: dt.date) -> pd.Timestamp:
    return pd.Timestamp(cutoff) + pd.DateOffset(months=HORIZON_MONTHS)


def monthly_dates(cutoff: dt.date) -> pd.DatetimeIndex:
    """The cut-off and every month after it, to three years after it (37 dates)."""
    start = pd.Timestamp(cutoff)
    return pd.DatetimeIndex([start + pd.DateOffset(months=k) for k in range(HORIZON_MONTHS + 1)])


@dataclass(frozen=True)
class Record:
    """The record known at a cut-off and the observed record after it."""

    log10_at_cutoff: float
    holder: str  # model that set the record at the cut-off
    holder_date: pd.Timestamp
    points: pd.DataFrame  # date, models, log10_run_max, log10_record, new_record, lead_years


def observed_record(
    history: pd.DataFrame, later: pd.DataFrame, cutoff: dt.date, leaks_set_record: bool = False
) -> Record:
    """The record at the cut-off (from `history`, runs known then) and at each later publication date.

    `history` and `later` are frames of `runs_with_tokens` / `load_observed`. Rows of `history` after the cut-off
    and rows of `later` on or before it are ignored; so are `later` rows after the three-year horizon.
    """
    cut = pd.Timestamp(cutoff)
    setters = history[(history["publication_date"] <= cut) & (leaks_set_record | ~history["leak"])]
    if setters.empty:
        raise InputError(
            f"--cutoff {cutoff.isoformat()}: no run with a dataset token count published on or before it"
            + ("" if leaks_set_record else " (leaked figures do not set the record)")
            + "; expected a later cut-off"
        )
    best = setters.loc[setters["dataset_tokens"].idxmax()]
    record_c = float(np.log10(best["dataset_tokens"]))
    after = later[
        (later["publication_date"] > cut)
        & (later["publication_date"] <= horizon_end(cutoff))
        & (leaks_set_record | ~later["leak"])
    ]
    rows = []
    record = record_c
    for date, group in after.sort_values("publication_date", kind="stable").groupby("publication_date", sort=True):
        run_max = float(np.log10(group["dataset_tokens"].max()))
        new = run_max > record
        record = max(record, run_max)
        rows.append(
            {
                "date": pd.Timestamp(date),
                "models": "; ".join(group["model"].astype(str)),
                "log10_run_max": run_max,
                "log10_record": record,
                "new_record": bool(new),
            }
        )
    points = pd.DataFrame(rows, columns=["date", "models", "log10_run_max", "log10_record", "new_record"])
    points["lead_years"] = decimal_year(points["date"]) - decimal_year(cut)[0] if len(points) else []
    return Record(record_c, str(best["model"]), pd.Timestamp(best["publication_date"]), points)


# ----------------------------------------------------------------------------------------------------
# Predictive paths
# ----------------------------------------------------------------------------------------------------


def model_paths(
    level: np.ndarray,
    growth: np.ndarray,
    noise_sd: np.ndarray,
    cutoff_year: float,
    years: np.ndarray,
    record_log10: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Predictive paths of the record, log10 tokens, shape (draws, len(years)); see the module docstring."""
    level, growth, noise_sd = (np.asarray(a, dtype=float).ravel() for a in (level, growth, noise_sd))
    years = np.asarray(years, dtype=float)
    if np.any(years < cutoff_year - 1e-9):
        raise ValueError("model_paths: forecast dates must be on or after the cut-off")
    eps = rng.standard_normal(level.size) * noise_sd
    at_cutoff = level + growth * (cutoff_year - ANCHOR_YEAR)
    line = level[:, None] + growth[:, None] * (years[None, :] - ANCHOR_YEAR)
    return np.maximum(np.maximum(at_cutoff[:, None], line) + eps[:, None], record_log10)


def baseline_paths(
    record_log10: float, cutoff_year: float, years: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Villalobos-style baseline paths, log10 tokens, shape (draws, len(years)); see the module docstring."""
    growth = np.clip(rng.normal(BASELINE_GROWTH_OOM, BASELINE_GROWTH_SD_OOM, draws), 0.0, None)
    elapsed = np.asarray(years, dtype=float) - cutoff_year
    return record_log10 + growth[:, None] * elapsed[None, :]


def quantile_table(dates: pd.DatetimeIndex, paths: np.ndarray) -> pd.DataFrame:
    """Quantiles of the paths at each date, in tokens: date, q05, q10, q50, q90, q95."""
    q = np.quantile(paths, list(QUANTILES.values()), axis=0)
    table = pd.DataFrame({"date": pd.DatetimeIndex(dates).strftime("%Y-%m-%d")})
    for name, row in zip(QUANTILES, q, strict=True):
        table[name] = 10.0**row
    return table


# ----------------------------------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------------------------------

SCORE_KEYS = ("coverage80", "coverage90", "crps", "log_score")


def point_scores(paths: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """Per observed point: predictive quantiles (log10), inside80/90, above/below the 80% band, CRPS, log score."""
    y = np.asarray(observed, dtype=float)
    samples = np.asarray(paths, dtype=float).T  # (points, draws)
    out = pd.DataFrame(index=np.arange(y.size))
    if y.size == 0:
        for column in (*QUANTILES, "inside80", "inside90", "above80", "below80", "crps", "log_score"):
            out[column] = pd.Series(dtype=float)
        return out
    q = np.quantile(samples, list(QUANTILES.values()), axis=1)
    for name, row in zip(QUANTILES, q, strict=True):
        out[name] = row
    for key, (lower, upper) in BANDS.items():
        out[key.replace("coverage", "inside")] = (y >= out[lower]) & (y <= out[upper])
    out["above80"] = y > out["q90"]
    out["below80"] = y < out["q10"]
    out["crps"] = np.atleast_1d(crps_from_samples(samples, y))
    out["log_score"] = np.atleast_1d(log_score_from_samples(samples, y, LOG_SCORE_MIN_BANDWIDTH_OOM))
    return out


def summarize(points: pd.DataFrame) -> dict[str, Any]:
    """n_observed, coverage80, coverage90, crps, log_score (None when there are no points), misses by side."""
    n = len(points)
    if n == 0:
        return {"n_observed": 0, **dict.fromkeys(SCORE_KEYS), "n_above80": 0, "n_below80": 0}
    return {
        "n_observed": n,
        "coverage80": interval_coverage(points["q10"], points["q90"], points["y"]),
        "coverage90": interval_coverage(points["q05"], points["q95"], points["y"]),
        "crps": float(points["crps"].mean()),
        "log_score": float(points["log_score"].mean()),
        "n_above80": int(points["above80"].sum()),
        "n_below80": int(points["below80"].sum()),
    }


# ----------------------------------------------------------------------------------------------------
# Fitting at a cut-off
# ----------------------------------------------------------------------------------------------------


def config_at_cutoff(config: Config, cutoff: dt.date) -> Config:
    """The config with data.cutoff replaced (so the fit hash, and the cache key, change with the cut-off)."""
    return config.model_copy(update={"data": config.data.model_copy(update={"cutoff": cutoff})})


def fit_data_known_at(runs: pd.DataFrame, web_growth: pd.DataFrame, cutoff: dt.date, leak_rows: str) -> FitData:
    """The model's fit data from runs and web_growth rows dated on or before the cut-off (see module docstring).

    The adoption series are cut after selection (the AI-share block, left out, needs its series whole)."""
    from forecast.model.frontier import fit_data_from_frames

    cut = pd.Timestamp(cutoff)
    data = fit_data_from_frames(runs[runs["publication_date"] <= cut], web_growth, leak_rows=leak_rows)
    known = data.adoption_year <= decimal_year(cut)[0]
    changes: dict[str, Any] = {
        "adoption_year": data.adoption_year[known],
        "adoption_share": data.adoption_share[known],
    }
    if "ai_share" in {f.name for f in dataclasses.fields(data)}:
        changes["ai_share"] = None
    return dataclasses.replace(data, **changes)


@dataclass
class CutoffFit:
    """The posterior fitted with what was known at one cut-off."""

    cutoff: dt.date
    data: FitData
    idata: xr.DataTree
    diagnostics: Any  # forecast.model.sample.Diagnostics
    key: str
    reused: bool
    seconds: float


def fit_at_cutoff(
    config: Config, data_dir: Path, cutoff: dt.date, use_cache: bool = True, progress: Progress | None = None
) -> CutoffFit:
    """Fit (or reuse from the cache) the model on runs and web_growth rows dated on or before the cut-off."""
    from forecast import cache
    from forecast.hashing import canonical_json, sha256_text
    from forecast.model.fit import fit_hash, fit_priors
    from forecast.model.frontier import build_model
    from forecast.model.sample import diagnose, sample_posterior

    started = time.perf_counter()
    cfg = config_at_cutoff(config, cutoff)
    bundle = load_bundle(Path(data_dir), cutoff=cutoff)
    data = fit_data_known_at(bundle.runs, bundle.web_growth, cutoff, cfg.fit.leak_rows)
    key = sha256_text(canonical_json({"fit_hash": fit_hash(cfg, bundle), "backtest": FIT_TAG}))
    idata = cache.load(key, progress) if use_cache else None
    reused = idata is not None
    if idata is None:
        if progress:
            progress(
                f"cut-off {cutoff}: fitting on {data.dataset_runs.size} runs with token counts, "
                f"{data.compute_runs.size} with compute, {data.adoption_year.size} adoption points"
            )
        idata = sample_posterior(build_model(data, fit_priors(cfg)), cfg.sampler, cfg.seed)
        if use_cache:
            cache.store(key, idata)
    elif progress:
        progress(f"cut-off {cutoff}: fit reused from the cache")
    diagnostics = diagnose(idata)
    if progress and diagnostics.problems():
        progress(
            f"WARNING: cut-off {cutoff}: sampling did not converge: {'; '.join(diagnostics.problems())} "
            f"(reported in {SCORES_FILE} and {HTML_FILE})"
        )
    return CutoffFit(cutoff, data, idata, diagnostics, key, reused, round(time.perf_counter() - started, 3))


# ----------------------------------------------------------------------------------------------------
# One cut-off, many cut-offs
# ----------------------------------------------------------------------------------------------------


@dataclass
class Scored:
    """Model and baseline scored against one definition of the record."""

    record: Record
    points: pd.DataFrame  # record points with model_* and baseline_* score columns
    model: dict[str, Any]
    baseline: dict[str, Any]


@dataclass
class CutoffResult:
    """Everything a backtest at one cut-off produced."""

    cutoff: dt.date
    fit: CutoffFit
    forecast: pd.DataFrame  # date, q05..q95 in tokens (the model)
    baseline_forecast: pd.DataFrame
    scored: Scored  # leaks never set the record (the default)
    sensitivity: Scored  # leaks set the record
    history: pd.DataFrame  # runs with tokens known at the cut-off
    later: pd.DataFrame  # runs with tokens after it (the observed source)
    posterior_summary: dict[str, dict[str, float]]
    seconds: float

    @property
    def end(self) -> pd.Timestamp:
        return horizon_end(self.cutoff)


def _posterior_draws(idata: xr.DataTree, name: str) -> np.ndarray:
    return np.asarray(idata.posterior[name].values, dtype=float).reshape(-1)


def _summary(values: np.ndarray) -> dict[str, float]:
    q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    return {"median": float(q50), "q05": float(q05), "q95": float(q95)}


def score_against(
    fit_draws: dict[str, np.ndarray],
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
    model = model_paths(
        fit_draws["dataset_level"],
        fit_draws["dataset_growth"],
        fit_draws["dataset_noise_sd"],
        cutoff_year,
        years,
        record.log10_at_cutoff,
        np.random.default_rng(model_stream),
    )
    base = baseline_paths(
        record.log10_at_cutoff,
        cutoff_year,
        years,
        fit_draws["dataset_level"].size,
        np.random.default_rng(baseline_stream),
    )
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
) -> CutoffResult:
    """Fit at one cut-off, forecast the record monthly for three years and score it against `later` runs."""
    started = time.perf_counter()
    fit = fit_at_cutoff(config, data_dir, cutoff, use_cache=use_cache, progress=progress)
    history = runs_with_tokens(load_training_runs(Path(data_dir), cutoff=cutoff))
    draws = {
        name: _posterior_draws(fit.idata, name)
        for name in ("dataset_level", "dataset_growth", "dataset_noise_sd", "compute_level", "compute_growth")
    }
    scored, model_months, base_months = score_against(draws, history, later, cutoff, config.seed, False)
    sensitivity, _, _ = score_against(draws, history, later, cutoff, config.seed, True)
    dates = monthly_dates(cutoff)
    cutoff_year = float(decimal_year(pd.Timestamp(cutoff))[0])
    level_at_cutoff = draws["dataset_level"] + draws["dataset_growth"] * (cutoff_year - ANCHOR_YEAR)
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
            "dataset_frontier_log10_at_cutoff": _summary(level_at_cutoff),
            "dataset_noise_sd_oom": _summary(draws["dataset_noise_sd"]),
            "compute_growth_oom_per_year": _summary(draws["compute_growth"]),
            "compute_chinchilla_tokens_log10_at_cutoff": _summary(
                log10_chinchilla_tokens(draws["compute_level"] + draws["compute_growth"] * (cutoff_year - ANCHOR_YEAR))
            ),
        },
        seconds=round(time.perf_counter() - started, 3),
    )


def pool(scored: Sequence[Scored], which: str) -> dict[str, Any]:
    """Scores over the points of every cut-off (point-weighted), for 'model' or 'baseline'."""
    frames = [s.points for s in scored if len(s.points)]
    if not frames:
        return summarize(pd.DataFrame())
    points = pd.concat(frames, ignore_index=True)
    table = pd.DataFrame(
        {
            **{name: points[f"{which}_{name}"] for name in (*QUANTILES, "crps", "log_score", "above80", "below80")},
            "y": points["log10_record"],
        }
    )
    return summarize(table)


@dataclass
class BacktestResult:
    """A backtest at one or several cut-offs."""

    config: Config
    cutoffs: list[CutoffResult]
    observed_source: str
    seconds: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def pooled(self) -> dict[str, dict[str, Any]]:
        scored = [c.scored for c in self.cutoffs]
        return {"model": pool(scored, "model"), "baseline": pool(scored, "baseline")}

    @property
    def pooled_sensitivity(self) -> dict[str, dict[str, Any]]:
        scored = [c.sensitivity for c in self.cutoffs]
        return {"model": pool(scored, "model"), "baseline": pool(scored, "baseline")}


def observed_runs(data_dir: Path, observed: Path | None) -> tuple[pd.DataFrame, str]:
    """The runs to score against: from `observed` when given, else every run in `data_dir` (and a label)."""
    if observed is not None:
        return load_observed(Path(observed)), str(observed)
    return runs_with_tokens(load_training_runs(Path(data_dir))), f"{Path(data_dir) / 'training_runs.csv'}"


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
    from forecast.run.outputs import staged_output

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


# ----------------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rounded(scores: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in scores.items()}


def realized_growth(result: CutoffResult) -> float | None:
    """Growth of the observed record from the cut-off to the last observed point, OOM/yr."""
    points = result.scored.points
    if points.empty or float(points["lead_years"].iloc[-1]) <= 0:
        return None
    rise = float(points["log10_record"].iloc[-1]) - result.scored.record.log10_at_cutoff
    return rise / float(points["lead_years"].iloc[-1])


def cutoff_scores(result: CutoffResult) -> dict[str, Any]:
    """scores.json of one cut-off: the model's scores at the top level, the baseline's beside them."""
    fit = result.fit
    record = result.scored.record
    model = _rounded(result.scored.model)
    return {
        "cutoff": result.cutoff.isoformat(),
        "horizon_end": result.end.strftime("%Y-%m-%d"),
        **{k: model[k] for k in ("n_observed", *SCORE_KEYS)},
        "model": model,
        "baseline": _rounded(result.scored.baseline),
        "scale": SCALE_TEXT,
        "record_at_cutoff": {
            "tokens": 10.0**record.log10_at_cutoff,
            "model": record.holder,
            "date": record.holder_date.strftime("%Y-%m-%d"),
        },
        "realized_record_growth_oom_per_year": realized_growth(result),
        "fit": {
            "n_dataset_runs": int(fit.data.dataset_runs.size),
            "dataset_runs": [str(m) for m in fit.data.dataset_runs],
            "n_compute_runs": int(fit.data.compute_runs.size),
            "n_adoption_points": int(fit.data.adoption_year.size),
            "posterior": {k: _rounded(v) for k, v in result.posterior_summary.items()},
            "diagnostics": {**fit.diagnostics.as_dict(), "converged": fit.diagnostics.converged},
            "convergence_problems": fit.diagnostics.problems(),
            "fit_key": fit.key,
            "reused_from_cache": fit.reused,
            "seconds": fit.seconds,
        },
        "mapping": MAPPING,
        "baseline_definition": BASELINE_TEXT,
        "observed_point": "record (running max of recorded datasets; leaks do not set it) at each distinct "
        "publication date after the cut-off, up to the horizon",
        "sensitivity": {
            "leaks_set_record": {
                "model": _rounded(result.sensitivity.model),
                "baseline": _rounded(result.sensitivity.baseline),
                "record_at_cutoff_tokens": 10.0**result.sensitivity.record.log10_at_cutoff,
            }
        },
        "seconds": result.seconds,
    }


def pooled_scores(result: BacktestResult) -> dict[str, Any]:
    """The top-level scores.json of a rolling-origin backtest: pooled scores plus each cut-off's."""
    pooled = {k: _rounded(v) for k, v in result.pooled.items()}
    sens = {k: _rounded(v) for k, v in result.pooled_sensitivity.items()}
    return {
        "cutoffs": [c.cutoff.isoformat() for c in result.cutoffs],
        "pooled": True,
        **{k: pooled["model"][k] for k in ("n_observed", *SCORE_KEYS)},
        "model": pooled["model"],
        "baseline": pooled["baseline"],
        "scale": SCALE_TEXT,
        "pooling": "points of every cut-off together (coverage = share of all points; CRPS and log score = mean "
        "over all points); the same later run can be scored from several cut-offs",
        "per_cutoff": {
            c.cutoff.isoformat(): {
                "n_observed": c.scored.model["n_observed"],
                "model": _rounded(c.scored.model),
                "baseline": _rounded(c.scored.baseline),
            }
            for c in result.cutoffs
        },
        "mapping": MAPPING,
        "baseline_definition": BASELINE_TEXT,
        "sensitivity": {"leaks_set_record": sens},
        "observed_source": result.observed_source,
        "metadata": result.metadata,
        "seconds": result.seconds,
    }


def _points_csv(result: CutoffResult) -> pd.DataFrame:
    points = result.scored.points.copy()
    out = pd.DataFrame(
        {
            "date": points["date"].dt.strftime("%Y-%m-%d") if len(points) else [],
            "models": points["models"],
            "lead_years": points["lead_years"],
            "record_tokens": 10.0 ** points["log10_record"],
            "new_record": points["new_record"],
        }
    )
    for prefix in ("model", "baseline"):
        for name in QUANTILES:
            out[f"{prefix}_{name}"] = 10.0 ** points[f"{prefix}_{name}"]
        for name in ("inside80", "inside90", "crps", "log_score"):
            out[f"{prefix}_{name}"] = points[f"{prefix}_{name}"]
    return out


def write_cutoff(result: CutoffResult, folder: Path, metadata: dict[str, Any], source: str) -> None:
    from forecast.run.outputs import write_json

    folder.mkdir(parents=True, exist_ok=True)
    options = {"index": False, "float_format": "%.6g", "lineterminator": "\n"}
    result.forecast.to_csv(folder / FORECAST_FILE, **options)
    result.baseline_forecast.to_csv(folder / BASELINE_FILE, **options)
    _points_csv(result).to_csv(folder / POINTS_FILE, **options)
    write_json(folder / SCORES_FILE, _clean({**cutoff_scores(result), "observed_source": source, "metadata": metadata}))


def earlier_outputs(folder: Path) -> list[str]:
    """What an earlier backtest may have left in `folder` that this one need not write: the one-cut-off files and
    the per-cut-off folders (named by date, with their scores). Those this backtest does not write are removed,
    so `backtest.html` and the pooled scores never sit beside another backtest's cut-offs."""
    names = [FORECAST_FILE, BASELINE_FILE, POINTS_FILE]
    if folder.is_dir():
        for item in sorted(folder.iterdir()):
            if item.is_dir() and (item / SCORES_FILE).is_file() and _is_iso_date(item.name):
                names.append(item.name)
    return names


def _is_iso_date(name: str) -> bool:
    try:
        return dt.date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def write_outputs(result: BacktestResult, folder: Path) -> None:
    """One cut-off: files at the top of `folder`; several: one subfolder each, pooled scores.json on top."""
    from forecast.run.outputs import write_json

    folder = Path(folder)
    if len(result.cutoffs) == 1:
        write_cutoff(result.cutoffs[0], folder, result.metadata, result.observed_source)
    else:
        for cutoff in result.cutoffs:
            write_cutoff(cutoff, folder / cutoff.cutoff.isoformat(), result.metadata, result.observed_source)
        write_json(folder / SCORES_FILE, _clean(pooled_scores(result)))
    (folder / HTML_FILE).write_text(render_html(result), encoding="utf-8")


# ----------------------------------------------------------------------------------------------------
# Console
# ----------------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def console_summary(result: BacktestResult) -> str:
    """A small table per cut-off and the pooled line (model vs baseline)."""
    header = (
        f"{'cut-off':<10}  {'fit runs':>8}  {'record at cut-off':>17}  {'n':>3}  {'cov80 model/base':>16}  "
        f"{'cov90 model/base':>16}  {'CRPS model/base':>15}  {'log score model/base':>20}"
    )
    lines = [header]
    for c in result.cutoffs:
        m, b = c.scored.model, c.scored.baseline
        runs = f"{c.fit.data.dataset_runs.size}/{c.fit.data.compute_runs.size}"
        record = f"{10.0**c.scored.record.log10_at_cutoff:.2e}"
        lines.append(
            f"{c.cutoff.isoformat():<10}  {runs:>8}  {record:>17}  {m['n_observed']:>3}  "
            f"{_fmt(m['coverage80']) + ' / ' + _fmt(b['coverage80']):>16}  "
            f"{_fmt(m['coverage90']) + ' / ' + _fmt(b['coverage90']):>16}  "
            f"{_fmt(m['crps']) + ' / ' + _fmt(b['crps']):>15}  "
            f"{_fmt(m['log_score']) + ' / ' + _fmt(b['log_score']):>20}"
        )
    lines.append("(fit runs = runs with token counts / with compute used by the fit; scores on log10 tokens)")
    pooled = result.pooled
    m, b = pooled["model"], pooled["baseline"]
    label = "pooled" if len(result.cutoffs) > 1 else "overall"
    lines.append(
        f"{label}: coverage80 {_fmt(m['coverage80'])} (model) vs {_fmt(b['coverage80'])} (baseline); "
        f"CRPS {_fmt(m['crps'])} vs {_fmt(b['crps'])} OOM; n = {m['n_observed']} points"
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------------


def _scores_row(label: str, scores: dict[str, Any]) -> dict[str, str]:
    from forecast.report.page import format_percent

    return {
        "label": label,
        "n": str(scores["n_observed"]),
        "coverage80": format_percent(scores["coverage80"]) if scores["coverage80"] is not None else "—",
        "coverage90": format_percent(scores["coverage90"]) if scores["coverage90"] is not None else "—",
        "crps": _fmt(scores["crps"], 3),
        "log_score": _fmt(scores["log_score"], 2),
        "misses": f"{scores['n_above80']} above / {scores['n_below80']} below" if scores["n_observed"] else "—",
    }


def figure(result: CutoffResult) -> Any:
    """Forecast bands (model and baseline), observed record points, and the history known at the cut-off."""
    import plotly.graph_objects as go

    fig = go.Figure()
    dates = pd.to_datetime(result.forecast["date"])
    for table, name, color, fill in (
        (result.baseline_forecast, "Baseline (0.38 OOM/yr)", "#b8860b", "rgba(184,134,11,0.12)"),
        (result.forecast, "Model", "#1f77b4", "rgba(31,119,180,0.18)"),
    ):
        for lower, upper, opacity in (("q05", "q95", 0.6), ("q10", "q90", 1.0)):
            fig.add_trace(
                go.Scatter(x=dates, y=table[lower], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
            )
            fig.add_trace(
                go.Scatter(
                    x=dates,
                    y=table[upper],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=fill,
                    opacity=opacity,
                    name=f"{name} {'90' if lower == 'q05' else '80'}% band",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=table["q50"],
                mode="lines",
                line={"color": color, "dash": "dash" if "Baseline" in name else "solid"},
                name=f"{name} median",
            )
        )
    history = result.history
    start = pd.Timestamp(result.cutoff) - pd.DateOffset(years=3)
    shown = history[history["publication_date"] >= start]
    fig.add_trace(
        go.Scatter(
            x=shown["publication_date"],
            y=shown["dataset_tokens"],
            mode="markers",
            marker={"color": "#9aa0a6", "size": 6, "symbol": np.where(shown["leak"], "x", "circle")},
            name="Runs known at the cut-off (x = leak)",
            text=shown["model"],
            hovertemplate="%{text}<br>%{x|%Y-%m-%d}: %{y:.3s} tokens<extra></extra>",
        )
    )
    later = result.later[
        (result.later["publication_date"] > pd.Timestamp(result.cutoff))
        & (result.later["publication_date"] <= result.end)
    ]
    fig.add_trace(
        go.Scatter(
            x=later["publication_date"],
            y=later["dataset_tokens"],
            mode="markers",
            marker={"color": "#c5a3d9", "size": 6, "symbol": np.where(later["leak"], "x", "circle")},
            name="Runs after the cut-off (x = leak)",
            text=later["model"],
            hovertemplate="%{text}<br>%{x|%Y-%m-%d}: %{y:.3s} tokens<extra></extra>",
        )
    )
    points = result.scored.points
    record = result.scored.record
    fig.add_trace(
        go.Scatter(
            x=[record.holder_date, pd.Timestamp(result.cutoff), *points["date"]],
            y=10.0 ** np.array([record.log10_at_cutoff, record.log10_at_cutoff, *points["log10_record"]]),
            mode="lines",
            line={"color": "#1d1d1f", "shape": "hv", "width": 1},
            name="Observed record (step)",
            hoverinfo="skip",
        )
    )
    inside = points["model_inside80"].astype(bool) if len(points) else pd.Series(dtype=bool)
    fig.add_trace(
        go.Scatter(
            x=points["date"],
            y=10.0 ** points["log10_record"],
            mode="markers",
            marker={
                "color": np.where(inside, "#1d1d1f", "#d62728"),
                "size": 8,
                "line": {"color": "#fff", "width": 1},
            },
            name="Observed record points (red = outside the model's 80% band)",
            text=points["models"],
            hovertemplate="%{x|%Y-%m-%d}: record %{y:.3s} tokens<br>published: %{text}<extra></extra>",
        )
    )
    fig.add_shape(
        type="line",
        x0=pd.Timestamp(result.cutoff),
        x1=pd.Timestamp(result.cutoff),
        y0=0,
        y1=1,
        yref="paper",
        line={"color": "#5f6368", "dash": "dot"},
    )
    fig.update_layout(
        height=460,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        yaxis={"type": "log", "title": "dataset tokens", "exponentformat": "power"},
        xaxis={"title": "publication date"},
        legend={"font": {"size": 11}},
        hovermode="closest",
        template="plotly_white",
    )
    return fig


def band_width(c: CutoffResult) -> float:
    """Width of the model's 80% band at the horizon, OOM."""
    last = c.forecast.iloc[-1]
    return float(np.log10(last["q90"]) - np.log10(last["q10"]))


def _coverage_text(c: CutoffResult) -> str:
    m, b = c.scored.model, c.scored.baseline
    return (
        f"{c.cutoff.isoformat()}: {_fmt_share(m['coverage80'])} / {_fmt_share(b['coverage80'])}, "
        f"CRPS {_fmt(m['crps'], 3)} / {_fmt(b['crps'], 3)} (n = {m['n_observed']})"
    )


def _interval(summary: dict[str, float]) -> str:
    return f"{summary['median']:.2f} [{summary['q05']:.2f}, {summary['q95']:.2f}]"


def _narrow_text(c: CutoffResult) -> str:
    """What happened at a cut-off whose 80% band missed: where the fit stood and where the record went."""
    m = c.scored.model
    points = c.scored.points
    last = points.iloc[-1]
    frontier = c.posterior_summary["dataset_frontier_log10_at_cutoff"]
    chinchilla = c.posterior_summary["compute_chinchilla_tokens_log10_at_cutoff"]
    growth = c.posterior_summary["dataset_growth_oom_per_year"]
    real = realized_growth(c)
    return (
        f"At {c.cutoff.isoformat()}, {m['n_above80']} of {m['n_observed']} points are above the 80% band and "
        f"{m['n_below80']} below it. The frontier fitted on {c.fit.data.dataset_runs.size} runs stood at "
        f"10^{_interval(frontier)} tokens at the cut-off and grew {_interval(growth)} OOM/yr, from a known "
        f"record of 10^{c.scored.record.log10_at_cutoff:.2f}; the record then reached "
        f"10^{last['log10_record']:.2f} by {last['date']:%Y-%m-%d}"
        + (f" ({real:.2f} OOM/yr)" if real is not None else "")
        + f". For comparison, the compute frontier fitted at the same cut-off implied Chinchilla-optimal data of "
        f"10^{_interval(chinchilla)} tokens at the cut-off."
    )


def interpretation(result: BacktestResult) -> list[str]:
    """Plain-language reading of the scores, written from the numbers (whatever they are)."""
    pooled = result.pooled
    m, b = pooled["model"], pooled["baseline"]
    n = m["n_observed"]
    if not n:
        return ["No run with a token count was published after the cut-off(s) within the horizon: nothing to score."]
    scored = [c for c in result.cutoffs if c.scored.model["n_observed"]]
    paragraphs = [
        f"Over {n} observed record points the model's central 80% band held {m['coverage80']:.0%} of them "
        f"(nominal 80%) and the baseline's {b['coverage80']:.0%}; mean CRPS {m['crps']:.3f} vs {b['crps']:.3f} OOM "
        f"({'the model is better' if m['crps'] < b['crps'] else 'the baseline is better'}), mean log score "
        f"{m['log_score']:.2f} vs {b['log_score']:.2f}. The points are few and strongly dependent (the record is a "
        "running maximum: consecutive points share their value, so one miss repeats until the next record), so a "
        "coverage of a few dozen points is a rough check, not a precise estimate."
    ]
    if len(scored) > 1:
        paragraphs.append(
            "By cut-off (80% coverage model / baseline, CRPS model / baseline, OOM): "
            + "; ".join(_coverage_text(c) for c in scored)
            + "."
        )
    wide = [c for c in scored if c.scored.model["coverage80"] > 0.9]
    narrow = [c for c in scored if c.scored.model["coverage80"] < 0.7]
    if wide:
        paragraphs.append(
            "Too wide at "
            + ", ".join(c.cutoff.isoformat() for c in wide)
            + ": with few frontier runs before "
            + ("these cut-offs" if len(wide) > 1 else "this cut-off")
            + " the growth rate is barely identified (fitted growth, OOM/yr, median [90%]: "
            + "; ".join(
                f"{c.cutoff.isoformat()} {_interval(c.posterior_summary['dataset_growth_oom_per_year'])} on "
                f"{c.fit.data.dataset_runs.size} runs, the record then grew {_fmt(realized_growth(c))}"
                for c in wide
            )
            + "); that uncertainty times a lead of up to three years widens the 80% band to "
            + "; ".join(f"{band_width(c):.1f} OOM at {c.end:%Y-%m-%d}" for c in wide)
            + ". Covering the outcome this way is honest about what the data said then, but CRPS charges for the "
            "width."
        )
    if narrow:
        paragraphs.append(" ".join(_narrow_text(c) for c in narrow))
        above = sum(c.scored.model["n_above80"] for c in narrow)
        below = sum(c.scored.model["n_below80"] for c in narrow)
        if above >= below:
            paragraphs.append(
                "Why the band missed high: the only spread around the fitted frontier line is the noise σ_ε, "
                "fitted as the error of a single reported figure, plus the growth uncertainty; nothing in the "
                "model lets the frontier itself move off a straight line, and in the recorded runs disclosed "
                "sizes grew in steps (a plateau, then a jump as open-weight developers disclosed runs as large as"
                " the leaked closed ones). The record disclosed at the cut-off can also lag the true frontier: "
                "leaked figures (GPT-4 13T in 2023) were already near the sizes disclosed later, but the fit "
                "downweights them and they do not set the scored record. Model changes that would address it: (1)"
                " a time-varying frontier (local linear trend: a random-walk growth rate or level innovations), "
                "whose innovation variance widens the band with the lead time; (2) information on undisclosed "
                "frontier runs: treat compute-based estimates of closed runs as censored ('at least') "
                "observations of the dataset frontier, or combine with the compute arm (Chinchilla-optimal data "
                "from the compute frontier, as the forecast's mixture scenarios do)."
            )
        else:
            paragraphs.append(
                "Why the band missed low: the record stayed flat while the frontier line kept rising; the frontier "
                "is an envelope, reached only when a frontier run is published, and between releases the record "
                "lags it. Model change that would address it: forecast the record process itself — arrivals of "
                "frontier-candidate runs (a Poisson process with a fitted, growing rate), each f(t) − u + ε with "
                "the fitted shortfall u — and take the running maximum of the simulated runs."
            )
    if not wide and not narrow:
        paragraphs.append("Coverage is within 70–90% at every cut-off.")
    elif wide and narrow:
        paragraphs.append(
            "The pooled coverage averages bands that are too wide at early cut-offs with bands that miss at "
            "later ones; it should not be read as calibration."
        )
    sens = result.pooled_sensitivity
    paragraphs.append(
        f"Sensitivity: if leaked figures (GPT-4 13T, PaLM 2 3.6T) set the record, pooled 80% coverage is "
        f"{_fmt_share(sens['model']['coverage80'])} (model) vs {_fmt_share(sens['baseline']['coverage80'])} "
        f"(baseline), CRPS {_fmt(sens['model']['crps'], 3)} vs {_fmt(sens['baseline']['crps'], 3)} OOM."
    )
    return paragraphs


def _fmt_share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def render_html(result: BacktestResult) -> str:
    """The self-contained backtest page (plotly.js inline), every cut-off and the pooled scores."""
    import jinja2
    import plotly.offline

    from forecast.report.page import format_tokens

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.backtest", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    config = {"responsive": True, "displaylogo": False}
    sections = []
    for c in result.cutoffs:
        fit = c.fit
        d = fit.diagnostics
        points = c.scored.points
        sections.append(
            {
                "id": f"cutoff-{c.cutoff.isoformat()}",
                "cutoff": c.cutoff.isoformat(),
                "end": c.end.strftime("%Y-%m-%d"),
                "figure": figure(c).to_html(
                    full_html=False, include_plotlyjs=False, div_id=f"fig-{c.cutoff.isoformat()}", config=config
                ),
                "rows": [_scores_row("Model", c.scored.model), _scores_row("Baseline", c.scored.baseline)],
                "n_dataset_runs": int(fit.data.dataset_runs.size),
                "dataset_runs": ", ".join(str(m) for m in fit.data.dataset_runs),
                "n_compute_runs": int(fit.data.compute_runs.size),
                "n_adoption": int(fit.data.adoption_year.size),
                "record": format_tokens(10.0**c.scored.record.log10_at_cutoff),
                "record_holder": c.scored.record.holder,
                "growth": c.posterior_summary["dataset_growth_oom_per_year"],
                "frontier": c.posterior_summary["dataset_frontier_log10_at_cutoff"],
                "noise": c.posterior_summary["dataset_noise_sd_oom"],
                "realized": realized_growth(c),
                "divergences": d.divergences,
                "max_r_hat": f"{d.max_r_hat:.3f}",
                "min_ess_bulk": f"{d.min_ess_bulk:.0f}",
                "converged": d.converged,
                "problems": d.problems(),
                "reused": fit.reused,
                "seconds": c.seconds,
                "points": [
                    {
                        "date": row.date.strftime("%Y-%m-%d"),
                        "models": row.models,
                        "lead": f"{row.lead_years:.2f}",
                        "record": format_tokens(10.0**row.log10_record),
                        "new": row.new_record,
                        "band80": f"{format_tokens(10.0**row.model_q10)} – {format_tokens(10.0**row.model_q90)}",
                        "inside80": bool(row.model_inside80),
                        "crps": f"{row.model_crps:.3f}",
                        "base_band80": (
                            f"{format_tokens(10.0**row.baseline_q10)} – {format_tokens(10.0**row.baseline_q90)}"
                        ),
                        "base_inside80": bool(row.baseline_inside80),
                        "base_crps": f"{row.baseline_crps:.3f}",
                    }
                    for row in points.itertuples(index=False)
                ],
            }
        )
    pooled = result.pooled
    context = {
        "title": "Backtest: the frontier dataset forecast against later runs",
        "cutoffs": [c.cutoff.isoformat() for c in result.cutoffs],
        "pooled_rows": [_scores_row("Model", pooled["model"]), _scores_row("Baseline", pooled["baseline"])],
        "several": len(result.cutoffs) > 1,
        "sections": sections,
        "interpretation": interpretation(result),
        "mapping": MAPPING,
        "baseline": BASELINE_TEXT,
        "min_bandwidth": LOG_SCORE_MIN_BANDWIDTH_OOM,
        "observed_source": result.observed_source,
        "metadata": result.metadata,
        "seconds": result.seconds,
        "plotlyjs": plotly.offline.get_plotlyjs(),
        "n_figures": len(sections),
    }
    return env.get_template(TEMPLATE_NAME).render(**context)
