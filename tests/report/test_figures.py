"""Figure builders: expected traces (by name), log axes, axis titles with units, small payloads.

Built on a RunResult whose posterior is synthetic (independent normal draws around plausible values) but whose
scenarios, bands, summaries and data are produced by the real pipeline functions: real shapes, no sampling.
`make_result` and the synthetic posterior come from tests/fakes.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from fakes import make_result

from forecast.data import published
from forecast.report import figures
from forecast.run.result import RunResult

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"


@pytest.fixture(scope="module")
def result() -> RunResult:
    return make_result("default")


@pytest.fixture(scope="module")
def paper_result() -> RunResult:
    return make_result("villalobos2024")


def _names(fig: go.Figure) -> list[str]:
    return [trace.name for trace in fig.data]


def _trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert matches, f"no trace named {name!r}; have {_names(fig)}"
    return matches[0]


def test_fan_chart_traces_axes_and_default_visibility(result: RunResult) -> None:
    fig = figures.fan_chart(result)
    names = _names(fig)
    scenarios = figures.scenario_names(result)
    # One stock band per distinct supply: the default preset's human-share and non-public scenarios change it.
    stock_lines = [
        n for n in names if n.startswith("Effective stock") and not n.endswith(("5–95%", "10–90%", "(upper)"))
    ]
    assert stock_lines and stock_lines[0].startswith("Effective stock (historical and ")
    assert any(n.endswith("5–95%") for n in names) and any(n.endswith("10–90%") for n in names)
    for scenario in scenarios:
        assert f"Dataset: {scenario}" in names
        assert f"Dataset {scenario} 10–90%" in names
    assert "Recorded run, frontier candidate (in fit)" in names
    assert "Leaked figure (down-weighted in fit)" in names
    assert fig.layout.yaxis.type == "log"
    assert "Tokens" in fig.layout.yaxis.title.text
    assert "Year" in fig.layout.xaxis.title.text
    assert fig.layout.title.text
    # The default preset shows the scenarios with a published counterpart; the rest are one click away.
    visible = [s for s in scenarios if _trace(fig, f"Dataset: {s}").visible is not False]
    shown = {s for s in visible if _trace(fig, f"Dataset: {s}").visible != "legendonly"}
    assert shown == {"mixture-optimal", "mixture-5x", "mixture-100x"}
    # The stock median is the band's median, in tokens.
    median = _trace(fig, stock_lines[0]).y
    expected = result.bands["stock_total"].sel(scenario=scenarios[0], quantile=0.5).values
    np.testing.assert_allclose(np.asarray(median, dtype=float), expected[~np.isnan(expected)])


def test_fan_chart_recorded_runs_hover_and_leaks(result: RunResult) -> None:
    fig = figures.fan_chart(result)
    runs = result.bundle.runs
    with_tokens = int((runs["dataset_tokens"] > 0).sum())
    points = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in points) == with_tokens
    leak = _trace(fig, "Leaked figure (down-weighted in fit)")
    assert leak.marker.symbol == "x"
    assert {"GPT-4", "PaLM 2"} <= {row[0] for row in leak.customdata}
    for trace in points:
        for field in ("Published", "Reliability", "Flags", "Source"):
            assert field in trace.hovertemplate
        assert all(len(row[6]) <= figures.style.SOURCE_CHARS for row in trace.customdata)


def test_fan_chart_paper_preset_shows_its_three_scenarios(paper_result: RunResult) -> None:
    fig = figures.fan_chart(paper_result)
    for scenario in ("compute-optimal", "overtrained-5x", "overtrained-100x"):
        assert _trace(fig, f"Dataset: {scenario}").visible is True


def test_probability_chart(result: RunResult) -> None:
    fig = figures.probability_chart(result)
    assert _names(fig) == figures.scenario_names(result)
    for trace in fig.data:
        y = np.asarray(trace.y, dtype=float)
        assert y.min() >= 0 and y.max() <= 100
        assert np.all(np.diff(y) >= -1e-9), "P(exhausted by date) cannot decrease"
        # P(by the end of year Y) is drawn at Y + 1.
        np.testing.assert_array_equal(np.asarray(trace.x), np.asarray(trace.customdata) + 1.0)
    assert any(shape.y0 == 50 and shape.y1 == 50 for shape in fig.layout.shapes)
    assert "%" in fig.layout.yaxis.title.text
    assert tuple(fig.layout.yaxis.range) == (0, 100)
    assert "year" in fig.layout.xaxis.title.text.lower()


def test_stock_decomposition(result: RunResult) -> None:
    fig = figures.stock_decomposition(result)
    names = _names(fig)
    first = figures.scenario_names(result)[0]
    start = f"{result.bands['year'].values.min():.0f}"  # the first whole year of the projection
    assert any(name.startswith(f"This forecast, {start}") for name in names)
    assert any("median exhaustion" in name and first in name for name in names)
    paper = _trace(fig, f"{published.PAPER}, 2024: median and published interval")
    assert list(paper.y) == [published.INDEXED_WEB_2024.median, published.EFFECTIVE_STOCK_2024.median]
    assert fig.layout.yaxis.type == "log"
    assert "Tokens" in fig.layout.yaxis.title.text
    start = float(result.bands["year"].values.min())
    ours = next(t for t in fig.data if t.name.startswith(f"This forecast, {start:.0f}"))
    assert list(ours.x) == list(figures.STAGE_LABELS.values())
    # raw >= quality-filtered (the quality fraction is at most 1); error bars are non-negative
    assert ours.y[0] >= ours.y[1]
    assert min(ours.error_y.array) >= 0 and min(ours.error_y.arrayminus) >= 0
    expected = result.bands["stock_effective"].sel(scenario=first, year=start, quantile=0.5).item()
    assert ours.y[2] == pytest.approx(expected)


def test_stock_estimates_chart(result: RunResult) -> None:
    fig = figures.stock_estimates_chart(result)
    names = _names(fig)
    assert "Published estimate, public data" in names
    start = f"{result.bands['year'].values.min():.0f}"
    assert any(name.startswith(f"This forecast: effective stock {start}") for name in names)
    assert fig.layout.xaxis.type == "log"
    assert "Tokens" in fig.layout.xaxis.title.text
    points = {label: x for t in fig.data if t.name.startswith("Published") for label, x in zip(t.y, t.x, strict=True)}
    assert any(label.startswith("Indexed web (raw)") and x == 5.1e14 for label, x in points.items())
    assert any(label.startswith("Common Crawl") and x == 1.3e14 for label, x in points.items())
    assert any(label.startswith("Effective stock") and x == 3e14 for label, x in points.items())
    # Cummins' high-quality web text is a range without a central value: shown at its geometric midpoint.
    cummins = [x for label, x in points.items() if label.startswith("All high-quality web text")]
    assert cummins and cummins[0] == pytest.approx(math.sqrt(6e13 * 1.6e14))
    # Token equivalents of images and video are not text stocks.
    assert not any(label.startswith(("Images", "Video")) for label in points)


def test_prior_posterior(result: RunResult) -> None:
    fig = figures.prior_posterior(result)
    posterior = [t for t in fig.data if t.name == "Posterior (histogram of draws)"]
    prior = [t for t in fig.data if t.name == "Prior (density)"]
    assert len(posterior) == len(figures.KEY_PARAMETERS) == len(prior)
    # Each prior density integrates to ~1 over the plotted range (it covers at least the prior's central 99%).
    for trace in prior:
        x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
        assert np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)) == pytest.approx(1.0, abs=0.03)
    # Histograms, not raw draws, are embedded.
    assert all(len(t.x) <= figures.fit.HISTOGRAM_BINS + 3 for t in posterior)
    titles = [fig.layout[f"xaxis{'' if i == 0 else i + 1}"].title.text for i in range(len(figures.KEY_PARAMETERS))]
    assert titles == [p.unit for p in figures.KEY_PARAMETERS]
    # The prior of the dataset level is the config's normal prior.
    level = result.config.fit.dataset_level_2024
    peak = prior[0].x[int(np.argmax(prior[0].y))]
    assert peak == pytest.approx(level.mean, abs=0.05)


def test_frontier_fit(result: RunResult) -> None:
    fig = figures.frontier_fit(result)
    names = _names(fig)
    assert "Fitted dataset frontier: posterior median, shaded 90%" in names
    assert "Fitted compute frontier: posterior median, shaded 90%" in names
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert "tokens" in fig.layout.yaxis.title.text
    assert "FLOP" in fig.layout.yaxis2.title.text
    line = _trace(fig, "Fitted dataset frontier: posterior median, shaded 90%")
    x, y = np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float)
    level = np.median(result.idata["posterior"]["dataset_level"].values)
    assert np.interp(2024.0, x, np.log10(y)) == pytest.approx(level, abs=0.02)
    # Compute points carry no leak marker (the leak flag is about token counts).
    compute_points = [t for t in fig.data if t.mode == "markers" and t.yaxis == "y2"]
    assert compute_points and not any(t.marker.symbol == "x" for t in compute_points)


def test_build_all_names_and_sizes(result: RunResult) -> None:
    built = figures.build_all(result)
    assert list(built) == list(figures.FIGURE_BUILDERS)
    for name, fig in built.items():
        assert isinstance(fig, go.Figure)
        assert fig.layout.title.text, name
        assert len(fig.to_json()) < 250_000, f"{name} embeds too much data"


def test_published_counterparts() -> None:
    assert published.counterpart("mixture-optimal", "mixture") == "compute-optimal"
    assert published.counterpart("compute-optimal", "mixture") == "compute-optimal"
    # The default preset's compute-optimal is the compute arm alone: not the paper's mixture.
    assert published.counterpart("compute-optimal", "compute") is None
    assert published.counterpart("historical", "historical") is None
    assert published.COMPUTE_OPTIMAL.median == 2028 and published.COMPUTE_OPTIMAL.interval_80 == (2026, 2032)
    assert published.REPRODUCED_EXHAUSTION["5x"].median == 2028.1


def test_fan_chart_one_stock_band_per_distinct_stock(paper_result: RunResult) -> None:
    """Scenarios that change the stock get their own band, hidden until clicked; identical stocks share one."""
    import dataclasses

    result = paper_result  # one shared stock to start from
    bands = result.bands.copy(deep=True)
    last = figures.scenario_names(result)[-1]
    bands["stock_total"].loc[{"scenario": last}] = bands["stock_total"].sel(scenario=last) * 2
    fig = figures.fan_chart(dataclasses.replace(result, bands=bands))
    stock_lines = [t for t in fig.data if t.name.startswith("Effective stock (") and t.showlegend is not False]
    assert len(stock_lines) == 2
    assert stock_lines[0].visible is True and stock_lines[1].visible == "legendonly"
    assert stock_lines[1].name == f"Effective stock ({last})"


def test_extension_figures(result: RunResult) -> None:
    """The four figures beyond the paper exist for the default preset, with units on their axes."""
    from forecast.report.figures.switches import EXTENSION_FIGURES

    figs = {name: builder(result) for name, builder in EXTENSION_FIGURES.items()}
    assert all(fig is not None for fig in figs.values())
    assert "%" in figs["ai_share"].layout.yaxis.title.text
    assert any((t.name or "").startswith("measured: ") for t in figs["ai_share"].data)
    assert "years" in figs["years_bought"].layout.yaxis.title.text
    assert len(figs["sensitivity"].data) == len(figures.scenario_names(result))
    assert "year" in figs["extension_dates"].layout.xaxis.title.text


def test_extension_figures_absent_without_extensions(paper_result: RunResult) -> None:
    from forecast.report.figures.switches import extension_dates_figure, years_bought_figure

    assert extension_dates_figure(paper_result) is None
    assert years_bought_figure(paper_result) is None


def test_every_figure_in_the_house_template_and_plotly_default_restored(result: RunResult) -> None:
    """`report.build_figures` applies TEMPLATE through plotly's default template (cheaper than naming it per
    figure): every figure, extension figures included, carries exactly that template, and the caller's own
    default is back afterwards."""
    import plotly.io as pio

    from forecast.report import page as report

    house = pio.templates[figures.TEMPLATE].to_plotly_json()
    before = pio.templates.default
    built, failed = report.build_figures(result)
    assert failed == {}
    assert pio.templates.default == before != figures.TEMPLATE
    assert {name: fig.layout.template.to_plotly_json() == house for name, fig in built.items()} == dict.fromkeys(
        built, True
    )
    direct = figures.fan_chart(result)  # called on its own, as in a notebook
    assert direct.layout.template.to_plotly_json() == house
    assert pio.templates.default == before
    assert go.Figure().layout.template.to_plotly_json() != house  # the notebook's own figures keep its default


def test_a_notebooks_template_object_default_is_restored() -> None:
    """A caller whose default is a Template object (not a registered name) gets that same object back."""
    import plotly.io as pio

    own = go.layout.Template(layout={"paper_bgcolor": "ivory"})
    before = pio.templates.default
    try:
        pio.templates.default = own
        with figures.house_template():
            assert pio.templates.default == figures.TEMPLATE
        assert pio.templates.default is own
        assert go.Figure().layout.template.layout.paper_bgcolor == "ivory"  # the caller's figures get its template
    finally:
        pio.templates.default = before


def test_a_grid_figure_from_dict_specs_equals_plotlys_own_subplots() -> None:
    """`make_figure(..., subplots=...)` builds a grid figure from dict specs in one step; it must come out as
    plotly's `make_subplots` + `add_trace(row, col)` + `update_xaxes(row, col)` would make it (domains, anchors,
    subplot titles, trace axes), also when the same grid is made twice in a process (cached layout)."""
    from plotly.subplots import make_subplots

    grid = {"rows": 2, "cols": 2, "subplot_titles": ("a", "b", "c", "d"), "horizontal_spacing": 0.1}
    expected = make_subplots(**grid)
    for index in (1, 2, 3, 4):
        row, col = (index - 1) // 2 + 1, (index - 1) % 2 + 1
        expected.add_trace(go.Scatter(x=[0, index], y=[index, 0], name=f"t{index}"), row=row, col=col)
        expected.update_xaxes(title_text=f"x of {index}", type="log", row=row, col=col)
    expected.update_layout(height=500, title={"text": "grid"})

    def from_specs() -> go.Figure:
        traces, layout = [], {"height": 500, "title": {"text": "grid"}}
        for index in (1, 2, 3, 4):
            x_axis, y_axis, x_key, _ = figures.style.axis_names(index)
            traces.append(
                figures.scatter_trace(x=[0, index], y=[index, 0], name=f"t{index}", xaxis=x_axis, yaxis=y_axis)
            )
            layout[x_key] = {"title": {"text": f"x of {index}"}, "type": "log"}
        return figures.make_figure(traces, layout, subplots=grid)

    for built in (from_specs(), from_specs()):
        produced = built.to_plotly_json()
        wanted = expected.to_plotly_json()
        produced["layout"].pop("template"), wanted["layout"].pop("template")
        assert produced == wanted


def test_merged_layout_keeps_the_grids_keys_and_replaces_lists() -> None:
    base = {"xaxis": {"domain": [0, 0.5], "anchor": "y"}, "annotations": [{"text": "a"}], "height": 400}
    update = {"xaxis": {"type": "log"}, "annotations": [{"text": "b"}], "width": 300}
    assert figures.style.merged(base, update) == {
        "xaxis": {"domain": [0, 0.5], "anchor": "y", "type": "log"},
        "annotations": [{"text": "b"}],
        "height": 400,
        "width": 300,
    }
    assert base["xaxis"] == {"domain": [0, 0.5], "anchor": "y"}  # the cached grid layout is not changed


def test_every_switch_has_its_figures_entry_in_report_order() -> None:
    """The extension figures are each switch's, by the registry's names, then the sensitivity figure."""
    from forecast.projection.switches import SWITCHES
    from forecast.report.figures.switches import EXTENSION_FIGURES, SWITCH_FIGURES

    assert list(SWITCH_FIGURES) == list(SWITCHES)
    assert list(EXTENSION_FIGURES) == ["ai_share", "extension_dates", "years_bought", "sensitivity"]


def test_fan_chart_marks_the_data_cutoff() -> None:
    """The record is shown up to the cut-off and the projection after it: a line marks the cut-off, no recorded
    run is later, and the bands start at the projection start."""
    from forecast.units import decimal_year

    result = make_result("default")
    fig = figures.fan_chart(result)
    cutoff = float(decimal_year(pd.Series([pd.Timestamp(result.config.data.cutoff)]))[0])
    assert [shape.x0 for shape in fig.layout.shapes] == [cutoff]
    assert "data to 2026-06-30" in fig.layout.annotations[0].text
    assert result.bundle.runs["decimal_year"].max() <= cutoff
    assert "Projections start 2026-06-30" in fig.layout.title.subtitle.text
