"""How a backtest reads: a small table per cut-off on the console, and the self-contained HTML page (one figure
per cut-off, the scores, and a plain-language interpretation written from the numbers) rendered from the packaged
template `forecast/backtest/templates/backtest.html.j2`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.predictive import BASELINE_GROWTH_OOM, BASELINE_TEXT, mapping_text
from forecast.backtest.result import BacktestResult, CutoffResult, realized_growth
from forecast.backtest.scoring import LOG_SCORE_MIN_BANDWIDTH_OOM
from forecast.formatting import DASH, format_percent, format_tokens

TEMPLATE_NAME = "backtest.html.j2"

# ----------------------------------------------------------------------------------------------------
# Console
# ----------------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 2) -> str:
    return DASH if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def console_summary(result: BacktestResult) -> str:
    """A small table per cut-off and the pooled line (model vs baseline)."""
    header = (
        f"{'cut-off':<10}  {'fit runs':>8}  {'record at cut-off':>17}  {'n':>3}  {'cov80 model/base':>16}  "
        f"{'cov90 model/base':>16}  {'CRPS model/base':>15}  {'log score model/base':>20}"
    )
    lines = [header]
    for c in result.cutoffs:
        m, b = c.scored.model, c.scored.baseline
        runs = f"{c.fit.data.dataset_runs.size}/{c.fit.data.compute_runs.size}"
        record = f"{10.0**c.scored.record.log10_at_cutoff:.2e}"
        lines.append(
            f"{c.cutoff.isoformat():<10}  {runs:>8}  {record:>17}  {m['n_observed']:>3}  "
            f"{_fmt(m['coverage80']) + ' / ' + _fmt(b['coverage80']):>16}  "
            f"{_fmt(m['coverage90']) + ' / ' + _fmt(b['coverage90']):>16}  "
            f"{_fmt(m['crps']) + ' / ' + _fmt(b['crps']):>15}  "
            f"{_fmt(m['log_score']) + ' / ' + _fmt(b['log_score']):>20}"
        )
    lines.append("(fit runs = runs with token counts / with compute used by the fit; scores on log10 tokens)")
    pooled = result.pooled
    m, b = pooled["model"], pooled["baseline"]
    label = "pooled" if len(result.cutoffs) > 1 else "overall"
    lines.append(
        f"{label}: coverage80 {_fmt(m['coverage80'])} (model) vs {_fmt(b['coverage80'])} (baseline); "
        f"CRPS {_fmt(m['crps'])} vs {_fmt(b['crps'])} OOM; n = {m['n_observed']} points"
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------------


def _scores_row(label: str, scores: dict[str, Any]) -> dict[str, str]:
    return {
        "label": label,
        "n": str(scores["n_observed"]),
        "coverage80": format_percent(scores["coverage80"]),
        "coverage90": format_percent(scores["coverage90"]),
        "crps": _fmt(scores["crps"], 3),
        "log_score": _fmt(scores["log_score"], 2),
        "misses": f"{scores['n_above80']} above / {scores['n_below80']} below" if scores["n_observed"] else DASH,
    }


def figure(result: CutoffResult) -> Any:
    """Forecast bands (model and baseline), observed record points, and the history known at the cut-off."""
    import plotly.graph_objects as go

    fig = go.Figure()
    dates = pd.to_datetime(result.forecast["date"])
    for table, name, color, fill in (
        (result.baseline_forecast, f"Baseline ({BASELINE_GROWTH_OOM} OOM/yr)", "#b8860b", "rgba(184,134,11,0.12)"),
        (result.forecast, "Model", "#1f77b4", "rgba(31,119,180,0.18)"),
    ):
        for lower, upper, opacity in (("q05", "q95", 0.6), ("q10", "q90", 1.0)):
            fig.add_trace(
                go.Scatter(x=dates, y=table[lower], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
            )
            fig.add_trace(
                go.Scatter(
                    x=dates,
                    y=table[upper],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=fill,
                    opacity=opacity,
                    name=f"{name} {'90' if lower == 'q05' else '80'}% band",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=table["q50"],
                mode="lines",
                line={"color": color, "dash": "dash" if "Baseline" in name else "solid"},
                name=f"{name} median",
            )
        )
    history = result.history
    start = pd.Timestamp(result.cutoff) - pd.DateOffset(years=3)
    shown = history[history["publication_date"] >= start]
    fig.add_trace(
        go.Scatter(
            x=shown["publication_date"],
            y=shown["dataset_tokens"],
            mode="markers",
            marker={"color": "#9aa0a6", "size": 6, "symbol": np.where(shown["leak"], "x", "circle")},
            name="Runs known at the cut-off (x = leak)",
            text=shown["model"],
            hovertemplate="%{text}<br>%{x|%Y-%m-%d}: %{y:.3s} tokens<extra></extra>",
        )
    )
    later = result.later[
        (result.later["publication_date"] > pd.Timestamp(result.cutoff))
        & (result.later["publication_date"] <= result.end)
    ]
    fig.add_trace(
        go.Scatter(
            x=later["publication_date"],
            y=later["dataset_tokens"],
            mode="markers",
            marker={"color": "#c5a3d9", "size": 6, "symbol": np.where(later["leak"], "x", "circle")},
            name="Runs after the cut-off (x = leak)",
            text=later["model"],
            hovertemplate="%{text}<br>%{x|%Y-%m-%d}: %{y:.3s} tokens<extra></extra>",
        )
    )
    points = result.scored.points
    record = result.scored.record
    fig.add_trace(
        go.Scatter(
            x=[record.holder_date, pd.Timestamp(result.cutoff), *points["date"]],
            y=10.0 ** np.array([record.log10_at_cutoff, record.log10_at_cutoff, *points["log10_record"]]),
            mode="lines",
            line={"color": "#1d1d1f", "shape": "hv", "width": 1},
            name="Observed record (step)",
            hoverinfo="skip",
        )
    )
    inside = points["model_inside80"].astype(bool) if len(points) else pd.Series(dtype=bool)
    fig.add_trace(
        go.Scatter(
            x=points["date"],
            y=10.0 ** points["log10_record"],
            mode="markers",
            marker={
                "color": np.where(inside, "#1d1d1f", "#d62728"),
                "size": 8,
                "line": {"color": "#fff", "width": 1},
            },
            name="Observed record points (red = outside the model's 80% band)",
            text=points["models"],
            hovertemplate="%{x|%Y-%m-%d}: record %{y:.3s} tokens<br>published: %{text}<extra></extra>",
        )
    )
    fig.add_shape(
        type="line",
        x0=pd.Timestamp(result.cutoff),
        x1=pd.Timestamp(result.cutoff),
        y0=0,
        y1=1,
        yref="paper",
        line={"color": "#5f6368", "dash": "dot"},
    )
    fig.update_layout(
        height=460,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        yaxis={"type": "log", "title": "dataset tokens", "exponentformat": "power"},
        xaxis={"title": "publication date"},
        legend={"font": {"size": 11}},
        hovermode="closest",
        template="plotly_white",
    )
    return fig


def band_width(c: CutoffResult) -> float:
    """Width of the model's 80% band at the horizon, OOM."""
    last = c.forecast.iloc[-1]
    return float(np.log10(last["q90"]) - np.log10(last["q10"]))


def _coverage_text(c: CutoffResult) -> str:
    m, b = c.scored.model, c.scored.baseline
    return (
        f"{c.cutoff.isoformat()}: {_fmt_share(m['coverage80'])} / {_fmt_share(b['coverage80'])}, "
        f"CRPS {_fmt(m['crps'], 3)} / {_fmt(b['crps'], 3)} (n = {m['n_observed']})"
    )


def _interval(summary: dict[str, float]) -> str:
    return f"{summary['median']:.2f} [{summary['q05']:.2f}, {summary['q95']:.2f}]"


def _narrow_text(c: CutoffResult) -> str:
    """What happened at a cut-off whose 80% band missed: where the fit stood and where the record went."""
    m = c.scored.model
    points = c.scored.points
    last = points.iloc[-1]
    frontier = c.posterior_summary["dataset_frontier_log10_at_cutoff"]
    chinchilla = c.posterior_summary["compute_chinchilla_tokens_log10_at_cutoff"]
    growth = c.posterior_summary["dataset_growth_oom_per_year"]
    real = realized_growth(c)
    return (
        f"At {c.cutoff.isoformat()}, {m['n_above80']} of {m['n_observed']} points are above the 80% band and "
        f"{m['n_below80']} below it. The frontier fitted on {c.fit.data.dataset_runs.size} runs stood at "
        f"10^{_interval(frontier)} tokens at the cut-off and grew {_interval(growth)} OOM/yr, from a known "
        f"record of 10^{c.scored.record.log10_at_cutoff:.2f}; the record then reached "
        f"10^{last['log10_record']:.2f} by {last['date']:%Y-%m-%d}"
        + (f" ({real:.2f} OOM/yr)" if real is not None else "")
        + f". For comparison, the compute frontier fitted at the same cut-off implied Chinchilla-optimal data of "
        f"10^{_interval(chinchilla)} tokens at the cut-off."
    )


def interpretation(result: BacktestResult) -> list[str]:
    """Plain-language reading of the scores, written from the numbers (whatever they are)."""
    pooled = result.pooled
    m, b = pooled["model"], pooled["baseline"]
    n = m["n_observed"]
    if not n:
        return ["No run with a token count was published after the cut-off(s) within the horizon: nothing to score."]
    scored = [c for c in result.cutoffs if c.scored.model["n_observed"]]
    paragraphs = [
        f"Over {n} observed record points the model's central 80% band held {m['coverage80']:.0%} of them "
        f"(nominal 80%) and the baseline's {b['coverage80']:.0%}; mean CRPS {m['crps']:.3f} vs {b['crps']:.3f} OOM "
        f"({'the model is better' if m['crps'] < b['crps'] else 'the baseline is better'}), mean log score "
        f"{m['log_score']:.2f} vs {b['log_score']:.2f}. The points are few and strongly dependent (the record is a "
        "running maximum: consecutive points share their value, so one miss repeats until the next record), so a "
        "coverage of a few dozen points is a rough check, not a precise estimate."
    ]
    if len(scored) > 1:
        paragraphs.append(
            "By cut-off (80% coverage model / baseline, CRPS model / baseline, OOM): "
            + "; ".join(_coverage_text(c) for c in scored)
            + "."
        )
    wide = [c for c in scored if c.scored.model["coverage80"] > 0.9]
    narrow = [c for c in scored if c.scored.model["coverage80"] < 0.7]
    if wide:
        paragraphs.append(
            "Too wide at "
            + ", ".join(c.cutoff.isoformat() for c in wide)
            + ": with few frontier runs before "
            + ("these cut-offs" if len(wide) > 1 else "this cut-off")
            + " the growth rate is barely identified (fitted growth, OOM/yr, median [90%]: "
            + "; ".join(
                f"{c.cutoff.isoformat()} {_interval(c.posterior_summary['dataset_growth_oom_per_year'])} on "
                f"{c.fit.data.dataset_runs.size} runs, the record then grew {_fmt(realized_growth(c))}"
                for c in wide
            )
            + "); that uncertainty times a lead of up to three years widens the 80% band to "
            + "; ".join(f"{band_width(c):.1f} OOM at {c.end:%Y-%m-%d}" for c in wide)
            + ". Covering the outcome this way is honest about what the data said then, but CRPS charges for the "
            "width."
        )
    if narrow:
        paragraphs.append(" ".join(_narrow_text(c) for c in narrow))
        above = sum(c.scored.model["n_above80"] for c in narrow)
        below = sum(c.scored.model["n_below80"] for c in narrow)
        if above >= below:
            paragraphs.append(
                "Why the band missed high: the only spread around the fitted frontier line is the noise σ_ε, "
                "fitted as the error of a single reported figure, plus the growth uncertainty; nothing in the "
                "model lets the frontier itself move off a straight line, and in the recorded runs disclosed "
                "sizes grew in steps (a plateau, then a jump as open-weight developers disclosed runs as large as"
                " the leaked closed ones). The record disclosed at the cut-off can also lag the true frontier: "
                "leaked figures (GPT-4 13T in 2023) were already near the sizes disclosed later, but the fit "
                "downweights them and they do not set the scored record. Model changes that would address it: (1)"
                " a time-varying frontier (local linear trend: a random-walk growth rate or level innovations), "
                "whose innovation variance widens the band with the lead time; (2) information on undisclosed "
                "frontier runs: treat compute-based estimates of closed runs as censored ('at least') "
                "observations of the dataset frontier, or combine with the compute arm (Chinchilla-optimal data "
                "from the compute frontier, as the forecast's mixture scenarios do)."
            )
        else:
            paragraphs.append(
                "Why the band missed low: the record stayed flat while the frontier line kept rising; the frontier "
                "is an envelope, reached only when a frontier run is published, and between releases the record "
                "lags it. Model change that would address it: forecast the record process itself — arrivals of "
                "frontier-candidate runs (a Poisson process with a fitted, growing rate), each f(t) − u + ε with "
                "the fitted shortfall u — and take the running maximum of the simulated runs."
            )
    if not wide and not narrow:
        paragraphs.append("Coverage is within 70–90% at every cut-off.")
    elif wide and narrow:
        paragraphs.append(
            "The pooled coverage averages bands that are too wide at early cut-offs with bands that miss at "
            "later ones; it should not be read as calibration."
        )
    sens = result.pooled_sensitivity
    paragraphs.append(
        f"Sensitivity: if leaked figures (GPT-4 13T, PaLM 2 3.6T) set the record, pooled 80% coverage is "
        f"{_fmt_share(sens['model']['coverage80'])} (model) vs {_fmt_share(sens['baseline']['coverage80'])} "
        f"(baseline), CRPS {_fmt(sens['model']['crps'], 3)} vs {_fmt(sens['baseline']['crps'], 3)} OOM."
    )
    return paragraphs


def _fmt_share(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def render_html(result: BacktestResult) -> str:
    """The self-contained backtest page (plotly.js inline), every cut-off and the pooled scores."""
    import jinja2
    import plotly.offline

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.backtest", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    config = {"responsive": True, "displaylogo": False}
    sections = []
    for c in result.cutoffs:
        fit = c.fit
        d = fit.diagnostics
        points = c.scored.points
        sections.append(
            {
                "id": f"cutoff-{c.cutoff.isoformat()}",
                "cutoff": c.cutoff.isoformat(),
                "end": c.end.strftime("%Y-%m-%d"),
                "figure": figure(c).to_html(
                    full_html=False, include_plotlyjs=False, div_id=f"fig-{c.cutoff.isoformat()}", config=config
                ),
                "rows": [_scores_row("Model", c.scored.model), _scores_row("Baseline", c.scored.baseline)],
                "n_dataset_runs": int(fit.data.dataset_runs.size),
                "dataset_runs": ", ".join(str(m) for m in fit.data.dataset_runs),
                "n_compute_runs": int(fit.data.compute_runs.size),
                "n_adoption": int(fit.data.adoption_year.size),
                "record": format_tokens(10.0**c.scored.record.log10_at_cutoff),
                "record_holder": c.scored.record.holder,
                "growth": c.posterior_summary["dataset_growth_oom_per_year"],
                "frontier": c.posterior_summary["dataset_frontier_log10_at_cutoff"],
                "noise": c.posterior_summary.get("dataset_noise_sd_oom"),
                "record_scale": c.posterior_summary.get("dataset_record_scale_oom"),
                "lfo": {k: c.scored.model.get(k) for k in ("lfo_elpd_1y", "lfo_elpd_3y")},
                "realized": realized_growth(c),
                "divergences": d.divergences,
                "max_r_hat": f"{d.max_r_hat:.3f}",
                "min_ess_bulk": f"{d.min_ess_bulk:.0f}",
                "converged": d.converged,
                "problems": d.problems(),
                "reused": fit.reused,
                "seconds": c.seconds,
                "points": [
                    {
                        "date": row.date.strftime("%Y-%m-%d"),
                        "models": row.models,
                        "lead": f"{row.lead_years:.2f}",
                        "record": format_tokens(10.0**row.log10_record),
                        "new": row.new_record,
                        "band80": f"{format_tokens(10.0**row.model_q10)} – {format_tokens(10.0**row.model_q90)}",
                        "inside80": bool(row.model_inside80),
                        "crps": f"{row.model_crps:.3f}",
                        "base_band80": (
                            f"{format_tokens(10.0**row.baseline_q10)} – {format_tokens(10.0**row.baseline_q90)}"
                        ),
                        "base_inside80": bool(row.baseline_inside80),
                        "base_crps": f"{row.baseline_crps:.3f}",
                    }
                    for row in points.itertuples(index=False)
                ],
            }
        )
    pooled = result.pooled
    context = {
        "title": "Backtest: the frontier dataset forecast against later runs",
        "cutoffs": [c.cutoff.isoformat() for c in result.cutoffs],
        "pooled_rows": [_scores_row("Model", pooled["model"]), _scores_row("Baseline", pooled["baseline"])],
        "several": len(result.cutoffs) > 1,
        "sections": sections,
        "interpretation": interpretation(result),
        "mapping": mapping_text(result.config.fit.frontier.likelihood),
        "record_process": result.config.fit.frontier.likelihood == "record",
        "growth_form": result.config.fit.frontier.growth,
        "baseline": BASELINE_TEXT,
        "min_bandwidth": LOG_SCORE_MIN_BANDWIDTH_OOM,
        "observed_source": result.observed_source,
        "metadata": result.metadata,
        "seconds": result.seconds,
        "plotlyjs": plotly.offline.get_plotlyjs(),
        "n_figures": len(sections),
    }
    return env.get_template(TEMPLATE_NAME).render(**context)
