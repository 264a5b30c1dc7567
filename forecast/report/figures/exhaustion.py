"""The exhaustion figures: projected frontier datasets against the stock (the fan chart), and the probability
that the stock is used up by each date."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.report.figures.reading import (
    SUPPLY,
    band_frame,
    exhaustion_x_max,
    headline_scenarios,
    nearest_quantile,
    recorded_run_traces,
    scenario_names,
    stock_groups,
)
from forecast.report.figures.style import (
    STOCK_COLOR,
    STOCK_DASHES,
    band_traces,
    make_figure,
    page_layout,
    scatter_trace,
    scenario_color,
)
from forecast.units import decimal_year

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.run.result import RunResult


def projection_starts(result: RunResult) -> str:
    """The scenarios' projection starts, as dates."""
    return ", ".join(sorted({s.projection_start.isoformat() for s in result.scenarios}))


def fan_chart(result: RunResult, visible: Sequence[str] | None = None) -> go.Figure:
    """Projected frontier dataset (median and 10–90% band per scenario) against the effective stock of public
    human text (median, 10–90% and 5–95% bands), with the recorded training runs, tokens on a log axis."""
    names = scenario_names(result)
    shown = list(visible) if visible is not None else headline_scenarios(result)
    years = result.bands["year"].values.astype(float)
    traces: list[dict[str, Any]] = []

    groups = stock_groups(result)
    for i, members in enumerate(groups):
        which = ", ".join(members) if len(members) <= 3 else f"{members[0]} and {len(members) - 1} more"
        label = "Effective stock" if len(groups) == 1 else f"Effective stock ({which})"
        group = f"stock-{i}"
        vis: bool | str = True if i == 0 else "legendonly"
        band = band_frame(result, SUPPLY, members[0])
        x = band.index.to_numpy(dtype=float)
        traces += band_traces(
            x, nearest_quantile(band, 0.05), nearest_quantile(band, 0.95), name=f"{label} 5–95%", color=STOCK_COLOR,
            alpha=0.12, group=group, visible=vis,
        )  # fmt: skip
        traces += band_traces(
            x, nearest_quantile(band, 0.10), nearest_quantile(band, 0.90), name=f"{label} 10–90%", color=STOCK_COLOR,
            alpha=0.18, group=group, visible=vis,
        )  # fmt: skip
        traces.append(
            scatter_trace(
                x=x,
                y=nearest_quantile(band, 0.5),
                mode="lines",
                line={"color": STOCK_COLOR, "width": 3, "dash": STOCK_DASHES[i % len(STOCK_DASHES)]},
                name=label,
                legendgroup=group,
                visible=vis,
                hovertemplate=f"{label}<br>%{{x:.0f}}: median %{{y:.3g}} tokens<extra></extra>",
            )
        )

    for index, name in enumerate(names):
        color = scenario_color(index)
        vis = True if name in shown else "legendonly"
        band = band_frame(result, "demand_tokens", name)
        x = band.index.to_numpy(dtype=float)
        traces += band_traces(
            x, nearest_quantile(band, 0.10), nearest_quantile(band, 0.90), name=f"Dataset {name} 10–90%", color=color,
            alpha=0.15, group=name, visible=vis,
        )  # fmt: skip
        traces.append(
            scatter_trace(
                x=x,
                y=nearest_quantile(band, 0.5),
                mode="lines",
                line={"color": color, "width": 2},
                name=f"Dataset: {name}",
                legendgroup=name,
                visible=vis,
                hovertemplate=f"{name}<br>%{{x:.0f}}: median %{{y:.3g}} tokens<extra></extra>",
            )
        )

    traces += recorded_run_traces(result, "dataset_tokens", "tokens", "dataset_run")

    x_max = exhaustion_x_max(result, shown)
    runs = result.bundle.runs
    lows = [runs["dataset_tokens"][runs["dataset_tokens"] > 0].min()]
    in_view = years <= x_max
    # Top of the view: an order of magnitude above the stock's 95th percentile (the crossing is what matters;
    # the fast scenarios' cones run off the top, zoom out to see them).
    stock_top = float(np.nanmax(result.bands[SUPPLY].values[:, in_view, -1]))
    y_range = [math.log10(float(np.nanmin(lows))) - 0.3, math.log10(stock_top) + 1.0]
    first = float(runs.loc[runs["dataset_tokens"] > 0, "decimal_year"].min())
    cutoff = float(decimal_year(pd.Series([pd.Timestamp(result.config.data.cutoff)]))[0])
    layout = page_layout(
        "Largest training dataset vs. effective stock of public human text",
        f"Projections start {projection_starts(result)}; recorded runs (developer-reported token counts) are "
        f"those known at the data cut-off {result.config.data.cutoff.isoformat()}. Click legend entries to show or "
        "hide scenarios.",
        height=640,
    )
    layout |= {
        "xaxis": {"title": {"text": "Year"}, "range": [math.floor(first) - 0.5, x_max], "dtick": 2},
        "yaxis": {"title": {"text": "Tokens (log scale)"}, "type": "log", "range": y_range, "exponentformat": "power"},
        "legend": {
            "groupclick": "togglegroup",
            "traceorder": "normal",
            "title": {"text": "Lines: medians; shading: 10–90%<br>(stock also 5–95%). Click to show/hide."},
        },
        # The data cut-off: the record is known up to it, the projection starts there.
        "shapes": [
            {"type": "line", "xref": "x", "yref": "paper", "x0": cutoff, "x1": cutoff, "y0": 0, "y1": 1,
             "line": {"color": "#888", "width": 1, "dash": "dot"}}
        ],
        "annotations": [
            {"x": cutoff, "xref": "x", "y": 1, "yref": "paper", "text": f"data to {result.config.data.cutoff}",
             "showarrow": False, "xanchor": "right", "yanchor": "top", "font": {"size": 11, "color": "#666"}}
        ],
    }  # fmt: skip
    return make_figure(traces, layout)


def probability_chart(result: RunResult) -> go.Figure:
    """P(stock exhausted by the end of each year) per scenario, in percent, with a line at 50%."""
    table = result.probabilities
    years = np.asarray(table.columns, dtype=int)
    traces = [
        scatter_trace(
            # P(by the end of year Y) is the probability at the date Y + 1 (1 January of the next year).
            x=years + 1.0,
            y=100.0 * table.loc[name].to_numpy(dtype=float),
            customdata=years,
            mode="lines",
            line={"color": scenario_color(index), "width": 2},
            name=name,
            hovertemplate=f"{name}<br>by end of %{{customdata}}: %{{y:.0f}}%<extra></extra>",
        )
        for index, name in enumerate(scenario_names(result))
        if name in table.index
    ]
    x_max = exhaustion_x_max(result, scenario_names(result))
    layout = page_layout(
        "Probability that the largest dataset has reached the effective stock, by date",
        "Share of posterior paths whose first crossing is before the date; censored paths never cross.",
    )
    # A dashed line across the plot at 50%, labelled at its left end (what `add_hline` makes).
    across = {"xref": "x domain", "yref": "y"}
    layout |= {
        "xaxis": {"title": {"text": "Date (year)"}, "range": [float(years.min()), x_max], "dtick": 2},
        "yaxis": {"title": {"text": "P(exhausted by date) (%)"}, "range": [0, 100], "ticksuffix": "%"},
        "shapes": [
            {"type": "line", "x0": 0, "x1": 1, "y0": 50, "y1": 50, **across,
             "line": {"dash": "dash", "color": "#777777", "width": 1}},
        ],
        "annotations": [
            {"text": "50% (median date)", "x": 0, "xanchor": "left", "y": 50, "yanchor": "bottom",
             "showarrow": False, **across},
        ],
    }  # fmt: skip
    return make_figure(traces, layout)
