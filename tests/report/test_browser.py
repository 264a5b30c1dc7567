"""The report in a real headless Chromium: it loads without console errors and every figure renders.

The page records its own state on <body> once every Plotly.newPlot promise has settled: data-figures-expected,
data-figures-rendered (plotly divs holding an svg.main-svg) and data-errors (window errors, unhandled rejections
and console.error calls, as JSON). Chromium's --dump-dom prints the DOM after the page's virtual time budget, and
--enable-logging=stderr prints every console message as a CONSOLE line.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fakes import make_result

from forecast.report import images
from forecast.report import page as report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs a headless Chromium (/usr/bin/chromium: apt-get install chromium)"
    ),
]

VIRTUAL_TIME_MS = 10_000
TIMEOUT_S = 180


def render_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """(dumped DOM, console lines) of `page` opened in headless Chromium, offline."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def body_state(dom: str) -> dict[str, str]:
    """The data-* attributes of <body>."""
    body = re.search(r"<body([^>]*)>", dom)
    assert body, "no <body> in the dumped DOM"
    return {key: html.unescape(value) for key, value in re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1))}


def console_errors(lines: list[str]) -> list[str]:
    return [line for line in lines if re.search(r"uncaught|error", line, re.IGNORECASE)]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("browser-report")
    with pytest.MonkeyPatch.context() as mp:  # the PNG export is not what is tested here
        mp.setattr(images, "png_unavailable_reason", lambda: "disabled in this test")
        status = report.write_report(make_result("default"), out)
    return out / report.REPORT_FILE, status


def test_report_renders_every_figure_without_errors(report_page: tuple[Path, dict], tmp_path: Path) -> None:
    page, status = report_page
    dom, console = render_in_chromium(page, tmp_path / "profile")
    state = body_state(dom)
    names = status["names"]
    assert state.get("figures-expected") == str(len(names))
    assert "figures-rendered" in state, f"the page never finished rendering; console: {console}"
    assert state["figures-rendered"] == str(len(names)), state
    assert json.loads(state["errors"]) == []
    assert console_errors(console) == [], console
    # Each figure's own div holds a rendered svg.
    for name in names:
        start = dom.index(f'id="fig-{name}"')
        following = dom.find('id="fig-', start + 1)
        chunk = dom[start : following if following != -1 else len(dom)]
        assert "main-svg" in chunk, f"figure {name} did not render"
    assert dom.count('class="main-svg"') >= len(names)


def test_checks_catch_a_broken_page(report_page: tuple[Path, dict], tmp_path: Path) -> None:
    """Control: a script error planted in the report is seen by both checks."""
    page, _ = report_page
    broken = tmp_path / "broken.html"
    text = page.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("</main>", '<script>throw new Error("planted failure");</script></main>', 1), encoding="utf-8"
    )
    dom, console = render_in_chromium(broken, tmp_path / "profile")
    state = body_state(dom)
    assert "planted failure" in state.get("errors", "")
    assert any("planted failure" in line for line in console_errors(console))
