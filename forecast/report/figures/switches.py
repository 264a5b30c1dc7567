"""Figures for the questions beyond the paper: AI-written web text, synthetic data, non-public stocks, sensitivity.

Each builder takes a `RunResult` and returns a plotly Figure (or None when no scenario of the run uses that
extension), readable without the report text: titles, axis labels with units, legends. The report finds them by
name in `EXTENSION_FIGURES`, built from each switch's figures (`SWITCH_FIGURES`) by the registry's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.model.ai_share import DEFAULT_SERIES, ai_share, ai_share_data_from_frame
from forecast.projection.crossing import censored_quantiles
from forecast.projection.switches import SWITCHES
from forecast.report.figures.style import make_figure, scatter_trace

if TYPE_CHECKING:
    from collections.abc import Callable

    import plotly.graph_objects as go

    from forecast.run.result import RunResult

BAND = (0.05, 0.5, 0.95)
SHARE_YEARS = np.linspace(2020.0, 2030.0, 121)


def ai_share_figure(result: RunResult) -> go.Figure:
    """Measured AI share of new web text by series, and the fitted true share c(t) with its 90% band."""
    post = result.idata.posterior
    traces: list[dict[str, Any]] = []
    if "ai_c_max" in post:
        params = [np.asarray(post[n].values).ravel() for n in ("ai_c_max", "ai_k", "ai_t0")]
        curves = ai_share(SHARE_YEARS, *params)
        low, mid, high = np.quantile(curves, BAND, axis=0) * 100
        traces += [
            scatter_trace(x=SHARE_YEARS, y=high, line={"width": 0}, showlegend=False, hoverinfo="skip"),
            scatter_trace(
                x=SHARE_YEARS, y=low, fill="tonexty", line={"width": 0}, name="fitted true share, 90% band",
                fillcolor="rgba(99,110,250,0.25)",
            ),
            scatter_trace(x=SHARE_YEARS, y=mid, name="fitted true share (median)", line={"color": "#636efa"}),
        ]  # fmt: skip
    data = ai_share_data_from_frame(result.bundle.web_growth)
    for series in DEFAULT_SERIES:
        mask = data.series == series
        if mask.any():
            traces.append(
                scatter_trace(
                    x=data.t[mask], y=data.share[mask] * 100, mode="markers", name=f"measured: {series}",
                    marker={"size": 9}, hovertemplate="%{x:.2f}: %{y:.1f}%<extra>" + series + "</extra>",
                )
            )  # fmt: skip
    layout = {
        "title": {
            "text": "AI-generated share of new web text: measurements and fitted logistic (detector error removed)"
        },
        "xaxis": {"title": {"text": "year"}},
        "yaxis": {"title": {"text": "share of new web content (%)"}, "range": [0, 80]},
        "height": 480,
    }
    return make_figure(traces, layout)


def _date_summary(years: np.ndarray) -> tuple[float, float, float]:
    q = censored_quantiles(years, {"q10": 0.1, "median": 0.5, "q90": 0.9})
    return q["q10"], q["median"], q["q90"]


def extension_dates_figure(result: RunResult) -> go.Figure | None:
    """Median and 80% interval of each date an extension produces, against the scenario's own baseline."""
    effects = result.effects
    if effects is None or effects.empty:
        return None
    ds = result.exhaustion
    labels, medians, lows, highs = [], [], [], []

    def add(label: str, years: np.ndarray) -> None:
        low, mid, high = _date_summary(years)
        labels.append(label)
        medians.append(mid)
        lows.append(mid - low)
        highs.append(high - mid)

    for scenario in dict.fromkeys(effects["scenario"]):
        sel = ds.sel(scenario=scenario)
        add(f"{scenario}: baseline (switch off)", sel["baseline_exhaustion_year"].values)
        add(f"{scenario}: as configured", sel["exhaustion_year"].values)
        if bool(sel["synthetic_enabled"]):
            add(f"{scenario}: with synthetic data", sel["synthetic_exhaustion_year"].values)
            add(f"{scenario}: real share below guard", sel["collapse_guard_year"].values)
    trace = scatter_trace(
        x=medians, y=labels, mode="markers", marker={"size": 10},
        error_x={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows},
        hovertemplate="%{y}: median %{x:.1f}<extra></extra>", name="median, 80% interval",
    )  # fmt: skip
    layout = {
        "title": {
            "text": "Exhaustion dates with each extension vs the same scenario without it (median, 80% interval)"
        },
        "xaxis": {"title": {"text": "year"}},
        "yaxis": {"autorange": "reversed"},
        "height": 120 + 45 * len(labels),
        "margin": {"l": 330},
    }
    return make_figure([trace], layout)


def years_bought_figure(result: RunResult) -> go.Figure | None:
    """Median years each non-public or multimodal stock buys alone, and all together."""
    effects = result.effects
    if effects is None or effects.empty:
        return None
    rows = effects[effects["effect"].str.startswith("extra stock: ")]
    if rows.empty:
        return None
    traces = []
    for scenario, group in rows.groupby("scenario", sort=False):
        total = effects[(effects["scenario"] == scenario) & (effects["effect"] == "scenario as configured")]
        names = [e.removeprefix("extra stock: ") for e in group["effect"]] + ["all together"]
        shifts = list(group["shift_years"]) + list(total["shift_years"])
        traces.append(
            {"type": "bar", "x": names, "y": shifts, "name": scenario,
             "hovertemplate": "%{x}: %{y:.2f} years<extra></extra>"}
        )  # fmt: skip
    layout = {
        "title": {"text": "Years of delay bought by non-public and multimodal stocks (difference of median dates)"},
        "xaxis": {"title": {"text": "stock added to the public effective stock"}},
        "yaxis": {"title": {"text": "delay of the median exhaustion date (years)"}},
        "height": 450,
    }
    return make_figure(traces, layout)


def sensitivity_figure(result: RunResult) -> go.Figure | None:
    """First-order variance share of the exhaustion date per input, ranked; one trace per scenario (toggle)."""
    table = result.sensitivity
    if table is None or table.empty:
        return None
    scenarios = list(dict.fromkeys(table["scenario"]))
    traces = []
    for i, scenario in enumerate(scenarios):
        rows = table[table["scenario"] == scenario].sort_values("index")
        traces.append(
            {"type": "bar", "x": rows["index"].to_numpy(dtype=float), "y": rows["input"].to_numpy(dtype=object),
             "orientation": "h", "name": scenario, "visible": i == 0,
             "hovertemplate": "%{y}: %{x:.3f}<extra>" + scenario + "</extra>"}
        )  # fmt: skip
    buttons = [
        {"label": s, "method": "update", "args": [{"visible": [j == i for j in range(len(scenarios))]}]}
        for i, s in enumerate(scenarios)
    ]
    layout = {
        "title": {"text": "What moves the date: share of exhaustion-date variance explained by each input alone"},
        "xaxis": {"title": {"text": "first-order sensitivity index (share of variance, 0-1)"}},
        "updatemenus": [{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.15}],
        "height": 560,
        "margin": {"l": 230},
    }
    return make_figure(traces, layout)


#: Each switch's figures, by its registry name (`forecast.projection.switches.SWITCHES`): figure name (also the PNG
#: file name) → builder, in the order of the switch's section in the report. A new switch adds its entry here.
SWITCH_FIGURES: dict[str, dict[str, Callable[[RunResult], go.Figure | None]]] = {
    "human_share": {"ai_share": ai_share_figure},
    "synthetic": {"extension_dates": extension_dates_figure},
    "extra_stocks": {"years_bought": years_bought_figure},
}

#: The extension figures, by name, in report order: each switch's in registry order, then what moves the date
#: (across all of them); each is None when no scenario uses it.
EXTENSION_FIGURES: dict[str, Callable[[RunResult], go.Figure | None]] = {
    **{figure: builder for name in SWITCHES for figure, builder in SWITCH_FIGURES[name].items()},
    "sensitivity": sensitivity_figure,
}
