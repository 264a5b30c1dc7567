"""What the report says about when it speaks from: the as-of date, the record at the cut-off and how each
scenario was tied to it (`nowcast.csv`), and the forecast at earlier vintages (`vintages.csv`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.report.context import format_year

if TYPE_CHECKING:
    from forecast.run.result import RunResult


def _tokens(value: float) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value / 1e12:.3g}T"


def as_of_context(result: RunResult) -> dict[str, Any]:
    """The as-of line: the cut-off, the latest run kept, the record then, and where the projections start."""
    metadata = result.metadata
    starts = sorted({s.projection_start.isoformat() for s in result.scenarios})
    record = metadata.get("record_at_cutoff")
    return {
        "as_of": metadata.get("as_of", result.config.data.cutoff.isoformat()),
        "data_to": metadata.get("data_to", result.config.data.cutoff.isoformat()),
        "latest_run": metadata.get("latest_run_published"),
        "record": None
        if not record
        else f"{_tokens(record['tokens'])} tokens ({record['model']}, {record['published']})",
        "starts": ", ".join(starts),
    }


def nowcast_rows(result: RunResult) -> list[dict[str, str]]:
    """One row per scenario tied to the record: effective sample size, k̂, the draws removed, the evidence."""
    rows = []
    for row in result.nowcast.itertuples():
        k = row.pareto_k
        rows.append(
            {
                "scenario": row.scenario,
                "ess": f"{row.ess:.0f} of {row.draws}",
                "pareto_k": "—" if not np.isfinite(k) else f"{k:.2f}",
                "reliable": "yes" if row.weights_reliable else "NO (k̂ > 0.7)",
                "evidence": f"{row.record_evidence_log10:+.2f}",
                "below_record": f"{row.share_stock_below_record:.1%}",
                "at_cutoff": f"{row.share_exhausted_at_cutoff:.1%}",
                "p_year": f"{row.p_exhausted_by_end_of_cutoff_year:.1%}",
                "year": row.cutoff[:4],
            }
        )
    return rows


def vintage_rows(result: RunResult) -> list[dict[str, str]]:
    """The vintage table as text: median and 80% interval per vintage and scenario, with the fit's state."""
    horizon = float(np.max(result.exhaustion["horizon"].values)) if "horizon" in result.exhaustion else None
    rows = []
    for row in result.vintages.itertuples():
        rows.append(
            {
                "vintage": row.vintage,
                "scenario": row.scenario,
                "median": format_year(row.median, horizon),
                "interval": f"{format_year(row.q10, horizon)} – {format_year(row.q90, horizon)}",
                "runs": str(row.runs_with_tokens),
                "record": f"{_tokens(row.record_tokens)} ({row.record_model})" if row.record_model else "—",
                "ess": "—" if not np.isfinite(row.ess) else f"{row.ess:.0f}",
                "fit": "converged" if row.converged else f"NOT converged ({row.divergences} divergences)",
            }
        )
    return rows
