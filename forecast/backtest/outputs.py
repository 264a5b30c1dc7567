"""The files a backtest writes: per cut-off the forecast tables, the scored points and scores.json; for several
cut-offs one subfolder each and the pooled scores.json on top; and the HTML page (`forecast.backtest.report`).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.predictive import BASELINE_TEXT, mapping_text
from forecast.backtest.report import render_html
from forecast.backtest.result import BacktestResult, CutoffResult, realized_growth
from forecast.backtest.scoring import QUANTILES, SCORE_KEYS

DEFAULT_OUT = Path("reports/backtest")
FORECAST_FILE = "frontier_forecast.csv"
BASELINE_FILE = "baseline_forecast.csv"
POINTS_FILE = "observed_points.csv"
SCORES_FILE = "scores.json"
HTML_FILE = "backtest.html"
#: Significant digits of the numbers in the CSV files.
CSV_FLOAT_FORMAT = "%.6g"
#: Decimal places of the scores in scores.json.
SCORE_DIGITS = 4

SCALE_TEXT = "log10 tokens: CRPS in OOM (lower is better); log score = log density per OOM (higher is better)"


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


def _rounded(scores: dict[str, Any], digits: int = SCORE_DIGITS) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in scores.items()}


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
        "mapping": mapping_text(result.frontier_likelihood),
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
        "mapping": mapping_text(result.config.fit.frontier.likelihood),
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
    options = {"index": False, "float_format": CSV_FLOAT_FORMAT, "lineterminator": "\n"}
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
