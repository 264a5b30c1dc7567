"""The fit figures: each key parameter's posterior against its prior, and the fitted frontiers over the recorded
training runs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.model.frontier import ADOPTION_MIDPOINT_PRIOR, ADOPTION_RATE_PRIOR, COMPUTE_WINDOW_START
from forecast.model.trend import ANCHOR_YEAR, frontier_log10
from forecast.report.figures.reading import fit_members, recorded_run_traces
from forecast.report.figures.style import (
    MODEL_COLOR,
    PUBLISHED_COLOR,
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

    from forecast.run.result import RunResult

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
    layout = page_layout(
        "Prior vs. posterior of the key fitted parameters",
        "A posterior much narrower than its prior means the data, not the prior, set the value.",
        height=330 * rows + 170,
        top=125,
    )
    layout["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0}
    for i, p in enumerate(params):
        x_axis, y_axis, x_key, y_key = axis_names(i + 1)
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
                fillcolor=rgba(MODEL_COLOR, 0.45),
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
                    fillcolor=rgba(PUBLISHED_COLOR, 0.12),
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
    """Quantiles (5, 50, 95%) over draws of the frontier (`frontier_log10`, in tokens or FLOP) on the grid `x`."""
    log_values = frontier_log10(x[None, :], draws_level[:, None], draws_growth[:, None])
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
    record = "dataset_record_scale" in posterior
    layout = page_layout(
        ("Record-process dataset fit and stochastic-frontier compute fit" if record else "Stochastic-frontier fits")
        + ": largest dataset and largest training run over time",
        (
            "Dataset: F(t), where one release a year is larger, fitted to the record path (runs that set it); "
            if record
            else "Only frontier candidates (within 1 order of magnitude of the running record) enter the fit; "
        )
        + "compute is fitted from 2020.",
        height=620,
        top=125,
    )
    layout["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}
    for col, (prefix, column, unit, coord, start, y_title) in enumerate(panels, start=1):
        x_axis, y_axis, x_key, y_key = axis_names(col)
        level, growth = f"{prefix}_level", f"{prefix}_growth"
        if level in posterior and growth in posterior:
            members = fit_members(result, coord)
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
            band = band_traces(
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
        points = recorded_run_traces(result, column, unit, coord, x_axis, y_axis, mark_leaks=prefix == "dataset")
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
