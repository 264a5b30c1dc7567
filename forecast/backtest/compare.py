"""Frontier models compared by forecasting skill: the same rolling-origin backtest for each model of the frontier
dataset (`fit.frontier`), scored on the record after every cut-off.

Each model is the config with only `fit.frontier` changed, so priors, sampler, data and cut-offs are the same;
each fit is cached under its own key. Per model and cut-off the table gives the backtest scores of the record
1–3 years ahead (CRPS, 80%/90% coverage, log score: `forecast.backtest.scoring`), the leave-future-out log
density of the next one and three years of the record path (record-process models only: the stochastic frontier
has no likelihood for the record path), PSIS-LOO of the fit on what it saw (`forecast.model.loo`: ELPD ± SE,
p_loo, the largest Pareto k̂; at each cut-off the record processes are ranked on the same spells by ArviZ's
`compare`, with stacking weights), and the fit's diagnostics; pooled rows put every cut-off's points together.
The baseline's scores are the same for every model and are given once per cut-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from forecast.backtest.fit import Progress
from forecast.backtest.record import observed_runs
from forecast.backtest.result import BacktestResult, CutoffResult
from forecast.backtest.run import backtest_cutoff
from forecast.config import FRONTIER_MODELS, Config, with_frontier
from forecast.model.loo import compare_loo, dataset_loo_tree, loo_summary

COMPARISON_FILE = "model_comparison.csv"
SCORE_COLUMNS = ("coverage80", "coverage90", "crps", "log_score")
#: PSIS-LOO columns per fit (`LooSummary`) and per cut-off ranking of the record processes (`compare_loo`).
LOO_COLUMNS = ("elpd_loo", "elpd_loo_se", "p_loo", "pareto_k_max", "n_pareto_k_high")
RANK_COLUMNS = ("loo_rank", "elpd_diff", "elpd_diff_se", "stacking_weight")


def _row(model: str, c: CutoffResult) -> dict[str, object]:
    m, b = c.scored.model, c.scored.baseline
    d = c.fit.diagnostics
    return {
        "model": model,
        "cutoff": c.cutoff.isoformat(),
        "n_observed": m["n_observed"],
        **{k: m[k] for k in SCORE_COLUMNS},
        "lfo_elpd_1y": m.get("lfo_elpd_1y"),
        "lfo_elpd_3y": m.get("lfo_elpd_3y"),
        "loo_observations": None,
        **dict.fromkeys((*LOO_COLUMNS, *RANK_COLUMNS)),
        "baseline_coverage80": b["coverage80"],
        "baseline_crps": b["crps"],
        "growth_median": c.posterior_summary["dataset_growth_oom_per_year"]["median"],
        "divergences": d.divergences,
        "dataset_divergences": _dataset_divergences(c),
        "max_r_hat": d.max_r_hat,
        "min_ess_bulk": d.min_ess_bulk,
    }


def compare_frontiers(
    config: Config,
    cutoffs: Sequence[dt.date],
    data_dir: Path = Path("data"),
    models: Sequence[str] = tuple(FRONTIER_MODELS),
    use_cache: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """One row per model and cut-off, and a pooled row per model (cutoff 'pooled'); see the module docstring."""
    later, _ = observed_runs(data_dir, None)
    rows = []
    record_trees: dict[str, dict[str, object]] = {}  # cut-off -> model -> LOO tree (record processes only)
    for name in models:
        cfg = with_frontier(config, name)
        results = [
            backtest_cutoff(
                cfg, c, data_dir, later, use_cache=use_cache, progress=progress, observed_to=config.data.cutoff
            )
            for c in sorted(cutoffs)
        ]
        per_cutoff = []
        for c in results:
            row = _row(name, c)
            tree = dataset_loo_tree(c.fit.idata, c.fit.data, cfg.fit)
            loo = loo_summary(tree)
            row.update({"loo_observations": loo.n_observations, **{k: getattr(loo, k) for k in LOO_COLUMNS}})
            if loo.likelihood == "record":
                record_trees.setdefault(row["cutoff"], {})[name] = tree  # type: ignore[index]
            per_cutoff.append(row)
        rows += per_cutoff
        pooled = BacktestResult(config=cfg, cutoffs=results, observed_source="").pooled
        rows.append(
            {
                "model": name,
                "cutoff": "pooled",
                "n_observed": pooled["model"]["n_observed"],
                **{k: pooled["model"][k] for k in SCORE_COLUMNS},
                "lfo_elpd_1y": _sum_or_none(r["lfo_elpd_1y"] for r in per_cutoff),
                "lfo_elpd_3y": _sum_or_none(r["lfo_elpd_3y"] for r in per_cutoff),
                # LOO is of each fit on its own data; the cut-offs' data overlap, so their ELPDs are not summed
                "loo_observations": None,
                **dict.fromkeys((*LOO_COLUMNS, *RANK_COLUMNS)),
                "baseline_coverage80": pooled["baseline"]["coverage80"],
                "baseline_crps": pooled["baseline"]["crps"],
                "growth_median": None,
                "divergences": sum(int(r["divergences"]) for r in per_cutoff),  # type: ignore[call-overload]
                "dataset_divergences": sum(int(r["dataset_divergences"]) for r in per_cutoff),  # type: ignore[call-overload]
                "max_r_hat": max(float(r["max_r_hat"]) for r in per_cutoff),  # type: ignore[arg-type]
                "min_ess_bulk": min(float(r["min_ess_bulk"]) for r in per_cutoff),  # type: ignore[arg-type]
            }
        )
    _add_ranks(rows, record_trees)
    return pd.DataFrame(rows)


def _add_ranks(rows: list[dict[str, object]], record_trees: dict[str, dict[str, object]]) -> None:
    """Fill the LOO ranking of the record processes at each cut-off where two or more were fitted."""
    for cutoff, trees in record_trees.items():
        if len(trees) < 2:
            continue
        ranks = compare_loo(trees)  # type: ignore[arg-type]
        for row in rows:
            if row["cutoff"] == cutoff and row["model"] in ranks.index:
                row.update({k: ranks.loc[row["model"], k] for k in RANK_COLUMNS})  # type: ignore[index]


def _dataset_divergences(c: CutoffResult) -> int:
    """Divergences of the dataset block, the block the models differ in (all blocks' are in `divergences`)."""
    diagnostics = c.fit.diagnostics
    blocks = diagnostics.blocks
    return int(blocks.loc["dataset", "divergences"]) if "dataset" in blocks.index else int(diagnostics.divergences)


def _sum_or_none(values: object) -> float | None:
    """Sum of the LFO terms over the cut-offs whose horizon is observed (the same cut-offs for every model, as
    that depends only on the cut-off), None when there are none."""
    known = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return float(sum(known)) if known else None


#: Columns of the comparison's markdown table (README, console): per model and cut-off.
TABLE_COLUMNS = (
    "model",
    "cutoff",
    "n_observed",
    "coverage80",
    "crps",
    "log_score",
    "lfo_elpd_1y",
    "lfo_elpd_3y",
    "elpd_loo",
    "elpd_loo_se",
    "pareto_k_max",
    "stacking_weight",
    "baseline_coverage80",
    "baseline_crps",
    "dataset_divergences",
    "divergences",
    "max_r_hat",
)


def comparison_markdown(table: pd.DataFrame, pooled_only: bool = False) -> str:
    """The comparison as a markdown table (numbers to 3 decimals; missing LFO terms as '–')."""
    rows = table[table["cutoff"] == "pooled"] if pooled_only else table
    shown = rows.loc[:, list(TABLE_COLUMNS)]
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for _, row in shown.iterrows():
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and pd.isna(value)):
                cells.append("–")
            elif isinstance(value, float):
                cells.append(f"{value:.3f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(table: pd.DataFrame, out_dir: Path) -> None:
    """`model_comparison.csv` (every column) and `model_comparison.md` (the markdown table) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / COMPARISON_FILE, index=False)
    (out_dir / COMPARISON_FILE.replace(".csv", ".md")).write_text(comparison_markdown(table), encoding="utf-8")
