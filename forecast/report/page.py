"""The interactive report of a run: one self-contained `report.html`, plus PNG copies of the figures when a
headless Chromium is available.

`write_report(result, out_dir)` is called by `forecast.run.pipeline` inside the staging directory of a run. The HTML
embeds plotly.js once (no CDN, works offline) and every figure of `forecast.report.figures`; the page is rendered from
the packaged Jinja2 template `forecast/report/templates/report.html.j2`, with the tables and sentences of
`forecast.report.context`. PNG copies (`forecast.report.images`: kaleido driving a local Chromium) are rendered
once the page is written, best effort: any problem is reported in the returned status and never fails the run.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import plotly.graph_objects as go
import plotly.offline

from forecast.formatting import DASH
from forecast.model.sensitivity import THRESHOLD as SENSITIVITY_THRESHOLD
from forecast.report.asof import as_of_context, nowcast_rows, vintage_rows
from forecast.report.compute_ahead import compute_ahead_context
from forecast.report.context import (
    assumption_rows,
    diagnostics_context,
    extensions_context,
    format_year,
    headline_rows,
    lead_scenario,
    prior_rows,
    published_context,
    sensitivity_rows,
    source_rows,
)
from forecast.report.figures import (
    CHECK_FIGURES,
    COMPUTE_FIGURES,
    EXTENSION_FIGURES,
    FIGURE_BUILDERS,
    NOWCAST_FIGURES,
    house_template,
    scenario_names,
)
from forecast.report.frontier_models import frontier_model_rows
from forecast.report.images import FIGURES_DIR, export_pngs
from forecast.run.outputs import REPORT_FILE

if TYPE_CHECKING:
    from forecast.run.result import RunResult

log = logging.getLogger(__name__)

TEMPLATE_NAME = "report.html.j2"

#: Section headings of the report, in order (the template uses them; tests check them).
SECTIONS: dict[str, str] = {
    "headline": "Headline: when is the stock exhausted?",
    "nowcast": "From what is known: the record at the cut-off, and how the forecast moved",
    "fan": "Projected datasets vs. the stock",
    "probability": "Probability of exhaustion by year",
    "stock": "Stock of public human text",
    "compute": "Compute ahead: what bends the compute arm",
    "ai_share": "Is the web still adding human text?",
    "synthetic": "Synthetic data and model collapse",
    "nonpublic": "Non-public and multimodal stocks",
    "sensitivity": "What moves the date",
    "fit": "Fitted parameters: prior vs. posterior",
    "diagnostics": "Convergence diagnostics",
    "assumptions": "Scenario assumptions",
    "sources": "Data sources and method",
}


# ----------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------


def build_figures(result: RunResult) -> tuple[dict[str, go.Figure], dict[str, str]]:
    """Every figure, by name; a builder that fails is reported (and shown in the page) instead of failing."""
    figures: dict[str, go.Figure] = {}
    failed: dict[str, str] = {}
    with house_template():
        for name, builder in (
            FIGURE_BUILDERS | NOWCAST_FIGURES | COMPUTE_FIGURES | CHECK_FIGURES | EXTENSION_FIGURES
        ).items():
            try:
                figure = builder(result)
            except Exception as exc:
                log.warning("figure %s could not be built: %s", name, exc, exc_info=True)
                failed[name] = f"{type(exc).__name__}: {exc}"
                continue
            if figure is not None:  # None when no scenario uses the extension, or there are no vintages
                figures[name] = figure
    return figures, failed


def figure_html(figures: Mapping[str, go.Figure], failed: Mapping[str, str]) -> dict[str, str]:
    """Each figure as an HTML fragment (a div and its script, plotly.js not included)."""
    config = {"responsive": True, "displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
    out = {
        name: fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}", config=config)
        for name, fig in figures.items()
    }
    for name, error in failed.items():
        out[name] = (
            f'<div class="figure-error" id="fig-{name}">Figure <code>{name}</code> could not be built: '
            f"{html.escape(error)}</div>"
        )
    return out


# ----------------------------------------------------------------------------------------------------
# Page
# ----------------------------------------------------------------------------------------------------


def template_cache_dir() -> Path:
    """Compiled report templates: the cache's `jinja` folder (`forecast.cache.cache_folder`)."""
    from forecast.cache import cache_folder

    return cache_folder("jinja")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja2's own cache of compiled templates (keyed by the template's source checksum, so an edited template
    is compiled again): compiling the report template takes ~60 ms of every run. None if it cannot be written."""
    folder = template_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder)) if os.access(folder, os.W_OK) else None


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )


def render_report(
    result: RunResult,
    figures: Mapping[str, go.Figure] | None = None,
    failed: Mapping[str, str] | None = None,
    generated: datetime | None = None,
) -> str:
    """The report as one HTML string (plotly.js inline)."""
    if figures is None:
        figures, failed = build_figures(result)
    failed = failed or {}
    sources, sources_error = source_rows(result)
    metadata = result.metadata
    names = scenario_names(result)
    summary = result.summary.set_index("scenario")
    first = lead_scenario(result)
    horizon = float(result.exhaustion["horizon"].sel(scenario=first)) if first in names else None
    context = {
        "title": "When will LLM training data exhaust public human text?",
        "generated": (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": metadata.get("seed", result.config.seed),
        "config_hash": metadata.get("config_hash", ""),
        "data_hash": metadata.get("data_hash", result.bundle.fingerprint),
        "fit_hash": metadata.get("fit_hash", ""),
        "versions": metadata.get("versions", {}),
        "config_description": result.config.description or "",
        "cutoff": result.config.data.cutoff.isoformat(),
        "record_process": result.config.fit.frontier.likelihood == "record",
        "frontier_growth": result.config.fit.frontier.growth,
        "as_of": as_of_context(result),
        "nowcast": nowcast_rows(result),
        "vintages": vintage_rows(result),
        "compute_ahead": compute_ahead_context(result),
        "sections": SECTIONS,
        "headline": headline_rows(result),
        "published": published_context(),
        "first_scenario": first,
        "first_median": format_year(summary.loc[first, "median"], horizon) if first in summary.index else DASH,
        "first_interval": (
            f"{format_year(summary.loc[first, 'q10'], horizon)} – {format_year(summary.loc[first, 'q90'], horizon)}"
            if first in summary.index
            else DASH
        ),
        "figures": figure_html(figures, failed),
        "diagnostics": diagnostics_context(result),
        "sensitivity": sensitivity_rows(result),
        "sensitivity_threshold": SENSITIVITY_THRESHOLD,
        "frontier_models": frontier_model_rows(result),
        "assumptions": assumption_rows(result),
        "priors": prior_rows(result),
        "sources": sources,
        "sources_error": sources_error,
        "extensions": extensions_context(result),
        "timings": result.timings,
        "plotlyjs": plotly.offline.get_plotlyjs(),
        "n_figures": len(figures),
        "n_runs": int(result.bundle.runs["dataset_tokens"].notna().sum()),
        "n_draws": int(result.exhaustion.sizes.get("chain", 1) * result.exhaustion.sizes.get("draw", 1)),
    }
    return _environment().get_template(TEMPLATE_NAME).render(**context)


def write_report(
    result: RunResult,
    out_dir: Path,
    png: bool = True,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Write `report.html` (and `figures/<name>.png` when possible) into `out_dir`; return the figure status:
    {"html": "report.html", "png": "written" | "skipped: <reason>", "names": [...], "files": [...]} (plus
    "failed" if a figure could not be built, and what `images.export_pngs` says of the images). `png=False` skips
    the images; `use_cache=False` renders every image instead of copying identical ones from the PNG cache."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures, failed = build_figures(result)
    (out_dir / REPORT_FILE).write_text(render_report(result, figures, failed), encoding="utf-8")
    status: dict[str, Any] = {"html": REPORT_FILE, "names": list(figures)}
    if png:
        status.update(export_pngs(figures, out_dir / FIGURES_DIR, use_cache=use_cache))
    else:
        status.update({"png": "skipped: --no-png", "files": []})
    if failed:
        status["failed"] = dict(failed)
    return status
