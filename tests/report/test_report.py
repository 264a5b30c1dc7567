"""report.html: self-contained (plotly.js inline once, nothing loaded from the network), every section, the
headline numbers, the published figures, and a PNG status that never fails the run."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import types
from datetime import UTC, datetime
from html import escape as html_escape
from pathlib import Path
from typing import Any

import numpy as np
import plotly.offline
import pytest
from fakes import make_result

from forecast import formatting
from forecast.data import published
from forecast.model.sample import Diagnostics
from forecast.report import context, images
from forecast.report import page as report
from forecast.report.figures import COMPUTE_FIGURES
from forecast.run.result import RunResult

PLOTLYJS = plotly.offline.get_plotlyjs()


@pytest.fixture(scope="module")
def result() -> RunResult:
    return make_result("default")


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Chromium anywhere: PNG export must be skipped, not fail."""
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)


@pytest.fixture(scope="module")
def written(result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("BROWSER_PATH", raising=False)
        mp.setattr(shutil, "which", lambda *args, **kwargs: None)
        status = report.write_report(result, out)
    return out, status, (out / report.REPORT_FILE).read_text(encoding="utf-8")


def _row(html: str, table_id: str, scenario: str) -> str:
    """The HTML of one scenario's row in a table."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = [r for r in table.split("<tr") if f"<strong>{scenario}</strong>" in r]
    assert len(rows) == 1, f"{scenario} not found once in {table_id}"
    return rows[0]


def test_self_contained_plotlyjs_inline_once(written: tuple[Path, dict, str]) -> None:
    _, _, html = written
    assert html.count(PLOTLYJS) == 1
    assert html.index(PLOTLYJS) < html.index("</head>")
    rest = html.replace(PLOTLYJS, "")
    assert "cdn.plot.ly" not in rest
    assert not re.search(r"<script[^>]+src=", rest)
    assert not re.search(r"<link\b", rest)
    assert "@import" not in rest and "url(http" not in rest
    # Only <a href> may point outside the file.
    for tag in re.findall(r"<(\w+)[^>]*\s(?:src|href)=\"https?://", rest):
        assert tag == "a"
    assert len(html.encode("utf-8")) < 6.5e6


def test_every_section_and_figure(written: tuple[Path, dict, str]) -> None:
    _, status, html = written
    for key, heading in report.SECTIONS.items():
        assert f'id="{key}"' in html
        assert heading.replace("&", "&amp;") in html
    for name in status["names"]:
        assert f'id="fig-{name}"' in html
    assert html.count("Plotly.newPlot(") == len(status["names"])
    assert "could not be built" not in html


def test_headline_numbers(result: RunResult, written: tuple[Path, dict, str]) -> None:
    _, _, html = written
    horizon = float(result.exhaustion["horizon"].values[0])
    for _, row in result.summary.iterrows():
        cells = _row(html, "headline-table", row["scenario"])
        assert context.format_year(row["median"], horizon) in cells
        assert f"{context.format_year(row['q10'], horizon)} – {context.format_year(row['q90'], horizon)}" in cells
        assert f"{context.format_year(row['q05'], horizon)} – {context.format_year(row['q95'], horizon)}" in cells
        assert formatting.format_percent(row["p_not_by_horizon"]) in cells
        assert formatting.format_sci(row["tokens_at_crossing_median"]) in cells
        assert formatting.format_sci(row["compute_at_crossing_median"]) in cells


def test_published_figures_side_by_side(written: tuple[Path, dict, str]) -> None:
    _, _, html = written
    main = _row(html, "headline-table", "mixture-optimal")
    assert ">2028<" in main and "2026 – 2032" in main and "2028.8 [≈2027.1–2027.4, 2031.2]" in main
    assert "~2027" in _row(html, "headline-table", "mixture-5x")
    assert "2028.1 [2026.4, 2030.0]" in _row(html, "headline-table", "mixture-5x")
    assert "~2025" in _row(html, "headline-table", "mixture-100x")
    assert "2025.7 [2024.5, 2027.4]" in _row(html, "headline-table", "mixture-100x")
    # The default preset's compute-optimal is the compute arm alone: no published counterpart.
    assert "2026 – 2032" not in _row(html, "headline-table", "compute-optimal")
    assert "—" in _row(html, "headline-table", "historical")
    published_table = html.split('id="published-table"', 1)[1].split("</table>", 1)[0]
    for text in ("~4e14", "~5e28", "~6e27", "~300T (90%: 100T – 1000T)", "~510T (95%: 130T – 2100T)"):
        assert text in published_table
    assert published.PAPER_URL in html


def test_paper_preset_matches_by_name(tmp_path: Path, no_chromium: None) -> None:
    paper = make_result("villalobos2024")
    report.write_report(paper, tmp_path)
    html = (tmp_path / report.REPORT_FILE).read_text(encoding="utf-8")
    assert "2026 – 2032" in _row(html, "headline-table", "compute-optimal")
    assert "~2027" in _row(html, "headline-table", "overtrained-5x")
    assert "~2025" in _row(html, "headline-table", "overtrained-100x")


def test_header_metadata_and_tables(result: RunResult, written: tuple[Path, dict, str]) -> None:
    _, _, html = written
    assert str(result.metadata["seed"]) in html
    assert result.metadata["config_hash"][:12] in html
    assert result.metadata["data_hash"][:12] in html
    assert f"pymc {result.metadata['versions']['pymc']}" in html
    for name in result.diagnostics.table.index:
        assert f"<code>{name}</code>" in html
    for parameter in result.bundle.stock_priors.index:
        assert f"<code>{parameter}</code>" in html
    for name, sha in result.bundle.sha256.items():
        assert name in html and sha in html
    assert "Language-model training runs" in html  # title from data/sources.yml
    assert '<a href="https://arxiv.org/abs/2211.04325v2">' in html
    assumptions = html.split('id="assumptions-table"', 1)[1].split("</table>", 1)[0]
    assert "5x tokens per parameter; compute arm only" in assumptions
    assert "limits: spending ≤ share of GWP loguniform" in assumptions  # the default preset's limits
    assert "power, GW at 2030 lognormal 90% [1, 5]" in _row(html, "assumptions-table", "mixture-power-limited")
    assert "users_model" in assumptions


def test_convergence_warning_banner(result: RunResult, tmp_path: Path, no_chromium: None) -> None:
    table = result.diagnostics.table.copy()
    bad = Diagnostics(divergences=3, max_r_hat=1.05, min_ess_bulk=120.0, min_ess_tail=90.0, table=table)
    report.write_report(dataclasses.replace(result, diagnostics=bad), tmp_path / "bad")
    html = (tmp_path / "bad" / report.REPORT_FILE).read_text(encoding="utf-8")
    assert 'id="convergence-warning"' in html and "WARNING" in html
    for problem in bad.problems():
        assert html_escape(problem) in html

    good = Diagnostics(divergences=0, max_r_hat=1.001, min_ess_bulk=2000.0, min_ess_tail=1500.0, table=table)
    report.write_report(dataclasses.replace(result, diagnostics=good), tmp_path / "good")
    html = (tmp_path / "good" / report.REPORT_FILE).read_text(encoding="utf-8")
    assert 'id="convergence-warning"' not in html


def test_diagnostics_highlight(result: RunResult, tmp_path: Path, no_chromium: None) -> None:
    table = result.diagnostics.table.copy()
    table.loc["dataset_level", "r_hat"] = 1.2
    table.loc["compute_growth", "ess_bulk"] = 50.0
    diag = dataclasses.replace(result.diagnostics, table=table)
    report.write_report(dataclasses.replace(result, diagnostics=diag), tmp_path)
    html = (tmp_path / report.REPORT_FILE).read_text(encoding="utf-8")
    diagnostics = html.split('id="diagnostics-table"', 1)[1].split("</table>", 1)[0]
    level = next(r for r in diagnostics.split("<tr") if "<code>dataset_level</code>" in r)
    growth = next(r for r in diagnostics.split("<tr") if "<code>compute_growth</code>" in r)
    assert 'class="num bad">1.200<' in level
    assert 'class="num bad">50<' in growth


def test_censored_scenario_reads_after_horizon(result: RunResult, tmp_path: Path, no_chromium: None) -> None:
    summary = result.summary.copy()
    summary.loc[0, ["median", "q90", "q95"]] = np.inf
    summary.loc[0, "p_not_by_horizon"] = 0.6
    report.write_report(dataclasses.replace(result, summary=summary), tmp_path)
    html = (tmp_path / report.REPORT_FILE).read_text(encoding="utf-8")
    cells = _row(html, "headline-table", summary.loc[0, "scenario"])
    assert "after 2060" in cells and "60%" in cells
    assert context.format_year(float("inf"), 2060) == "after 2060"
    assert context.format_year(float("nan")) == "—"
    assert context.format_year(2028.04) == "2028.0"


def test_png_skipped_without_chromium(written: tuple[Path, dict, str]) -> None:
    out, status, _ = written
    assert status["png"].startswith("skipped: ")
    assert "Chromium" in status["png"] or "kaleido" in status["png"]
    assert status["names"] == list(report.FIGURE_BUILDERS) + list(COMPUTE_FIGURES) + list(report.EXTENSION_FIGURES)
    assert status["files"] == []
    assert not (out / report.FIGURES_DIR).exists()


def test_png_skipped_without_kaleido(result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kaleido" else real(name, *a))
    status = report.write_report(result, tmp_path)
    assert status["png"] == "skipped: kaleido is not installed (pip install kaleido)"
    assert (tmp_path / report.REPORT_FILE).is_file()


def test_png_export_error_is_a_skip(result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashing(jobs: Any, **options: Any) -> Any:
        """kaleido whose Chromium starts but crashes on the first figure, after writing part of one."""
        (tmp_path / report.FIGURES_DIR / "fan_chart.png").write_bytes(b"partial")
        raise RuntimeError("chromium crashed")

    fake = types.ModuleType("kaleido")
    fake.write_fig_from_object_sync = crashing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kaleido", fake)
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    status = report.write_report(result, tmp_path)
    assert status["png"].startswith("skipped: export failed (RuntimeError: chromium crashed")
    assert status["files"] == []
    assert not (tmp_path / report.FIGURES_DIR).exists()  # all or nothing
    assert (tmp_path / report.REPORT_FILE).is_file()


def test_failing_figure_is_reported_not_fatal(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_chromium: None
) -> None:
    def broken(_result):
        raise ValueError("no data")

    monkeypatch.setitem(report.FIGURE_BUILDERS, "frontier_fit", broken)
    status = report.write_report(result, tmp_path)
    assert status["failed"] == {"frontier_fit": "ValueError: no data"}
    html = (tmp_path / report.REPORT_FILE).read_text(encoding="utf-8")
    assert "could not be built" in html


@pytest.mark.browser
@pytest.mark.skipif(
    images.png_unavailable_reason() is not None, reason=f"PNG export unavailable: {images.png_unavailable_reason()}"
)
def test_png_written_with_chromium(result: RunResult, tmp_path: Path) -> None:
    status = report.write_report(result, tmp_path)
    assert status["png"] == "written", status
    for name in status["names"]:
        png = tmp_path / report.FIGURES_DIR / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert status["files"] == [f"figures/{n}.png" for n in status["names"]]


def test_formatting() -> None:
    assert formatting.format_percent(0.0) == "0%"
    assert formatting.format_percent(0.003) == "<1%"
    assert formatting.format_percent(0.5) == "50%"
    assert formatting.format_percent(0.997) == ">99%"
    assert formatting.format_percent(1.0) == "100%"
    assert formatting.format_sci(5.366e14) == "5.4e14"
    assert formatting.format_sci(1e29) == "1e29"
    assert formatting.format_sci(4e14, approximate=True) == "~4e14"
    assert formatting.format_tokens(3e14) == "300T"
    assert formatting.format_tokens(2.1e15) == "2100T"
    assert formatting.format_tokens(6.5e12) == "6.5T"
    assert context.format_year(float("-inf")) == "—"
    assert context.format_year(float("inf")) == "after the horizon"


# ------------------------------------------------------------------------------------------------
# PNG cache: identical figures are copied, not rendered again
# ------------------------------------------------------------------------------------------------


def test_write_report_without_png(result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the PNG export was started")

    monkeypatch.setattr(report, "export_pngs", refuse)
    status = report.write_report(result, tmp_path, png=False)
    assert status["png"] == "skipped: --no-png" and status["files"] == []
    assert not (tmp_path / report.FIGURES_DIR).exists()


def test_compiled_template_cached_and_unwritable_cache_tolerated(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_chromium: None
) -> None:
    """The report template is compiled once per template source into `<cache>/jinja`; the page is the same with
    or without the compiled copy, and a cache that cannot be written only costs the compile."""
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    fixed = datetime(2026, 1, 1, tzinfo=UTC)
    first = report.render_report(result, generated=fixed)
    compiled = list(report.template_cache_dir().iterdir())
    assert len(compiled) == 1 and compiled[0].stat().st_size > 0
    assert report.render_report(result, generated=fixed) == first
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "file-not-folder"))
    (tmp_path / "file-not-folder").write_text("")
    assert report.render_report(result, generated=fixed) == first


def test_every_switch_has_its_rows_in_the_report() -> None:
    """The report finds each switch's rows by the registry's names, so a new switch without them fails here."""
    from forecast.projection.switches import SWITCHES

    assert list(context.SWITCH_SECTIONS) == list(SWITCHES)


def test_report_says_when_it_speaks_from(result: RunResult) -> None:
    """The header says "as of <cut-off>, data to <cut-off>"; the now-cast section gives the record and one row per
    scenario tied to it; with vintages, their chart and table."""
    from fakes import with_vintages

    html = report.render_report(with_vintages(make_result("default")))
    assert 'id="as-of">as of 2026-06-30, data to 2026-06-30<' in html
    nowcast = html.split('id="nowcast-table"', 1)[1].split("</table>", 1)[0]
    assert nowcast.count("<tr>") == 1 + len(result.scenarios)  # header + one row per scenario
    assert "The record then, the largest disclosed training dataset, was 40T tokens (Llama 4 Scout" in html
    assert "How the forecast moved" in html and 'id="vintage-table"' in html
    vintages = html.split('id="vintage-table"', 1)[1].split("</table>", 1)[0]
    assert vintages.count("<tr>") == 1 + 6 * 3
    assert "Villalobos et al. 2022 (v1)" in html and "Villalobos et al. 2024 (v2)" in html  # the chart's diamonds
    paper = report.render_report(make_result("villalobos2024"))
    assert 'id="as-of">as of 2023-12-31, data to 2023-12-31<' in paper
    assert 'id="nowcast-table"' not in paper and 'id="vintage-table"' not in paper  # the paper preset has neither


def test_frontier_models_table(result: RunResult, tmp_path: Path) -> None:
    """The models compared at the cut-off: LOO per model, the record processes' ranking, the stochastic frontier's
    ELPD marked not comparable, and a row with unreliable LOO terms or a fit that did not converge flagged."""
    import pandas as pd

    from forecast.run.frontier_models import FRONTIER_MODEL_COLUMNS

    common = {"scenario": "historical", "q10": 2026.9, "p_not_by_horizon": 0.0, "growth_median": 0.39}
    rows = [
        {
            "model": "record-constant",
            "default": True,
            "likelihood": "record",
            "loo_observations": 12,
            "elpd_loo": -1.37,
            "elpd_loo_se": 5.39,
            "p_loo": 3.7,
            "pareto_k_max": 0.69,
            "n_pareto_k_high": 0,
            "loo_rank": 0,
            "elpd_diff": 0.0,
            "elpd_diff_se": 0.0,
            "stacking_weight": 0.8,
            "median": 2028.3,
            "q90": 2030.1,
            "divergences": 0,
            "converged": True,
        },
        {
            "model": "record-hinge",
            "default": False,
            "likelihood": "record",
            "loo_observations": 12,
            "elpd_loo": -2.13,
            "elpd_loo_se": 5.78,
            "p_loo": 5.2,
            "pareto_k_max": 0.99,
            "n_pareto_k_high": 2,
            "loo_rank": 1,
            "elpd_diff": -0.76,
            "elpd_diff_se": 0.82,
            "stacking_weight": 0.2,
            "median": 2029.3,
            "q90": float("inf"),
            "divergences": 0,
            "converged": True,
        },
        {
            "model": "stochastic-constant",
            "default": False,
            "likelihood": "stochastic",
            "loo_observations": 120,
            "elpd_loo": -30.6,
            "elpd_loo_se": 8.6,
            "p_loo": 5.7,
            "pareto_k_max": 0.47,
            "n_pareto_k_high": 0,
            "loo_rank": None,
            "elpd_diff": None,
            "elpd_diff_se": None,
            "stacking_weight": None,
            "median": 2028.7,
            "q90": 2030.0,
            "divergences": 3,
            "converged": False,
        },
    ]
    table = pd.DataFrame([{**common, **row} for row in rows], columns=list(FRONTIER_MODEL_COLUMNS))
    report.write_report(dataclasses.replace(result, frontier_models=table), tmp_path, png=False)
    html = (tmp_path / report.REPORT_FILE).read_text(encoding="utf-8")
    section = html.split('id="frontier-models-table"', 1)[1].split("</table>", 1)[0]
    body = section.split("<tr")[2:]
    assert len(body) == 3
    assert "record-constant (this run&#39;s)" in body[0] or "record-constant (this run's)" in body[0]
    assert "-1.4 ± 5.4" in body[0] and "0.80" in body[0] and 'class="bad"' not in body[0]
    assert "0.99 (2 high)" in body[1] and "-0.76 ± 0.82" in body[1] and "after the horizon" in body[1]
    assert 'class="bad"' in body[1]
    assert "12 spells" in body[0] and "120 runs" in body[2] and "not comparable" in body[2]
    assert "NOT converged (3 divergences)" in body[2] and 'class="bad"' in body[2]
    # Without the table (the config asks for no comparison) the section is left out.
    report.write_report(result, tmp_path / "none", png=False)
    assert 'id="frontier-models-table"' not in (tmp_path / "none" / report.REPORT_FILE).read_text(encoding="utf-8")
