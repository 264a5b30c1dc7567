"""The house style of the report's figures: colours, the plotly template, the shared layout, and the helpers that
make a figure from dict specs in one step.

The builders collect traces and layout as plain dicts and call `make_figure` once per figure, so plotly validates
every property once (instead of again at each `add_trace` and `update_layout`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    import numpy as np

# 18 distinguishable colours (D3, then Dark2) so that presets with many scenarios do not repeat a colour.
SCENARIO_COLORS: tuple[str, ...] = tuple(qualitative.D3) + tuple(qualitative.Dark2)
# Line styles of the stock medians when scenarios differ in their stock (first group solid).
STOCK_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash")
STOCK_COLOR = "#3a3a3a"
PUBLISHED_COLOR = "#b8860b"  # dark goldenrod: the paper's own numbers, wherever they appear
MODEL_COLOR = "#1f77b4"
TEMPLATE = "plotly_white"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", "size": 13}
SOURCE_CHARS = 90  # hover text: sources are truncated to this many characters
LABEL_CHARS = 60  # stock-estimate row labels


def rgba(color: str, alpha: float) -> str:
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
    (~12 ms a figure). `report.build_figures` wraps all figures in one block, so plotly's setter (which validates
    the template it is given) runs twice a report. The previous default is restored: a notebook's own figures are
    not affected."""
    previous = pio.templates.default
    if previous == TEMPLATE:
        yield
        return
    pio.templates.default = TEMPLATE
    try:
        yield
    finally:
        pio.templates.default = previous


def new_figure(*args: Any, **kwargs: Any) -> go.Figure:
    """`go.Figure(...)` in the house template."""
    with house_template():
        return go.Figure(*args, **kwargs)


def page_layout(title: str, subtitle: str | None = None, height: int = 560, top: int | None = None) -> dict[str, Any]:
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


def axis_names(index: int) -> tuple[str, str, str, str]:
    """(x, y, x layout key, y layout key) of subplot `index` (1-based, row by row): ("x", "y", "xaxis", "yaxis"),
    then ("x2", "y2", "xaxis2", "yaxis2"), ..."""
    suffix = "" if index == 1 else str(index)
    return f"x{suffix}", f"y{suffix}", f"xaxis{suffix}", f"yaxis{suffix}"


def make_figure(
    traces: list[dict[str, Any]], layout: dict[str, Any], subplots: dict[str, Any] | None = None
) -> go.Figure:
    """The figure of `traces` and `layout` in the house template; with `subplots` (`make_subplots` keyword
    arguments, lists as tuples), on that grid: the traces name their axes (`axis_names`) and `layout` is merged
    into the grid's own layout."""
    if subplots is not None:
        layout = merged(json.loads(_grid_layout(**subplots)), layout)
    return new_figure(data=traces, layout=layout)


@functools.cache
def _grid_layout(**subplots: Any) -> str:
    """The layout (as JSON, without a template) `make_subplots` makes for a grid: axis domains and anchors, subplot
    titles. Made once per grid in a process (~20 ms each; a `forecast watch` builds the same grids run after run)."""
    grid = make_subplots(**subplots).layout.to_plotly_json()
    grid.pop("template", None)
    return json.dumps(grid)


def merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`base` with `update` merged in: nested dicts merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        out[key] = merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def truncate(text: Any, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis (hover texts and row labels stay short); missing as ''."""
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def band_traces(
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
        fillcolor=rgba(color, alpha),
        name=name,
        legendgroup=group,
        showlegend=False,
        visible=visible,
        hovertemplate=f"{name}<br>%{{x:.0f}}: lower %{{y:.3g}} {hover_unit}<extra></extra>",
    )
    return [upper, lower]
