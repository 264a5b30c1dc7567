"""How the forecast moved: the exhaustion date that the data known at each vintage would have produced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.data import published
from forecast.report.figures.style import PUBLISHED_COLOR, make_figure, page_layout, scatter_trace, scenario_color
from forecast.units import decimal_year

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.run.result import RunResult


def _finite(values: pd.Series, cap: float) -> np.ndarray:
    """Years with 'after the horizon' (inf) drawn at the horizon: the error bar then reaches the plot's edge."""
    return np.minimum(values.to_numpy(dtype=float), cap)


def vintage_chart(result: RunResult) -> go.Figure | None:
    """Median and 80% interval of the exhaustion date per vintage (x: the data cut-off), for each vintage
    scenario, beside the paper's 2022 and 2024 published dates at their publication dates. None without vintages."""
    table = result.vintages
    if table is None or len(table) == 0:
        return None
    horizon = float(np.max(result.exhaustion["horizon"].values))
    names = list(dict.fromkeys(table["scenario"]))
    traces: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        rows = table[table["scenario"] == name]
        x = decimal_year(pd.to_datetime(rows["vintage"])) + 0.04 * (index - (len(names) - 1) / 2)
        median, low, high = (_finite(rows[k], horizon) for k in ("median", "q10", "q90"))
        traces.append(
            scatter_trace(
                x=x,
                y=median,
                mode="lines+markers",
                line={"color": scenario_color(index), "width": 2},
                marker={"size": 9},
                error_y={"type": "data", "symmetric": False, "array": high - median, "arrayminus": median - low},
                name=f"{name}: median, 80% interval",
                customdata=np.stack([rows["vintage"], low, high, rows["runs_with_tokens"]], axis=1),
                hovertemplate=(
                    f"{name}<br>data to %{{customdata[0]}} (%{{customdata[3]}} runs with tokens)<br>"
                    "median %{y:.1f}, 80% %{customdata[1]:.1f}–%{customdata[2]:.1f}<extra></extra>"
                ),
            )
        )
    for paper in published.PUBLISHED_VINTAGES:
        x = float(decimal_year(pd.Series([pd.Timestamp(paper.published)]))[0])
        low, high = paper.interval
        traces.append(
            scatter_trace(
                x=[x],
                y=[paper.median],
                mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": PUBLISHED_COLOR},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [high - paper.median],
                    "arrayminus": [paper.median - low],
                },
                name=f"{paper.label} ({paper.level})",
                hovertemplate=f"{paper.label}<br>published {paper.published}<br>median {paper.median:g}, "
                f"{paper.level} {low:g}–{high:g}<br>{paper.source}<extra></extra>",
            )
        )
    vintages = decimal_year(pd.to_datetime(table["vintage"]))
    layout = page_layout(
        "How the forecast moved: exhaustion date by data vintage",
        "Each point is the whole forecast re-run with only the data known at that date (refit, projections from "
        "then); diamonds: the paper's published dates, at their publication dates.",
        height=520,
    )
    layout |= {
        "xaxis": {
            "title": {"text": "Data known up to (vintage)"},
            "range": [float(vintages.min()) - 0.5, float(vintages.max()) + 0.5],
        },
        "yaxis": {"title": {"text": "Exhaustion year"}},
    }
    return make_figure(traces, layout)
