"""Compute ahead: the projected frontier compute and what the run costs, the limits that bend it, and Epoch AI's
2030 anchor, for the lead compute-only scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.projection.compute_ahead import EPOCH_2030_FLOP, EPOCH_2030_YEAR
from forecast.projection.memo import BAND_QUANTILES
from forecast.report.figures.style import (
    PUBLISHED_COLOR,
    band_traces,
    make_figure,
    page_layout,
    scatter_trace,
    scenario_color,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.run.result import RunResult

#: Colours of the limit lines, by limit.
LIMIT_COLORS = {"spending": "#1e8449", "power": "#c0392b", "chips": "#6c3483"}

#: Years shown: the recorded runs from 2016 (the first costs) and the projection to 2050 or its horizon.
X_FROM, X_TO = 2016.0, 2050.0

Q10, Q50, Q90 = (BAND_QUANTILES.index(q) for q in (0.1, 0.5, 0.9))


def compute_scenario(result: RunResult) -> Any | None:
    """The first compute-only scenario's result (the compute arm without a mixture), else the first with any."""
    with_arm = [r for r in result.results if r.compute_ahead is not None]
    only = [r for r in with_arm if bool(np.all(~r.historical_arm))]
    return (only or with_arm or [None])[0]


def _recorded(result: RunResult, series: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decimal year, value, subject) of a compute_supply.csv series, or the runs' compute for "compute"."""
    if series == "compute":
        runs = result.bundle.runs
        runs = runs[runs["training_compute_flop"].notna()]
        return runs["decimal_year"].to_numpy(), runs["training_compute_flop"].to_numpy(), runs["model"].to_numpy()
    supply = result.bundle.supply
    if supply is None:
        return np.empty(0), np.empty(0), np.empty(0)
    rows = supply[(supply["series"] == series) & supply["value"].notna()]
    return rows["decimal_year"].to_numpy(), rows["value"].to_numpy(), rows["subject"].to_numpy()


def compute_ahead_chart(result: RunResult) -> go.Figure | None:
    """Two panels: frontier compute (80% band and median, the limits' medians, the recorded runs, the 2e29 FLOP
    anchor) and the cost of that run (80% band, recorded costs). None when no scenario has a compute arm."""
    r = compute_scenario(result)
    if r is None:
        return None
    ahead = r.compute_ahead
    traces: list[dict[str, Any]] = []
    color = scenario_color(0)
    years = ahead.years
    panels = [("x", "y", ahead.compute_band, "FLOP", "compute")]
    if ahead.cost_band is not None:
        panels.append(("x2", "y2", ahead.cost_band, "USD", "training_cost_usd"))
    for xaxis, yaxis, band, unit, recorded in panels:
        label = "compute" if unit == "FLOP" else "cost"
        for trace in band_traces(
            years,
            band[:, Q10],
            band[:, Q90],
            name=f"{r.name}: {label}, 80%",
            color=color,
            alpha=0.25,
            group=label,
            visible=True,
            hover_unit=unit,
        ):
            traces.append(trace | {"xaxis": xaxis, "yaxis": yaxis})
        traces.append(
            scatter_trace(
                x=years,
                y=band[:, Q50],
                mode="lines",
                line={"color": color, "width": 2},
                name=f"{r.name}: median {label}",
                xaxis=xaxis,
                yaxis=yaxis,
                hovertemplate=f"%{{x:.0f}}: median %{{y:.3g}} {unit}<extra></extra>",
            )
        )
        x, y, subject = _recorded(result, recorded)
        traces.append(
            scatter_trace(
                x=x,
                y=y,
                mode="markers",
                marker={"color": "#222222", "size": 6, "opacity": 0.7},
                name=f"recorded runs ({label})",
                customdata=subject,
                xaxis=xaxis,
                yaxis=yaxis,
                hovertemplate=f"<b>%{{customdata}}</b><br>%{{x:.2f}}: %{{y:.3g}} {unit}<extra></extra>",
            )
        )
    for name, band in ahead.limit_bands.items():
        traces.append(
            scatter_trace(
                x=years,
                y=band[:, Q50],
                mode="lines",
                line={"color": LIMIT_COLORS.get(name, "#555"), "dash": "dash"},
                name=f"{name} limit (median)",
                hovertemplate=f"{name} limit %{{x:.0f}}: %{{y:.3g}} FLOP<extra></extra>",
            )
        )
    traces.append(
        scatter_trace(
            x=[EPOCH_2030_YEAR],
            y=[EPOCH_2030_FLOP],
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": PUBLISHED_COLOR},
            name="Epoch AI: 2e29 FLOP feasible by 2030",
            hovertemplate="Sevilla et al. 2024: 2e29 FLOP runs likely feasible by 2030<extra></extra>",
        )
    )
    x_range = [X_FROM, float(min(years[-1], X_TO))]
    layout = page_layout(
        f"Compute ahead ({r.name}): frontier compute, its limits, and what the run costs",
        "Bands: 80% of compute-arm paths; dashed: median of each limit; diamond: Epoch AI's 2030 anchor; costs in "
        "2023 dollars (amortised hardware and energy).",
        height=560,
    )
    layout |= {
        "yaxis": {"type": "log", "title": {"text": "Training compute of the largest run (FLOP)"}},
        "yaxis2": {"type": "log", "title": {"text": "Cost of that run (USD)"}},
        "xaxis": {"title": {"text": "Year"}, "range": x_range},
        "xaxis2": {"title": {"text": "Year"}, "range": x_range},
    }
    subplots = {"rows": 1, "cols": 2, "horizontal_spacing": 0.12} if ahead.cost_band is not None else None
    return make_figure(traces, layout, subplots)
