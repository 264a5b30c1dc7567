"""The report's table of the frontier models compared at the cut-off (`forecast.run.frontier_models`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from forecast.run.result import RunResult


def _year(value: float) -> str:
    return "after the horizon" if not np.isfinite(value) else f"{value:.1f}"


def _number(value: object, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def frontier_model_rows(result: RunResult) -> list[dict[str, str]]:
    """One row per model: its LOO (with the record processes' ranking), fitted growth and the scenario's date."""
    rows = []
    for row in result.frontier_models.itertuples():
        ranked = row.loo_rank is not None and not pd.isna(row.loo_rank)
        high = f" ({row.n_pareto_k_high} high)" if row.n_pareto_k_high else ""
        rows.append(
            {
                "model": f"{row.model} (this run's)" if row.default else str(row.model),
                "observations": f"{row.loo_observations} {'spells' if row.likelihood == 'record' else 'runs'}",
                "elpd": f"{row.elpd_loo:.1f} ± {row.elpd_loo_se:.1f}",
                "p_loo": _number(row.p_loo),
                "pareto_k": f"{row.pareto_k_max:.2f}{high}",
                "difference": f"{row.elpd_diff:.2f} ± {row.elpd_diff_se:.2f}" if ranked else "not comparable",
                "weight": _number(row.stacking_weight, 2) if ranked else "–",
                "growth": f"{row.growth_median:.2f}",
                "date": f"{_year(row.median)} [{_year(row.q10)}, {_year(row.q90)}]",
                "fit": "converged" if row.converged else f"NOT converged ({row.divergences} divergences)",
                "scenario": str(row.scenario),
                "flagged": "yes" if row.n_pareto_k_high or not row.converged else "",
            }
        )
    return rows
