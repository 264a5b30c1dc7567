"""The record-path check of a record-process fit: the record the fit saw against records simulated from its
posterior (`forecast.model.record_paths.record_path_check`, computed by the run), and the longest plateau."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.report.figures.style import (
    axis_names,
    band_traces,
    make_figure,
    page_layout,
    rgba,
    scatter_trace,
    scenario_color,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.model.record_paths import RecordPathCheck
    from forecast.run.result import RunResult

#: Width of the histogram bins of the longest plateau (years): a quarter.
PLATEAU_BIN_YEARS = 0.25


RECORD_CHECK_TITLE = "Record-path check: the record the fit saw, against records simulated from it"


def record_path_figure(result: RunResult) -> go.Figure | None:
    """The run's record-path check (None for a fit without one)."""
    return None if result.record_check is None else record_check_figure(result.record_check, RECORD_CHECK_TITLE)


def record_check_figure(check: RecordPathCheck, title: str, draws_from: str = "posterior") -> go.Figure:
    """Observed record path over the 5–95% band and median of simulated ones, and the longest plateau of the
    simulated paths against the observed one, with predictive p-values. `draws_from` names where the simulated
    paths' parameters come from (the posterior; the notebook's prior predictive check passes "prior")."""
    color = scenario_color(0)
    traces: list[dict[str, Any]] = []
    low, median, high = (10.0**values for values in check.simulated_bands)
    band = band_traces(
        check.grid, low, high, name="Simulated record 5–95%", color=color, alpha=0.2, group="sim", visible=True
    )
    traces += band
    traces.append(
        scatter_trace(
            x=check.grid,
            y=median,
            mode="lines",
            line={"color": color, "width": 1.5, "dash": "dot"},
            name="Simulated record: median",
            legendgroup="sim",
        )
    )
    traces.append(
        scatter_trace(
            x=check.grid,
            y=10.0**check.observed,
            mode="lines",
            line={"color": "#222222", "width": 2.5, "shape": "hv"},
            name="Observed record (runs that can set it)",
        )
    )
    x2, y2, x2_key, y2_key = axis_names(2)
    traces.append(
        {
            "type": "histogram",
            "x": check.simulated_longest,
            "xbins": {"size": PLATEAU_BIN_YEARS},
            "histnorm": "probability",
            "marker": {"color": rgba(color, 0.6)},
            "name": "Longest plateau of simulated paths",
            "xaxis": x2,
            "yaxis": y2,
        }
    )
    edges = np.arange(0.0, float(check.simulated_longest.max()) + 2 * PLATEAU_BIN_YEARS, PLATEAU_BIN_YEARS)
    share = float(np.histogram(check.simulated_longest, bins=edges)[0].max()) / check.simulated_longest.size
    traces.append(
        scatter_trace(
            x=[check.observed_longest, check.observed_longest],
            y=[0, share],
            mode="lines",
            line={"color": "#222222", "width": 2.5},
            name=f"Observed longest plateau: {check.observed_longest:.1f} years",
            xaxis=x2,
            yaxis=y2,
        )
    )
    subtitle = (
        f"{draws_from.capitalize()} predictive p-values: P(simulated longest plateau ≥ observed) = "
        f"{check.p_longest:.2f}; P(simulated months with a new record ≥ observed {check.observed_records}) = "
        f"{check.p_records:.2f} ({check.simulated_records.size} {draws_from} draws)."
    )
    layout = page_layout(title, subtitle, 520, 110)
    layout["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}
    layout["xaxis"] = {"title": {"text": "Publication date (year)"}}
    layout["yaxis"] = {
        "title": {"text": "Record dataset (tokens, log scale)"},
        "type": "log",
        "exponentformat": "power",
    }
    layout[x2_key] = {"title": {"text": "Longest time without a new record (years)"}}
    layout[y2_key] = {"title": {"text": "Share of simulated paths"}}
    grid_spec = {
        "rows": 1,
        "cols": 2,
        "subplot_titles": ("Record path", "Longest plateau"),
        "horizontal_spacing": 0.1,
    }
    return make_figure(traces, layout, subplots=grid_spec)
