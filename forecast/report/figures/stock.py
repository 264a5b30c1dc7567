"""The stock figures: raw → quality-filtered → effective stock beside the paper's numbers, and the published
estimates of text stocks beside this forecast's effective stock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.data import published
from forecast.report.figures.reading import band_frame, scenario_names
from forecast.report.figures.style import (
    LABEL_CHARS,
    MODEL_COLOR,
    PUBLISHED_COLOR,
    SOURCE_CHARS,
    make_figure,
    page_layout,
    rgba,
    scatter_trace,
    truncate,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from forecast.run.result import RunResult

# Stock-estimate categories that are token *equivalents* of non-text data ([P2] App. D), left out of the
# text-stock cross-check.
NON_TEXT_CATEGORIES = frozenset({"images", "video", "other"})


def _stock_point(result: RunResult, scenario: str, year: float) -> dict[str, tuple[float, float, float]]:
    """(median, 5%, 95%) of raw, quality-filtered and effective stock at `year`."""
    out = {}
    for stage in ("stock_raw", "stock_quality", "stock_effective"):
        band = band_frame(result, stage, scenario)
        nearest = band.index[np.argmin(np.abs(band.index.to_numpy(dtype=float) - year))]
        row = band.loc[nearest]
        out[stage] = (
            float(row.iloc[int(np.argmin(np.abs(row.index - 0.5)))]),
            float(row.iloc[int(np.argmin(np.abs(row.index - 0.05)))]),
            float(row.iloc[int(np.argmin(np.abs(row.index - 0.95)))]),
        )
    return out


STAGE_LABELS = {
    "stock_raw": "Raw indexed web",
    "stock_quality": "Quality-filtered",
    "stock_effective": "Effective (with repetition)",
}


def stock_decomposition(result: RunResult, scenario: str | None = None) -> go.Figure:
    """Raw → quality-filtered → effective stock at 2024 and at the median exhaustion year of `scenario` (default:
    the first), medians with 90% intervals on a log axis, beside the paper's published 2024 figures."""
    scenario = scenario or scenario_names(result)[0]
    start = float(result.bands["year"].values.min())
    summary = result.summary.set_index("scenario")
    median = float(summary.loc[scenario, "median"]) if scenario in summary.index else float("nan")
    years: list[tuple[float, str]] = [(start, f"{start:.0f}")]
    if np.isfinite(median) and round(median) > start:
        years.append((float(round(median)), f"{round(median)} (median exhaustion, {scenario})"))
    categories = list(STAGE_LABELS.values())
    traces = []
    for i, (year, label) in enumerate(years):
        points = _stock_point(result, scenario, year)
        med = np.array([points[s][0] for s in STAGE_LABELS])
        lo = np.array([points[s][1] for s in STAGE_LABELS])
        hi = np.array([points[s][2] for s in STAGE_LABELS])
        traces.append(
            scatter_trace(
                x=categories,
                y=med,
                mode="markers",
                marker={"size": 11, "color": MODEL_COLOR if i == 0 else "#d62728", "symbol": "circle"},
                error_y={"type": "data", "array": hi - med, "arrayminus": med - lo, "thickness": 2, "width": 8},
                name=f"This forecast, {label}: median, 5–95%",
                customdata=np.column_stack([lo, hi]),
                hovertemplate="%{x}<br>median %{y:.3g} tokens<br>90%: %{customdata[0]:.3g} – "
                "%{customdata[1]:.3g}<extra></extra>",
            )
        )
    paper = [
        (STAGE_LABELS["stock_raw"], published.INDEXED_WEB_2024),
        (STAGE_LABELS["stock_effective"], published.EFFECTIVE_STOCK_2024),
    ]
    traces.append(
        scatter_trace(
            x=[c for c, _ in paper],
            y=[p.median for _, p in paper],
            mode="markers",
            marker={"size": 11, "color": PUBLISHED_COLOR, "symbol": "diamond"},
            error_y={
                "type": "data",
                "array": [p.high - p.median for _, p in paper],
                "arrayminus": [p.median - p.low for _, p in paper],
                "thickness": 2,
                "width": 8,
            },
            name=f"{published.PAPER}, 2024: median and published interval",
            customdata=[[p.interval, p.low, p.high, p.source] for _, p in paper],
            hovertemplate="%{x}<br>median %{y:.3g} tokens<br>%{customdata[0]}: %{customdata[1]:.3g} – "
            "%{customdata[2]:.3g}<br>%{customdata[3]}<extra></extra>",
        )
    )
    layout = page_layout(
        "Stock of public human text: raw → quality-filtered → effective",
        f"Scenario {scenario}; error bars: 90% intervals (paper: raw 95%, effective 90%).",
        height=600,
    )
    layout |= {
        "scattermode": "group",
        "scattergap": 0.5,
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        "xaxis": {"title": {"text": "Stage (each applies one adjustment to the one before)"}},
        "yaxis": {"title": {"text": "Tokens (log scale)"}, "type": "log", "exponentformat": "power", "dtick": "D2"},
    }
    return make_figure(traces, layout)


def _estimate_rows(result: RunResult) -> pd.DataFrame:
    """Published text-stock estimates with a token figure, one point each (central, or the midpoint of a range)."""
    est = result.bundle.stock_estimates
    rows = est[
        (est["stock_or_flow"] == "stock")
        & ~est["category"].isin(NON_TEXT_CATEGORIES)
        & est[["tokens_low", "tokens_central", "tokens_high"]].notna().any(axis=1)
    ].copy()
    has_range = rows["tokens_low"].notna() & rows["tokens_high"].notna()
    midpoint = np.sqrt(rows["tokens_low"] * rows["tokens_high"])
    rows["point"] = rows["tokens_central"].fillna(midpoint.where(has_range))
    rows["point"] = rows["point"].fillna(rows["tokens_low"]).fillna(rows["tokens_high"])
    rows["is_midpoint"] = rows["tokens_central"].isna() & has_range
    rows["author"] = rows["source"].astype(str).str.split(r"[,(;]", regex=True).str[0].str.strip()
    rows["label"] = [
        f"{truncate(item, LABEL_CHARS)} — {truncate(author, 24)}"
        for item, author in zip(rows["item"], rows["author"], strict=True)
    ]
    return rows.sort_values("point").reset_index(drop=True)


def stock_estimates_chart(result: RunResult, scenario: str | None = None) -> go.Figure:
    """Published estimates of text stocks (tokens, log axis) with their intervals, beside this forecast's 2024
    effective stock: the estimates disagree by orders of magnitude, which is why the stock is a wide prior."""
    rows = _estimate_rows(result)
    scenario = scenario or scenario_names(result)[0]
    start = float(result.bands["year"].values.min())
    ours = _stock_point(result, scenario, start)
    eff_med, eff_lo, eff_hi = ours["stock_effective"]
    traces = []
    scopes = {"public": "#2ca02c", "private": "#9467bd", "public+private": "#8c564b"}
    for scope, color in scopes.items():
        part = rows[rows["scope"] == scope]
        if part.empty:
            continue
        lo = (part["point"] - part["tokens_low"]).where(part["tokens_low"].notna(), 0.0)
        hi = (part["tokens_high"] - part["point"]).where(part["tokens_high"].notna(), 0.0)
        traces.append(
            scatter_trace(
                x=part["point"].to_numpy(dtype=float),
                y=part["label"].to_numpy(dtype=object),
                mode="markers",
                marker={
                    "color": color,
                    "size": 9,
                    "symbol": np.where(part["is_midpoint"], "diamond-open", "circle").tolist(),
                },
                error_x={
                    "type": "data",
                    "array": hi.to_numpy(dtype=float),
                    "arrayminus": lo.to_numpy(dtype=float),
                    "thickness": 1.5,
                    "width": 4,
                },
                name=f"Published estimate, {scope} data",
                customdata=np.column_stack(
                    [
                        part["item"].astype(str),
                        part["interval"].fillna("").astype(str),
                        part["quantity_as_reported"].fillna("").astype(str),
                        part["year_of_estimate"].astype(str),
                        part["source"].map(lambda s: truncate(s, SOURCE_CHARS)),
                        part["reliability"].fillna("").astype(str),
                    ]
                ),
                hovertemplate="<b>%{customdata[0]}</b><br>%{x:.3g} tokens (%{customdata[1]}; as reported: "
                "%{customdata[2]})<br>Year: %{customdata[3]}; reliability %{customdata[5]}<br>"
                "%{customdata[4]}<extra></extra>",
            )
        )
    label = f"This forecast: effective stock {start:.0f} (median, 5–95%)"
    traces.append(
        scatter_trace(
            x=[eff_med],
            y=[label],
            mode="markers",
            marker={"color": MODEL_COLOR, "size": 12, "symbol": "star"},
            error_x={"type": "data", "array": [eff_hi - eff_med], "arrayminus": [eff_med - eff_lo], "thickness": 2},
            name=label,
            hovertemplate=f"{label}<br>%{{x:.3g}} tokens, 90%: {eff_lo:.3g} – {eff_hi:.3g}<extra></extra>",
        )
    )
    order = [*rows["label"].tolist(), label]
    layout = page_layout(
        "Published estimates of text stocks (tokens) vs. this forecast's effective stock",
        "Bars: the source's interval; open diamonds: midpoint of a range without a central value. "
        "Shaded: this forecast's 90% interval.",
        height=max(500, 26 * (len(order) + 1) + 220),
    )
    # This forecast's 90% interval shaded and its median dotted, across the plot (what `add_vrect` and
    # `add_vline` make).
    across = {"xref": "x", "yref": "y domain", "y0": 0, "y1": 1}
    layout |= {
        "xaxis": {"title": {"text": "Tokens (log scale)"}, "type": "log", "exponentformat": "power"},
        "yaxis": {"categoryorder": "array", "categoryarray": order, "title": {"text": ""}, "automargin": True},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.06, "x": 0},
        "shapes": [
            {"type": "rect", "x0": eff_lo, "x1": eff_hi, **across, "fillcolor": rgba(MODEL_COLOR, 0.10),
             "line": {"width": 0}, "layer": "below"},
            {"type": "line", "x0": eff_med, "x1": eff_med, **across,
             "line": {"color": MODEL_COLOR, "width": 1, "dash": "dot"}},
        ],
    }  # fmt: skip
    return make_figure(traces, layout)
