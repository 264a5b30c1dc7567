"""What the figures read from a `RunResult`: scenario names in run order, yearly quantile bands, the runs the
fit used, and the recorded training runs as points. Shared by the forecast, stock and fit figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.data import is_leak, published
from forecast.report.figures.style import SOURCE_CHARS, scatter_trace, truncate

if TYPE_CHECKING:
    from forecast.run.result import RunResult

# The fan chart starts with at most this many scenarios shown; the rest are one legend click away.
MAX_VISIBLE_SCENARIOS = 4

# The supply a scenario's demand is compared with: the effective stock plus any accessible non-public stocks
# (`stock_total` in the bands; equal to `stock_effective` when a scenario adds none).
SUPPLY = "stock_total"


def scenario_names(result: RunResult) -> list[str]:
    """Scenario names in run order."""
    return [str(name) for name in result.bands["scenario"].values]


def scenario_scalings(result: RunResult) -> dict[str, str | None]:
    """Scenario name → its demand model ('historical', 'compute', 'mixture'), from the run's resolved scenarios."""
    return {s.name: s.scaling for s in result.scenarios}


def headline_scenarios(result: RunResult, limit: int = MAX_VISIBLE_SCENARIOS) -> list[str]:
    """Scenarios shown by default where showing all would clutter: those with a published counterpart, else
    the first `limit`."""
    names = scenario_names(result)
    scalings = scenario_scalings(result)
    matched = [n for n in names if published.counterpart(n, scalings.get(n)) is not None]
    return (matched or names)[:limit]


def band_frame(result: RunResult, variable: str, scenario: str) -> pd.DataFrame:
    """Yearly quantiles of one band variable for one scenario (rows year, columns quantile), NaN rows dropped."""
    da = result.bands[variable].sel(scenario=scenario)
    frame = pd.DataFrame(
        da.values, index=result.bands["year"].values.astype(float), columns=result.bands["quantile"].values
    )
    return frame.dropna(how="all")


def nearest_quantile(frame: pd.DataFrame, quantile: float) -> np.ndarray:
    """The column of a `band_frame` nearest to `quantile`, as floats."""
    column = min(frame.columns, key=lambda q: abs(float(q) - quantile))
    return frame[column].to_numpy(dtype=float)


def fit_members(result: RunResult, coord: str) -> set[str] | None:
    """Names of the runs the fit used for one likelihood (from the observed-data coordinates), if known."""
    try:
        return {str(v) for v in result.idata["observed_data"][coord].values}
    except (KeyError, AttributeError, TypeError):
        return None


def exhaustion_x_max(result: RunResult, names: Sequence[str]) -> float:
    """Right end of time axes: a few years past the latest 95th percentile of the given scenarios."""
    summary = result.summary.set_index("scenario")
    horizon = float(np.nanmax(result.exhaustion["horizon"].values))
    ends = [float(summary.loc[n, "q95"]) for n in names if n in summary.index]
    finite = [e for e in ends if np.isfinite(e)]
    if len(finite) < len(ends) or not finite:
        return horizon
    return float(min(horizon, max(2032.0, math.ceil(max(finite)) + 4)))


def stock_groups(result: RunResult) -> list[list[str]]:
    """Scenarios grouped by identical effective-stock bands (scenarios share the stock unless they change it)."""
    groups: list[tuple[np.ndarray, list[str]]] = []
    for name in scenario_names(result):
        values = np.nan_to_num(result.bands[SUPPLY].sel(scenario=name).values, nan=-1.0)
        for reference, members in groups:
            if reference.shape == values.shape and np.allclose(reference, values, rtol=1e-9):
                members.append(name)
                break
        else:
            groups.append((values, [name]))
    return [members for _, members in groups]


def recorded_run_traces(
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
    members = fit_members(result, coord)
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
                rows["source"].map(lambda s: truncate(s, SOURCE_CHARS)),
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
