"""What a backtest produced: each cut-off's fit, forecast tables and scored points, and the pooled scores.

Rolling origin: several cut-offs give one result each plus pooled scores (points pooled across cut-offs; the
same later run can be scored from several origins, so pooled points are not independent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forecast.backtest.fit import CutoffFit
from forecast.backtest.record import Record, horizon_end
from forecast.backtest.scoring import QUANTILES, summarize
from forecast.config import Config


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

    @property
    def frontier_likelihood(self) -> str:
        """'record' when the fit is a record process, else 'stochastic'."""
        return "record" if "dataset_record_scale" in self.fit.idata.posterior else "stochastic"


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


def realized_growth(result: CutoffResult) -> float | None:
    """Growth of the observed record from the cut-off to the last observed point, OOM/yr."""
    points = result.scored.points
    if points.empty or float(points["lead_years"].iloc[-1]) <= 0:
        return None
    rise = float(points["log10_record"].iloc[-1]) - result.scored.record.log10_at_cutoff
    return rise / float(points["lead_years"].iloc[-1])
