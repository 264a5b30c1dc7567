"""What the report's tables and sentences say: each builder turns part of a `RunResult` into rows of text for the
template (`forecast.report.page.render_report` passes them on as they are).

Numbers are formatted here, with the shared helpers of `forecast.formatting`; the scenarios are the run's own
resolved scenarios (`result.scenarios`), never the config resolved again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.data import published
from forecast.formatting import DASH, format_percent, format_sci, format_tokens
from forecast.model.sample import MAX_R_HAT, MIN_ESS_BULK, block_passes
from forecast.model.sensitivity import stored_sensitivity
from forecast.projection import switches
from forecast.report.figures import scenario_names

if TYPE_CHECKING:
    from forecast.config import ResolvedScenario
    from forecast.run.result import RunResult


# ----------------------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------------------


def format_year(value: float | None, horizon: float | None = None) -> str:
    """Decimal year with one decimal; +inf (after the horizon) as 'after <horizon>'; missing as '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    value = float(value)
    if math.isinf(value):
        if value < 0:
            return DASH
        return f"after {horizon:.0f}" if horizon is not None else "after the horizon"
    return f"{value:.1f}"


def _format_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, int | np.integer):
        return str(value)
    value = float(value)
    if 1e3 <= abs(value) < 1e5:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.4g}" if 1e-3 <= abs(value) < 1e5 or value == 0 else f"{value:.3g}"


def _paper_year(value: float | None, approximate: bool) -> str:
    if value is None:
        return DASH
    return f"~{value:.0f}" if approximate else f"{value:.0f}"


# ----------------------------------------------------------------------------------------------------
# Table contexts
# ----------------------------------------------------------------------------------------------------


def scenarios_by_name(result: RunResult) -> dict[str, ResolvedScenario]:
    """The run's resolved scenarios by name, in run order."""
    return {s.name: s for s in result.scenarios}


def headline_rows(result: RunResult) -> list[dict[str, Any]]:
    """One row per scenario: this forecast's numbers and, where one exists, the published counterpart."""
    resolved = scenarios_by_name(result)
    horizons = dict(
        zip(
            (str(s) for s in result.exhaustion["scenario"].values),
            np.asarray(result.exhaustion["horizon"].values, dtype=float),
            strict=True,
        )
    )
    rows = []
    for _, row in result.summary.iterrows():
        name = str(row["scenario"])
        horizon = horizons.get(name)
        scenario = resolved.get(name)
        key = published.counterpart(name, scenario.scaling if scenario is not None else None)
        paper = published.PUBLISHED_EXHAUSTION.get(key) if key else None
        repro = published.REPRODUCED_EXHAUSTION.get(key) if key else None
        out = {
            "scenario": name,
            "description": scenario.description if scenario is not None else "",
            "median": format_year(row["median"], horizon),
            "interval_80": f"{format_year(row['q10'], horizon)} – {format_year(row['q90'], horizon)}",
            "interval_90": f"{format_year(row['q05'], horizon)} – {format_year(row['q95'], horizon)}",
            "not_by_horizon": format_percent(row["p_not_by_horizon"]),
            "horizon": f"{horizon:.0f}" if horizon is not None else "",
            "tokens": format_sci(row["tokens_at_crossing_median"]),
            "compute": format_sci(row["compute_at_crossing_median"]),
            "paper_label": paper.label if paper else DASH,
            "paper_median": _paper_year(paper.median, paper.approximate) if paper else DASH,
            "paper_interval_80": (
                f"{paper.interval_80[0]:.0f} – {paper.interval_80[1]:.0f}" if paper and paper.interval_80 else DASH
            ),
            "paper_source": paper.source if paper else "",
            "repro_median": f"{repro.median:.1f}" if repro else DASH,
            "repro_interval_80": _repro_interval(repro) if repro else DASH,
        }
        rows.append(out)
    return rows


def _repro_interval(repro: published.ReproducedExhaustion) -> str:
    low, high = repro.interval_80_low
    lower = f"{low:.1f}" if low == high else f"≈{low:.1f}–{high:.1f}"
    return f"{lower}, {repro.interval_80_high:.1f}"


def diagnostics_context(result: RunResult) -> dict[str, Any]:
    """Per-parameter summary rows with flags, and the run-level numbers."""
    d = result.diagnostics
    table = d.table
    lower = next((c for c in table.columns if str(c).endswith("_lb")), None)
    upper = next((c for c in table.columns if str(c).endswith("_ub")), None)
    rows = []
    for name, row in table.iterrows():
        r_hat, ess_bulk, ess_tail = (float(row.get(k, np.nan)) for k in ("r_hat", "ess_bulk", "ess_tail"))
        rows.append(
            {
                "name": str(name),
                "mean": _format_number(row.get("mean")),
                "sd": _format_number(row.get("sd")),
                "interval": f"{_format_number(row[lower])} – {_format_number(row[upper])}" if lower and upper else "",
                "ess_bulk": f"{ess_bulk:.0f}" if np.isfinite(ess_bulk) else "",
                "ess_tail": f"{ess_tail:.0f}" if np.isfinite(ess_tail) else "",
                "r_hat": f"{r_hat:.3f}" if np.isfinite(r_hat) else "",
                "bad_r_hat": bool(np.isfinite(r_hat) and r_hat > MAX_R_HAT),
                "bad_ess": bool(np.isfinite(ess_bulk) and ess_bulk < MIN_ESS_BULK),
            }
        )
    sampler = result.metadata.get("sampler") or result.config.sampler.model_dump(mode="json")
    blocks = [
        {
            "name": str(name),
            "divergences": int(row["divergences"]),
            "max_r_hat": f"{row['max_r_hat']:.3f}",
            "min_ess_bulk": f"{row['min_ess_bulk']:.0f}",
            "min_bfmi": f"{row['min_bfmi']:.2f}" if np.isfinite(row["min_bfmi"]) else "",
            "depth_share": f"{row['max_treedepth_share']:.1%}",
            "target_accept": f"{row['target_accept']:g}",
            "bad": not block_passes(row),
        }
        for name, row in d.blocks.iterrows()
    ]
    return {
        "rows": rows,
        "blocks": blocks,
        "min_bfmi": f"{d.min_bfmi:.2f}" if np.isfinite(d.min_bfmi) else "",
        "depth_share": f"{d.max_depth_share:.1%}",
        "divergences": d.divergences,
        "max_r_hat": f"{d.max_r_hat:.3f}",
        "min_ess_bulk": f"{d.min_ess_bulk:.0f}",
        "min_ess_tail": f"{d.min_ess_tail:.0f}",
        "converged": d.converged,
        "problems": d.problems(),
        "max_r_hat_threshold": MAX_R_HAT,
        "min_ess_threshold": MIN_ESS_BULK,
        "sampler": sampler,
        "fit_reused": result.fit_reused,
    }


def sensitivity_rows(result: RunResult) -> list[dict[str, Any]]:
    """The power-scaling table stored with the fit, one row per frontier parameter (empty without one)."""
    table = stored_sensitivity(result.idata)
    return [
        {
            "name": str(name),
            "prior": f"{float(row['prior']):.3f}",
            "likelihood": f"{float(row['likelihood']):.3f}",
            "diagnosis": str(row["diagnosis"]),
            "flagged": str(row["diagnosis"]) != "✓",
        }
        for name, row in table.iterrows()
    ]


def _interval_text(interval: Any) -> str:
    if interval is None:
        return ""
    if interval.distribution == "uniform":
        return f"uniform [{interval.low:g}, {interval.high:g}]"
    text = f"{interval.distribution} {interval.mass:.0%} [{interval.low:g}, {interval.high:g}]"
    if interval.ceiling is not None:
        text += f", ceiling {interval.ceiling:g}"
    return text


def _overtraining_text(ot: Any) -> str:
    if ot.profit_model is not None:
        policy = f"profit model '{ot.profit_model}' ([P2] App. F)"
    elif ot.factor == 1:
        policy = "none (compute-optimal, 20 tokens/parameter)"
    else:
        policy = f"{ot.factor:g}x tokens per parameter"
    arm = "compute arm only" if ot.applies_to == "compute" else "both arms"
    return policy if ot.factor == 1 and ot.profit_model is None else f"{policy}; {arm}"


#: How the assumptions table names each limit's prior (`ComputeLimits` field, label).
LIMIT_LABELS = (
    ("spending_share_of_gwp", "spending ≤ share of GWP"),
    ("spending_cap_usd", "spending ≤ $"),
    ("power_gw", "power, GW at 2030"),
    ("chips_h100e", "chips, H100e at 2030"),
)


def _bend_text(slowdown: Any, limits: Any) -> str:
    """What bends the compute trend: the limits (each prior), a hand-set slowdown, or nothing."""
    if limits is not None:
        parts = [
            f"{label} {_interval_text(getattr(limits, key))}" for key, label in LIMIT_LABELS if getattr(limits, key)
        ]
        return "limits: " + ("; ".join(parts) if parts else "none on")
    return _slowdown_text(slowdown)


def _slowdown_text(slowdown: Any) -> str:
    if slowdown is None:
        return "none"
    start = slowdown.start_year
    when = f"{start.low:g}–{start.high:g} (uniform)" if hasattr(start, "low") else f"{start:g}"
    return f"from {when}, then {slowdown.growth_after_oom_per_year:g} OOM/yr"


def assumption_rows(result: RunResult) -> list[dict[str, str]]:
    """Resolved settings of each scenario, as text."""
    from forecast.config import PriorOverrides

    defaults = PriorOverrides()
    rows = []
    for name, s in scenarios_by_name(result).items():
        overrides = [
            f"{field}: {_interval_text(getattr(s.priors, field))}"
            for field in type(s.priors).model_fields
            if getattr(s.priors, field) != getattr(defaults, field)
        ]
        rows.append(
            {
                "scenario": name,
                "description": s.description,
                "scaling": s.scaling,
                "overtraining": _overtraining_text(s.overtraining),
                "slowdown": _bend_text(s.compute_slowdown, s.compute_limits),
                "horizon": str(s.horizon),
                "start": s.projection_start.isoformat(),
                "historical": s.historical_trend.source
                + (
                    f" (anchor {s.historical_trend.anchor_date.isoformat()})"
                    if s.historical_trend.source == "given"
                    else ""
                ),
                "compute": s.compute_trend.source,
                "stock_growth": s.stock_growth,
                "overrides": "; ".join(overrides) if overrides else "none",
            }
        )
    return rows


def prior_rows(result: RunResult) -> list[dict[str, str]]:
    """Rows of data/stock_priors.csv as used by this run."""
    priors = result.bundle.stock_priors
    rows = []
    for parameter, row in priors.iterrows():
        rows.append(
            {
                "parameter": str(parameter),
                "distribution": str(row.get("distribution", "")),
                "interval": f"{_format_number(row.get('low'))} – {_format_number(row.get('high'))}",
                "mass": f"{float(row['mass']):.0%}" if pd.notna(row.get("mass")) else "",
                "ceiling": _format_number(row.get("ceiling")) if pd.notna(row.get("ceiling")) else "",
                "median": _format_number(row.get("median")),
                "unit": str(row.get("unit", "")),
                "source": str(row.get("source", "")),
                "reliability": str(row.get("reliability", "")),
            }
        )
    return rows


_URL = re.compile(r"https?://[^\s,;)\]]+")


def _links(values: Any) -> list[dict[str, str]]:
    """Text entries of a sources.yml url field, each with its first URL for an <a href>."""
    items = values if isinstance(values, list) else [values] if values else []
    out = []
    for item in items:
        text = str(item)
        match = _URL.search(text)
        out.append({"text": text, "href": match.group(0) if match else ""})
    return out


def source_rows(result: RunResult) -> tuple[list[dict[str, Any]], str | None]:
    """Data files read by the run, with sha256 and their sources.yml record (title, citation, links)."""
    from forecast.data.provenance import load_sources

    error = None
    try:
        records = load_sources(result.bundle.data_dir).get("files", {})
    except Exception as exc:  # provenance was verified before the fit; still, never fail the report on it
        records, error = {}, str(exc)
    rows = []
    for name, sha in result.bundle.sha256.items():
        record = records.get(name, {}) if isinstance(records, Mapping) else {}
        rows.append(
            {
                "file": name,
                "sha256": sha,
                "title": str(record.get("title", "")),
                "citation": " ".join(str(record.get("citation", "")).split()),
                "links": _links(record.get("url")),
                "rows": record.get("rows", ""),
                "accessed": str(record.get("date_accessed", "")),
            }
        )
    return rows, error


def published_context() -> dict[str, Any]:
    """The paper's figures for the side panel."""
    return {
        "paper": published.PAPER,
        "paper_url": published.PAPER_URL,
        "blog_url": published.BLOG_URL,
        "exhaustion": list(published.PUBLISHED_EXHAUSTION.values()),
        "reproduced": published.REPRODUCED_EXHAUSTION,
        "stocks": [published.EFFECTIVE_STOCK_2024, published.INDEXED_WEB_2024],
        "format_sci": format_sci,
        "format_tokens": format_tokens,
        "repro_interval": _repro_interval,
        "paper_year": _paper_year,
    }


# ----------------------------------------------------------------------------------------------------
# Lead sentence and the sections beyond the paper
# ----------------------------------------------------------------------------------------------------


def lead_scenario(result: RunResult) -> str:
    """The scenario the report's lead sentence quotes: the one matching the paper's main result, else the first."""
    resolved = scenarios_by_name(result)
    names = scenario_names(result)
    for name in names:
        scaling = resolved[name].scaling if name in resolved else None
        if published.counterpart(name, scaling) == published.COMPUTE_OPTIMAL.key:
            return name
    return names[0]


def _effect_rows(result: RunResult, prefix: str | None = None, effect: str | None = None) -> list[dict[str, str]]:
    table = getattr(result, "effects", None)
    if table is None or table.empty:
        return []
    rows = []
    for row in table.itertuples():
        if (prefix and not row.effect.startswith(prefix)) or (effect and row.effect != effect):
            continue
        rows.append(
            {
                "scenario": row.scenario,
                "effect": row.effect,
                "median": format_year(row.median),
                "baseline": format_year(row.baseline_median),
                "shift": f"{row.shift_years:+.2f}" if np.isfinite(row.shift_years) else DASH,
                "censored": format_percent(row.p_not_by_horizon),
            }
        )
    return rows


def _extension_sources(result: RunResult) -> list[dict[str, str]]:
    """Every cited input of the extensions used by some scenario, with its interval and source."""
    rows, seen = [], set()
    for scenario in scenarios_by_name(result).values():
        for name, interval in switches.cited_priors(scenario):
            if name in seen:
                continue
            seen.add(name)
            rows.append(
                {
                    "name": name,
                    "interval": f"{interval.distribution} [{interval.low:.3g}, {interval.high:.3g}]",
                    "source": interval.source,
                }
            )
    return rows


def _synthetic_rows(result: RunResult) -> list[dict[str, str]]:
    """The synthetic-data switch's two dates per scenario."""
    return [
        r for r in _effect_rows(result) if r["effect"] in ("with synthetic data", "real share below the collapse guard")
    ]


#: Each switch's rows in the report, by its registry name (`forecast.projection.switches.SWITCHES`): the
#: template's key for them and their builder. A new switch adds its entry here and its section in the template.
SWITCH_SECTIONS: dict[str, tuple[str, Callable[[RunResult], list[dict[str, str]]]]] = {
    "human_share": ("human_share", lambda result: _effect_rows(result, effect="scenario as configured")),
    "synthetic": ("synthetic", _synthetic_rows),
    "extra_stocks": ("nonpublic", lambda result: _effect_rows(result, prefix="extra stock: ")),
}


def extensions_context(result: RunResult) -> dict[str, Any]:
    """Numbers and sources of the four sections beyond the paper."""
    believe = getattr(result, "believe", None)
    lead = lead_scenario(result)
    believe_rows = []
    if believe is not None and not believe.empty:
        for row in believe[believe["scenario"] == lead].itertuples():
            believe_rows.append(
                {
                    "input": row.input,
                    "value": f"{row.value:.4g}" if row.reachable else "not within the draws",
                    "percentile": f"{row.prior_percentile:.0%}" if row.reachable else DASH,
                    "direction": row.direction,
                    "index": f"{row.first_order_index:.3f}",
                }
            )
    post = result.idata.posterior
    plateau = None
    if "ai_c_max" in post:
        q = np.quantile(np.asarray(post["ai_c_max"].values).ravel(), [0.05, 0.5, 0.95])
        plateau = f"{q[1]:.0%} [90%: {q[0]:.0%}, {q[2]:.0%}]"
    return {
        **{SWITCH_SECTIONS[name][0]: SWITCH_SECTIONS[name][1](result) for name in switches.SWITCHES},
        "believe": believe_rows,
        "believe_scenario": lead,
        "believe_target": "2035",
        "sources": _extension_sources(result),
        "ai_plateau": plateau,
    }
