"""Plotly figures of a run: small builder functions, each taking a `RunResult` and returning a `go.Figure`.

The builders read only summaries that the run already holds (yearly quantile bands, probability tables,
histograms of posterior draws), so the figures stay small enough to embed in one HTML file. They are also usable
from a notebook:

    from forecast.report import figures
    figures.fan_chart(result).show()

`build_all` returns every figure of the report by name (the names are also the PNG file names).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from forecast.data import is_leak, published
from forecast.model.frontier import ADOPTION_MIDPOINT_PRIOR, ADOPTION_RATE_PRIOR, COMPUTE_WINDOW_START
from forecast.model.trend import ANCHOR_YEAR

if TYPE_CHECKING:
    from forecast.run.result import RunResult

# ----------------------------------------------------------------------------------------------------
# Style
# ----------------------------------------------------------------------------------------------------

# 18 distinguishable colours (D3, then Dark2) so that presets with many scenarios do not repeat a colour.
SCENARIO_COLORS: tuple[str, ...] = tuple(qualitative.D3) + tuple(qualitative.Dark2)
# Line styles of the stock medians when scenarios differ in their stock (first group solid).
STOCK_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash")
STOCK_COLOR = "#3a3a3a"
PUBLISHED_COLOR = "#b8860b"  # dark goldenrod: the paper's own numbers, wherever they appear
MODEL_COLOR = "#1f77b4"
TEMPLATE = "plotly_white"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", "size": 13}
# The fan chart starts with at most this many scenarios shown; the rest are one legend click away.
MAX_VISIBLE_SCENARIOS = 4
SOURCE_CHARS = 90  # hover text: sources are truncated to this many characters
LABEL_CHARS = 60  # stock-estimate row labels
# Stock-estimate categories that are token *equivalents* of non-text data ([P2] App. D), left out of the
# text-stock cross-check.
NON_TEXT_CATEGORIES = frozenset({"images", "video", "other"})
HISTOGRAM_BINS = 40
PRIOR_GRID_POINTS = 200
FRONTIER_GRID_POINTS = 60


@dataclass(frozen=True)
class ParameterInfo:
    """How a fitted parameter is labelled in the figures."""

    name: str
    label: str
    unit: str


KEY_PARAMETERS: tuple[ParameterInfo, ...] = (
    ParameterInfo("dataset_level", "Frontier dataset size at 2024-01-01", "log10 tokens"),
    ParameterInfo("dataset_growth", "Frontier dataset growth", "orders of magnitude per year"),
    ParameterInfo("compute_level", "Frontier training compute at 2024-01-01", "log10 FLOP"),
    ParameterInfo("compute_growth", "Frontier compute growth", "orders of magnitude per year"),
    ParameterInfo("adoption_rate", "Internet adoption rate (logistic slope)", "per year"),
    ParameterInfo("adoption_midpoint", "Internet adoption midpoint", "year"),
)


# The supply a scenario's demand is compared with: the effective stock plus any accessible non-public stocks
# (`stock_total` in the bands; equal to `stock_effective` when a scenario adds none).
_SUPPLY = "stock_total"


def _rgba(color: str, alpha: float) -> str:
    """'#rrggbb' or 'rgb(r, g, b)' → 'rgba(r, g, b, alpha)'."""
    if color.startswith("#"):
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(part)) for part in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
    return f"rgba({r}, {g}, {b}, {alpha})"


def scenario_color(index: int) -> str:
    """Colour of the scenario at position `index` (the same in every figure)."""
    return SCENARIO_COLORS[index % len(SCENARIO_COLORS)]


@contextlib.contextmanager
def house_template() -> Iterator[None]:
    """Figures created inside start from TEMPLATE, through plotly's default template, which a new figure takes
    without validating it again; naming the template in `update_layout` instead deep-copies and re-validates it
    (~12 ms a figure). Loading the template takes ~80 ms the first time in a process, so `report.build_figures`
    wraps all figures in one block. The previous default is restored: a notebook's own figures are not affected."""
    previous = pio.templates.default
    if previous == TEMPLATE:
        yield
        return
    _set_default_template(TEMPLATE)
    try:
        yield
    finally:
        _set_default_template(previous)


def _set_default_template(name: Any) -> None:
    """`pio.templates.default = name`, without the setter's validation for a registered name: it deep-copies the
    whole template only to check it (~60 ms a run for plotly's own `plotly_white`). Anything else (a notebook's
    own Template object, None) goes through the setter, as does every name should plotly's storage of the default
    change (the check below sees it)."""
    templates = pio.templates
    if isinstance(name, str) and name in templates and hasattr(templates, "_default"):
        templates._default = name
        if templates.default == name:
            return
    templates.default = name


def new_figure(*args: Any, **kwargs: Any) -> go.Figure:
    """`go.Figure(...)` in the house template."""
    with house_template():
        return go.Figure(*args, **kwargs)


def _page_layout(title: str, subtitle: str | None = None, height: int = 560, top: int | None = None) -> dict[str, Any]:
    """The layout every report figure shares: font, title and subtitle, height and margins."""
    return {
        "font": FONT,
        "title": {"text": title, "subtitle": {"text": subtitle or ""}, "x": 0.01, "xanchor": "left"},
        "height": height,
        "margin": {"l": 80, "r": 30, "t": top or (90 if subtitle else 70), "b": 70},
        "hoverlabel": {"namelength": -1},
    }


def scatter_trace(**props: Any) -> dict[str, Any]:
    """A scatter trace as plotly's dict spec. The builders collect traces and layout as dicts and make each figure
    once (`make_figure`): plotly then validates every property once, instead of again at each `add_trace` and
    `update_layout` (that repeat was about half of the time the report's figures took to build)."""
    return {"type": "scatter", **props}


def _axis_names(index: int) -> tuple[str, str, str, str]:
    """(x, y, x layout key, y layout key) of subplot `index` (1-based, row by row): ("x", "y", "xaxis", "yaxis"),
    then ("x2", "y2", "xaxis2", "yaxis2"), ..."""
    suffix = "" if index == 1 else str(index)
    return f"x{suffix}", f"y{suffix}", f"xaxis{suffix}", f"yaxis{suffix}"


def make_figure(
    traces: list[dict[str, Any]], layout: dict[str, Any], subplots: dict[str, Any] | None = None
) -> go.Figure:
    """The figure of `traces` and `layout` in the house template; with `subplots` (`make_subplots` keyword
    arguments, lists as tuples), on that grid: the traces name their axes (`_axis_names`) and `layout` is merged
    into the grid's own layout."""
    if subplots is not None:
        layout = _merged(json.loads(_grid_layout(**subplots)), layout)
    return new_figure(data=traces, layout=layout)


@functools.cache
def _grid_layout(**subplots: Any) -> str:
    """The layout (as JSON, without a template) `make_subplots` makes for a grid: axis domains and anchors, subplot
    titles. Made once per grid in a process (~20 ms each; a `forecast watch` builds the same grids run after run)."""
    grid = make_subplots(**subplots).layout.to_plotly_json()
    grid.pop("template", None)
    return json.dumps(grid)


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`base` with `update` merged in: nested dicts merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _truncate(text: Any, limit: int) -> str:
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ----------------------------------------------------------------------------------------------------
# Helpers on a RunResult
# ----------------------------------------------------------------------------------------------------


def scenario_names(result: RunResult) -> list[str]:
    """Scenario names in run order."""
    return [str(name) for name in result.bands["scenario"].values]


def scenario_scalings(result: RunResult) -> dict[str, str | None]:
    """Scenario name → its demand model ('historical', 'compute', 'mixture'), from the resolved config."""

    try:
        return {s.name: s.scaling for s in result.scenarios}
    except Exception:  # a figure must not fail because the config cannot be re-resolved
        return dict.fromkeys(scenario_names(result))


def headline_scenarios(result: RunResult, limit: int = MAX_VISIBLE_SCENARIOS) -> list[str]:
    """Scenarios shown by default where showing all would clutter: those with a published counterpart, else
    the first `limit`."""
    names = scenario_names(result)
    scalings = scenario_scalings(result)
    matched = [n for n in names if published.counterpart(n, scalings.get(n)) is not None]
    return (matched or names)[:limit]


def _band(result: RunResult, variable: str, scenario: str) -> pd.DataFrame:
    """Yearly quantiles of one band variable for one scenario (rows year, columns quantile), NaN rows dropped."""
    da = result.bands[variable].sel(scenario=scenario)
    frame = pd.DataFrame(
        da.values, index=result.bands["year"].values.astype(float), columns=result.bands["quantile"].values
    )
    return frame.dropna(how="all")


def _q(frame: pd.DataFrame, quantile: float) -> np.ndarray:
    column = min(frame.columns, key=lambda q: abs(float(q) - quantile))
    return frame[column].to_numpy(dtype=float)


def _fit_members(result: RunResult, coord: str) -> set[str] | None:
    """Names of the runs the fit used for one likelihood (from the observed-data coordinates), if known."""
    try:
        return {str(v) for v in result.idata["observed_data"][coord].values}
    except (KeyError, AttributeError, TypeError):
        return None


def _exhaustion_x_max(result: RunResult, names: Sequence[str]) -> float:
    """Right end of time axes: a few years past the latest 95th percentile of the given scenarios."""
    summary = result.summary.set_index("scenario")
    horizon = float(np.nanmax(result.exhaustion["horizon"].values))
    ends = [float(summary.loc[n, "q95"]) for n in names if n in summary.index]
    finite = [e for e in ends if np.isfinite(e)]
    if len(finite) < len(ends) or not finite:
        return horizon
    return float(min(horizon, max(2032.0, math.ceil(max(finite)) + 4)))


def _band_traces(
    x: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    name: str,
    color: str,
    alpha: float,
    group: str,
    visible: bool | str,
    hover_unit: str = "tokens",
) -> list[dict[str, Any]]:
    """A filled band between `low` and `high` (two traces: an invisible upper edge, then the filled lower)."""
    upper = scatter_trace(
        x=x,
        y=high,
        mode="lines",
        line={"width": 0},
        name=f"{name} (upper)",
        legendgroup=group,
        showlegend=False,
        visible=visible,
        hovertemplate=f"{name}<br>%{{x:.0f}}: upper %{{y:.3g}} {hover_unit}<extra></extra>",
    )
    lower = scatter_trace(
        x=x,
        y=low,
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor=_rgba(color, alpha),
        name=name,
        legendgroup=group,
        showlegend=False,
        visible=visible,
        hovertemplate=f"{name}<br>%{{x:.0f}}: lower %{{y:.3g}} {hover_unit}<extra></extra>",
    )
    return [upper, lower]


def _stock_groups(result: RunResult) -> list[list[str]]:
    """Scenarios grouped by identical effective-stock bands (scenarios share the stock unless they change it)."""
    groups: list[tuple[np.ndarray, list[str]]] = []
    for name in scenario_names(result):
        values = np.nan_to_num(result.bands[_SUPPLY].sel(scenario=name).values, nan=-1.0)
        for reference, members in groups:
            if reference.shape == values.shape and np.allclose(reference, values, rtol=1e-9):
                members.append(name)
                break
        else:
            groups.append((values, [name]))
    return [members for _, members in groups]


def _recorded_run_traces(
    result: RunResult,
    value_column: str,
    unit: str,
    coord: str,
    xaxis: str = "x",
    yaxis: str = "y",
    mark_leaks: bool = True,
) -> list[dict[str, Any]]:
    """Recorded training runs as points: used in the frontier fit, not used (below the frontier), and (for
    token counts, where the `leak` flag applies) leaked figures."""
    runs = result.bundle.runs
    runs = runs[runs[value_column].notna() & (runs[value_column] > 0)].copy()
    members = _fit_members(result, coord)
    leak = is_leak(runs) if mark_leaks else pd.Series(False, index=runs.index)
    in_fit = runs["model"].astype(str).isin(members) if members is not None else pd.Series(True, runs.index)
    hover = (
        "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>"
        f"{'Dataset' if unit == 'tokens' else 'Compute'}: %{{y:.3g}} {unit}<br>"
        "Published: %{customdata[2]}<br>Tokens counted: %{customdata[3]}<br>"
        "Reliability: %{customdata[4]}<br>Flags: %{customdata[5]}<br>Source: %{customdata[6]}<extra></extra>"
    )
    categories = (
        ("Recorded run, frontier candidate (in fit)", ~leak & in_fit, "circle", 1.0),
        ("Recorded run, below frontier (not in fit)", ~leak & ~in_fit, "circle-open", 0.7),
        ("Leaked figure (down-weighted in fit)", leak, "x", 1.0),
    )
    traces = []
    for name, mask, symbol, opacity in categories:
        rows = runs[mask]
        if rows.empty:
            continue
        custom = np.column_stack(
            [
                rows["model"].astype(str),
                rows["organization"].fillna("").astype(str),
                rows["publication_date"].dt.strftime("%Y-%m-%d"),
                rows["tokens_basis"].fillna("").astype(str),
                rows["reliability"].fillna("").astype(str).map({"P": "P (primary)", "S": "S (secondary)"}),
                rows["flags"].fillna("none").astype(str),
                rows["source"].map(lambda s: _truncate(s, SOURCE_CHARS)),
            ]
        )
        traces.append(
            scatter_trace(
                x=rows["decimal_year"].to_numpy(dtype=float),
                y=rows[value_column].to_numpy(dtype=float),
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 8, "color": "#222222", "opacity": opacity, "line": {"width": 1}},
                customdata=custom,
                hovertemplate=hover,
                legendgroup=name,
                xaxis=xaxis,
                yaxis=yaxis,
            )
        )
    return traces


# ----------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------


def fan_chart(result: RunResult, visible: Sequence[str] | None = None) -> go.Figure:
    """Projected frontier dataset (median and 10–90% band per scenario) against the effective stock of public
    human text (median, 10–90% and 5–95% bands), with the recorded training runs, tokens on a log axis."""
    names = scenario_names(result)
    shown = list(visible) if visible is not None else headline_scenarios(result)
    years = result.bands["year"].values.astype(float)
    traces: list[dict[str, Any]] = []

    groups = _stock_groups(result)
    for i, members in enumerate(groups):
        which = ", ".join(members) if len(members) <= 3 else f"{members[0]} and {len(members) - 1} more"
        label = "Effective stock" if len(groups) == 1 else f"Effective stock ({which})"
        group = f"stock-{i}"
        vis: bool | str = True if i == 0 else "legendonly"
        band = _band(result, _SUPPLY, members[0])
        x = band.index.to_numpy(dtype=float)
        traces += _band_traces(
            x, _q(band, 0.05), _q(band, 0.95), name=f"{label} 5–95%", color=STOCK_COLOR, alpha=0.12, group=group,
            visible=vis,
        )  # fmt: skip
        traces += _band_traces(
            x, _q(band, 0.10), _q(band, 0.90), name=f"{label} 10–90%", color=STOCK_COLOR, alpha=0.18, group=group,
            visible=vis,
        )  # fmt: skip
        traces.append(
            scatter_trace(
                x=x,
                y=_q(band, 0.5),
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
        band = _band(result, "demand_tokens", name)
        x = band.index.to_numpy(dtype=float)
        traces += _band_traces(
            x, _q(band, 0.10), _q(band, 0.90), name=f"Dataset {name} 10–90%", color=color, alpha=0.15,
            group=name, visible=vis,
        )  # fmt: skip
        traces.append(
            scatter_trace(
                x=x,
                y=_q(band, 0.5),
                mode="lines",
                line={"color": color, "width": 2},
                name=f"Dataset: {name}",
                legendgroup=name,
                visible=vis,
                hovertemplate=f"{name}<br>%{{x:.0f}}: median %{{y:.3g}} tokens<extra></extra>",
            )
        )

    traces += _recorded_run_traces(result, "dataset_tokens", "tokens", "dataset_run")

    x_max = _exhaustion_x_max(result, shown)
    runs = result.bundle.runs
    lows = [runs["dataset_tokens"][runs["dataset_tokens"] > 0].min()]
    in_view = years <= x_max
    # Top of the view: an order of magnitude above the stock's 95th percentile (the crossing is what matters;
    # the fast scenarios' cones run off the top, zoom out to see them).
    stock_top = float(np.nanmax(result.bands[_SUPPLY].values[:, in_view, -1]))
    y_range = [math.log10(float(np.nanmin(lows))) - 0.3, math.log10(stock_top) + 1.0]
    first = float(runs.loc[runs["dataset_tokens"] > 0, "decimal_year"].min())
    layout = _page_layout(
        "Largest training dataset vs. effective stock of public human text",
        "Projections start 2024-01-01; recorded runs are developer-reported token counts. "
        "Click legend entries to show or hide scenarios.",
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
    }
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
    x_max = _exhaustion_x_max(result, scenario_names(result))
    layout = _page_layout(
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


def _stock_point(result: RunResult, scenario: str, year: float) -> dict[str, tuple[float, float, float]]:
    """(median, 5%, 95%) of raw, quality-filtered and effective stock at `year`."""
    out = {}
    for stage in ("stock_raw", "stock_quality", "stock_effective"):
        band = _band(result, stage, scenario)
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
    layout = _page_layout(
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
        f"{_truncate(item, LABEL_CHARS)} — {_truncate(author, 24)}"
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
                        part["source"].map(lambda s: _truncate(s, SOURCE_CHARS)),
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
    layout = _page_layout(
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
            {"type": "rect", "x0": eff_lo, "x1": eff_hi, **across, "fillcolor": _rgba(MODEL_COLOR, 0.10),
             "line": {"width": 0}, "layer": "below"},
            {"type": "line", "x0": eff_med, "x1": eff_med, **across,
             "line": {"color": MODEL_COLOR, "width": 1, "dash": "dot"}},
        ],
    }  # fmt: skip
    return make_figure(traces, layout)


def _normal_prior(result: RunResult, name: str) -> tuple[float, float] | None:
    """(mean, sd) of a normal prior: the frontier priors from the config, the adoption midpoint from the model."""
    fit = result.config.fit
    normals = {
        "dataset_level": (fit.dataset_level_2024.mean, fit.dataset_level_2024.sd),
        "dataset_growth": (fit.dataset_growth.mean, fit.dataset_growth.sd),
        "compute_level": (fit.compute_level_2024.mean, fit.compute_level_2024.sd),
        "compute_growth": (fit.compute_growth.mean, fit.compute_growth.sd),
        "adoption_midpoint": ADOPTION_MIDPOINT_PRIOR,
    }
    return normals.get(name)


def _prior_density(result: RunResult, name: str, x: np.ndarray) -> np.ndarray | None:
    """Density of the prior of `name` on `x` (None if the parameter has no prior known here)."""
    normal = _normal_prior(result, name)
    if normal is not None:
        mean, sd = normal
        return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    if name == "adoption_rate":  # LogNormal(mu, sigma), forecast.model.frontier
        mu, sigma = ADOPTION_RATE_PRIOR
        positive = np.where(x > 0, x, np.nan)
        dens = np.exp(-0.5 * ((np.log(positive) - mu) / sigma) ** 2) / (positive * sigma * math.sqrt(2 * math.pi))
        return np.nan_to_num(dens)
    return None


def _prior_range(result: RunResult, name: str) -> tuple[float, float] | None:
    """Central ~99% of the prior (±2.6 sd on its own scale)."""
    normal = _normal_prior(result, name)
    if normal is not None:
        mean, sd = normal
        return mean - 2.6 * sd, mean + 2.6 * sd
    if name == "adoption_rate":
        mu, sigma = ADOPTION_RATE_PRIOR
        return math.exp(mu - 2.6 * sigma), math.exp(mu + 2.6 * sigma)
    return None


def prior_posterior(result: RunResult) -> go.Figure:
    """Posterior histogram (density) of each key fitted parameter against its prior density."""
    posterior = result.idata["posterior"]
    params = [p for p in KEY_PARAMETERS if p.name in posterior]
    cols = 3
    rows = max(1, math.ceil(len(params) / cols))
    traces: list[dict[str, Any]] = []
    layout = _page_layout(
        "Prior vs. posterior of the key fitted parameters",
        "A posterior much narrower than its prior means the data, not the prior, set the value.",
        height=330 * rows + 170,
        top=125,
    )
    layout["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0}
    for i, p in enumerate(params):
        x_axis, y_axis, x_key, y_key = _axis_names(i + 1)
        draws = np.asarray(posterior[p.name].values, dtype=float).ravel()
        draws = draws[np.isfinite(draws)]
        counts, edges = np.histogram(draws, bins=HISTOGRAM_BINS, density=True)
        traces.append(
            scatter_trace(
                x=np.concatenate([[edges[0]], edges, [edges[-1]]]),
                y=np.concatenate([[0.0], counts, [counts[-1], 0.0]]),
                mode="lines",
                line={"shape": "hv", "color": MODEL_COLOR, "width": 1.5},
                fill="tozeroy",
                fillcolor=_rgba(MODEL_COLOR, 0.45),
                name="Posterior (histogram of draws)",
                legendgroup="posterior",
                showlegend=i == 0,
                hovertemplate=f"{p.name} %{{x:.4g}} {p.unit}<br>posterior density %{{y:.3g}}<extra></extra>",
                xaxis=x_axis,
                yaxis=y_axis,
            )
        )
        prior_range = _prior_range(result, p.name) or (float(edges[0]), float(edges[-1]))
        lo, hi = min(prior_range[0], float(edges[0])), max(prior_range[1], float(edges[-1]))
        grid = np.linspace(lo, hi, PRIOR_GRID_POINTS)
        density = _prior_density(result, p.name, grid)
        if density is not None:
            traces.append(
                scatter_trace(
                    x=grid,
                    y=density,
                    mode="lines",
                    line={"color": PUBLISHED_COLOR, "width": 2},
                    fill="tozeroy",
                    fillcolor=_rgba(PUBLISHED_COLOR, 0.12),
                    name="Prior (density)",
                    legendgroup="prior",
                    showlegend=i == 0,
                    hovertemplate=f"{p.name} %{{x:.4g}} {p.unit}<br>prior density %{{y:.3g}}<extra></extra>",
                    xaxis=x_axis,
                    yaxis=y_axis,
                )
            )
        layout[x_key] = {"title": {"text": p.unit}, "range": [lo, hi]}
        layout[y_key] = {"title": {"text": "Density (per unit)" if i % cols == 0 else None}}
    grid_spec = {
        "rows": rows,
        "cols": cols,
        "subplot_titles": tuple(p.label for p in params),
        "horizontal_spacing": 0.08,
        "vertical_spacing": 0.2,
    }
    return make_figure(traces, layout, subplots=grid_spec)


def _frontier_band(draws_level: np.ndarray, draws_growth: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Quantiles (5, 50, 95%) over draws of 10^(level + growth·(t − anchor)) on the grid `x`."""
    log_values = draws_level[:, None] + draws_growth[:, None] * (x[None, :] - ANCHOR_YEAR)
    return 10.0 ** np.quantile(log_values, [0.05, 0.5, 0.95], axis=0)


def frontier_fit(result: RunResult) -> go.Figure:
    """Fitted frontiers (posterior median and 90% band of level + growth·(t − 2024)) over the recorded runs:
    dataset size (tokens) and training compute (FLOP), both on log axes."""
    posterior = result.idata["posterior"]
    runs = result.bundle.runs
    panels = (
        ("dataset", "dataset_tokens", "tokens", "dataset_run", None, "Dataset size (tokens, log scale)"),
        ("compute", "training_compute_flop", "FLOP", "compute_run", COMPUTE_WINDOW_START,
         "Training compute (FLOP, log scale)"),
    )  # fmt: skip
    traces: list[dict[str, Any]] = []
    layout = _page_layout(
        "Stochastic-frontier fits: largest dataset and largest training run over time",
        "Only frontier candidates (within 1 order of magnitude of the running record) enter the fit; "
        "compute is fitted from 2020.",
        height=620,
        top=125,
    )
    layout["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}
    for col, (prefix, column, unit, coord, start, y_title) in enumerate(panels, start=1):
        x_axis, y_axis, x_key, y_key = _axis_names(col)
        level, growth = f"{prefix}_level", f"{prefix}_growth"
        if level in posterior and growth in posterior:
            members = _fit_members(result, coord)
            years = runs.loc[runs[column].notna(), "decimal_year"].to_numpy(dtype=float)
            if members is not None:
                used = runs["model"].astype(str).isin(members) & runs[column].notna()
                years = runs.loc[used, "decimal_year"].to_numpy(dtype=float) if used.any() else years
            x0 = float(years.min()) if start is None else max(float(start), float(years.min()))
            x = np.linspace(x0, max(float(years.max()), ANCHOR_YEAR) + 0.5, FRONTIER_GRID_POINTS)
            lo, med, hi = _frontier_band(
                np.asarray(posterior[level].values, dtype=float).ravel(),
                np.asarray(posterior[growth].values, dtype=float).ravel(),
                x,
            )
            color = scenario_color(0) if prefix == "dataset" else scenario_color(1)
            group = f"frontier-{prefix}"
            band = _band_traces(
                x, lo, hi, name=f"Fitted {prefix} frontier 5–95%", color=color, alpha=0.2, group=group,
                visible=True, hover_unit=unit,
            )  # fmt: skip
            median = scatter_trace(
                x=x,
                y=med,
                mode="lines",
                line={"color": color, "width": 2.5},
                name=f"Fitted {prefix} frontier: posterior median, shaded 90%",
                legendgroup=group,
                hovertemplate=f"%{{x:.1f}}: frontier median %{{y:.3g}} {unit}<extra></extra>",
            )
            traces += [trace | {"xaxis": x_axis, "yaxis": y_axis} for trace in [*band, median]]
        points = _recorded_run_traces(result, column, unit, coord, x_axis, y_axis, mark_leaks=prefix == "dataset")
        traces += [trace | {"showlegend": col == 1 or "Leaked" in trace["name"]} for trace in points]
        layout[x_key] = {"title": {"text": "Publication date (year)"}}
        layout[y_key] = {"title": {"text": y_title}, "type": "log", "exponentformat": "power", "dtick": 1}
    grid_spec = {
        "rows": 1,
        "cols": 2,
        "subplot_titles": ("Dataset size of recorded runs", "Training compute of recorded runs"),
        "horizontal_spacing": 0.1,
    }
    return make_figure(traces, layout, subplots=grid_spec)


#: The report's figures, by name (also the PNG file names), in report order.
FIGURE_BUILDERS: dict[str, Callable[[RunResult], go.Figure]] = {
    "fan_chart": fan_chart,
    "probability_chart": probability_chart,
    "stock_decomposition": stock_decomposition,
    "stock_estimates_chart": stock_estimates_chart,
    "prior_posterior": prior_posterior,
    "frontier_fit": frontier_fit,
}


def build_all(result: RunResult) -> dict[str, go.Figure]:
    """Every figure of the report, by name."""
    return {name: builder(result) for name, builder in FIGURE_BUILDERS.items()}
