"""What `forecast run` prints at the end: the fitted quantities with intervals and the headline dates.

The report has everything; the terminal gets the few numbers an analyst checks first (issue acceptance: the
fitted frontier growth, starting level and effective stock are printed with their intervals).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.projection.stock import users_growth_rate

# 90% intervals on the terminal, as in the report's parameter table.
LOW, HIGH = 0.05, 0.95


def _interval(values: np.ndarray, scale: str = "") -> str:
    low, mid, high = np.nanquantile(np.asarray(values, dtype=float).ravel(), [LOW, 0.5, HIGH])
    if scale == "pow10":
        return f"{10**mid:.3g} [{10**low:.3g}, {10**high:.3g}]"
    if scale == "factor":
        return f"{10**mid:.2f}x/yr [{10**low:.2f}, {10**high:.2f}]"
    return f"{mid:.3g} [{low:.3g}, {high:.3g}]"


def _year(value: float, horizon: float) -> str:
    return f"after {horizon:.0f}" if not np.isfinite(value) else f"{value:.1f}"


def fitted_lines(result: Any) -> list[str]:
    """Posterior medians and 90% intervals of the quantities the forecast rests on."""
    post = result.idata.posterior
    lines = [
        "fitted (posterior median [90% interval]):",
        f"  frontier dataset at 2024-01-01: {_interval(post['dataset_level'].values, 'pow10')} tokens",
        f"  frontier dataset growth: {_interval(post['dataset_growth'].values)} OOM/yr "
        f"= {_interval(post['dataset_growth'].values, 'factor')}",
        f"  frontier compute at 2024-01-01: {_interval(post['compute_level'].values, 'pow10')} FLOP",
        f"  frontier compute growth: {_interval(post['compute_growth'].values)} OOM/yr",
        "  stock growth from person-years online, 2024: "
        + _interval(100 * users_growth_rate(2024.0, post["adoption_midpoint"].values, post["adoption_rate"].values))
        + " %/yr",
    ]
    if "ai_c_max" in post:
        lines.append(f"  AI share of new web text, plateau: {_interval(post['ai_c_max'].values)}")
    bands = result.bands
    first = str(bands["scenario"].values[0])
    if 2024.0 in bands["year"].values:
        q = bands["stock_effective"].sel(scenario=first, year=2024.0).values
        quantiles = list(bands["quantile"].values)
        lines.append(
            f"  effective stock 2024 ({first}): {q[quantiles.index(0.5)]:.3g} "
            f"[{q[quantiles.index(0.05)]:.3g}, {q[quantiles.index(0.95)]:.3g}] tokens"
        )
    d = result.diagnostics
    lines.append(
        f"  diagnostics: {d.divergences} divergences, max R-hat {d.max_r_hat:.3f}, min bulk ESS {d.min_ess_bulk:.0f}"
    )
    return lines


def headline_lines(result: Any) -> list[str]:
    """Median and 80% interval of the exhaustion date per scenario."""
    width = max(len(str(s)) for s in result.summary["scenario"])
    horizons = dict(zip(result.exhaustion["scenario"].values, result.exhaustion["horizon"].values, strict=True))
    lines = ["exhaustion date (median [80% interval]; share not exhausted by the horizon):"]
    for row in result.summary.itertuples():
        h = float(horizons[row.scenario])
        lines.append(
            f"  {row.scenario:<{width}}  {_year(row.median, h)} [{_year(row.q10, h)}, {_year(row.q90, h)}]"
            f"  {row.p_not_by_horizon:.0%}"
        )
    return lines


def summary_file_lines(summary: Any) -> list[str]:
    """Median and 80% interval per scenario from a summary.csv table (when nothing was recomputed)."""
    width = max(len(str(s)) for s in summary["scenario"])
    lines = ["exhaustion date (median [80% interval]; share not exhausted by the horizon):"]
    for row in summary.itertuples():
        years = [f"{v:.1f}" if np.isfinite(v) else "after the horizon" for v in (row.median, row.q10, row.q90)]
        lines.append(f"  {row.scenario:<{width}}  {years[0]} [{years[1]}, {years[2]}]  {row.p_not_by_horizon:.0%}")
    return lines


def as_of_line(metadata: dict[str, Any]) -> str:
    """When the forecast speaks from (`pipeline.as_of`)."""
    line = f"as of {metadata.get('as_of')}, data to {metadata.get('data_to')}"
    if metadata.get("latest_run_published"):
        line += f" (latest training run published {metadata['latest_run_published']})"
    record = metadata.get("record_at_cutoff")
    if record:
        line += f"; record then: {record['tokens']:.3g} tokens ({record['model']}, {record['published']})"
    return line


def nowcast_lines(table: Any) -> list[str]:
    """Per conditioned scenario: the weights' effective sample size, k̂ and the draws removed (`nowcast.csv`)."""
    if table is None or len(table) == 0:
        return []
    width = max(len(str(s)) for s in table["scenario"])
    lines = ["tied to the record at the cut-off (effective sample size of n; Pareto k; draws removed):"]
    for row in table.itertuples():
        k = f"{row.pareto_k:.2f}" if np.isfinite(row.pareto_k) else "-"
        flag = "" if row.weights_reliable else "  UNRELIABLE (k > 0.7)"
        lines.append(
            f"  {row.scenario:<{width}}  ESS {row.ess:.0f} of {row.draws}; k {k}; removed {row.share_removed:.1%}"
            f"; P(by end of {row.cutoff[:4]}) {row.p_exhausted_by_end_of_cutoff_year:.1%}{flag}"
        )
    return lines


def run_summary(result: Any) -> str:
    """The end-of-run text printed by `forecast run`."""
    lines = [as_of_line(result.metadata), *fitted_lines(result), *headline_lines(result)]
    return "\n".join(lines + nowcast_lines(getattr(result, "nowcast", None)))
