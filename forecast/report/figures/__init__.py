"""Plotly figures of a run: small builder functions, each taking a `RunResult` and returning a `go.Figure`.

The builders read only summaries that the run already holds (yearly quantile bands, probability tables,
histograms of posterior draws), so the figures stay small enough to embed in one HTML file. They are also usable
from a notebook:

    from forecast.report import figures
    figures.fan_chart(result).show()

Modules: `style` (house template, colours, `make_figure`), `reading` (what the figures read from a RunResult),
`exhaustion` (fan and probability charts), `stock`, `fit`, `record` (the record-path check), `vintages` (how the
forecast moved), `switches` (the figures of the extensions). The report
takes its figures from `FIGURE_BUILDERS` and `EXTENSION_FIGURES`, by name (the names are also the PNG file names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from forecast.report.figures.compute import compute_ahead_chart
from forecast.report.figures.exhaustion import fan_chart, probability_chart
from forecast.report.figures.fit import KEY_PARAMETERS, frontier_fit, prior_posterior
from forecast.report.figures.reading import scenario_names
from forecast.report.figures.record import record_check_figure, record_path_figure
from forecast.report.figures.stock import STAGE_LABELS, stock_decomposition, stock_estimates_chart
from forecast.report.figures.style import TEMPLATE, house_template, make_figure, scatter_trace
from forecast.report.figures.switches import EXTENSION_FIGURES
from forecast.report.figures.vintages import vintage_chart

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.run.result import RunResult

__all__ = [
    "CHECK_FIGURES",
    "COMPUTE_FIGURES",
    "EXTENSION_FIGURES",
    "FIGURE_BUILDERS",
    "KEY_PARAMETERS",
    "NOWCAST_FIGURES",
    "STAGE_LABELS",
    "TEMPLATE",
    "build_all",
    "fan_chart",
    "frontier_fit",
    "house_template",
    "make_figure",
    "prior_posterior",
    "probability_chart",
    "record_check_figure",
    "record_path_figure",
    "scatter_trace",
    "scenario_names",
    "stock_decomposition",
    "stock_estimates_chart",
    "vintage_chart",
]

#: The report's figures, by name (also the PNG file names), in report order.
FIGURE_BUILDERS: dict[str, Callable[[RunResult], go.Figure]] = {
    "fan_chart": fan_chart,
    "probability_chart": probability_chart,
    "stock_decomposition": stock_decomposition,
    "stock_estimates_chart": stock_estimates_chart,
    "prior_posterior": prior_posterior,
    "frontier_fit": frontier_fit,
}


#: Figures of the now-cast, by name; None when the run has nothing to show (no vintages).
NOWCAST_FIGURES: dict[str, Callable[[RunResult], go.Figure | None]] = {"vintage_chart": vintage_chart}

#: The compute arm ahead, by name; None when no scenario has a compute arm.
COMPUTE_FIGURES: dict[str, Callable[[RunResult], go.Figure | None]] = {"compute_ahead": compute_ahead_chart}

#: Checks of the fit that only some fits have, by name; None when the run's fit has none (a stochastic frontier).
CHECK_FIGURES: dict[str, Callable[[RunResult], go.Figure | None]] = {"record_path_check": record_path_figure}


def build_all(result: RunResult) -> dict[str, go.Figure]:
    """Every figure of the report (the paper's, without the extensions), by name."""
    return {name: builder(result) for name, builder in FIGURE_BUILDERS.items()}
