"""The served kaleido page (forecast.report.kaleido_page): what the loopback server hands out, the cache-folder
lock, and
(real Chromium where installed) that sessions open the served page, keep Chromium's cache between starts, and
fall back to kaleido's own page when the served one cannot open."""

from __future__ import annotations

import http.client
import re
import socket
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest

from forecast.report import images, kaleido_page

VERSIONS = {"plotly": "9.9.9", "kaleido": "8.8.8"}


def _get(server: kaleido_page.PageServer, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def server(tmp_path: Path) -> kaleido_page.PageServer:
    plotlyjs = tmp_path / "plotly.min.js"
    plotlyjs.write_text("/* plotly stand-in */", encoding="utf-8")
    started = kaleido_page.PageServer(plotlyjs, VERSIONS).start()
    yield started
    started.close()


def test_server_hands_out_the_page_and_its_two_versioned_scripts_only(server: kaleido_page.PageServer) -> None:
    status, headers, page = _get(server, "/index.html")
    assert status == 200 and headers["Cache-Control"] == kaleido_page.PAGE_CACHE_CONTROL
    text = page.decode("utf-8")
    host = re.escape(f"http://{kaleido_page.PAGE_HOST}")
    plotly = re.search(host + r'(/plotly-9\.9\.9-[0-9a-f]{12}\.js)"', text)
    script = re.search(host + r'(/kaleido_scopes-8\.8\.8-[0-9a-f]{12}\.js)"', text)
    assert plotly and script, text
    assert "file:" not in text  # Chromium keeps compiled code only for scripts fetched over http(s)
    assert 'id="kaleido-image"' in text  # kaleido's own page otherwise

    status, headers, body = _get(server, plotly.group(1))
    assert (status, body) == (200, b"/* plotly stand-in */")
    assert headers["Cache-Control"] == kaleido_page.SCRIPT_CACHE_CONTROL
    status, _, body = _get(server, script.group(1))
    assert status == 200 and body == kaleido_page.kaleido_script().read_bytes()

    for path in ("/", "/plotly.min.js", "/plotly-9.9.9.min.js", "/../../etc/passwd", "/index.html?x=1"):
        assert _get(server, path)[0] == 404, path


def test_an_edited_plotly_js_gets_a_new_url(tmp_path: Path) -> None:
    """Scripts are cached as immutable under their URL, so a changed file must not keep the old URL."""
    plotlyjs = tmp_path / "plotly.min.js"
    plotlyjs.write_text("/* one */", encoding="utf-8")
    before = kaleido_page._versioned_path("plotly", "9.9.9", plotlyjs)
    plotlyjs.write_text("/* two, longer */", encoding="utf-8")
    assert kaleido_page._versioned_path("plotly", "9.9.9", plotlyjs) != before


def test_server_stops_promptly_even_with_a_silent_connection_open(tmp_path: Path) -> None:
    """A client that connects and sends nothing (as Chromium's preconnects may) must not hold up `close()`:
    http.server joins non-daemon handler threads on close, and this one would wait for a request."""
    plotlyjs = tmp_path / "plotly.min.js"
    plotlyjs.write_text("", encoding="utf-8")
    server = kaleido_page.PageServer(plotlyjs, VERSIONS).start()
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    time.sleep(0.2)  # the server has accepted it and a handler thread is waiting for the request line
    started = time.monotonic()
    server.close()
    silent.close()
    # http.server notices a shutdown at its next poll; the poll interval bounds the wait (plus scheduling slack)
    assert time.monotonic() - started < kaleido_page.SHUTDOWN_POLL_SECONDS + 0.5
    with pytest.raises(OSError):
        _get(server, "/index.html")


def test_cache_folder_is_used_by_one_session_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "chromium"
    with kaleido_page.cache_lock(folder) as first, kaleido_page.cache_lock(folder) as second:
        assert first and not second
    with kaleido_page.cache_lock(folder) as again:
        assert again  # released when the holder's block ends
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    with kaleido_page.cache_lock(blocked) as unusable:
        assert not unusable


def test_browser_class_maps_the_page_host_and_keeps_a_disk_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """choreographer's own flags come first, unchanged; ours follow (checked without starting a browser)."""
    from choreographer.browsers import Chromium

    monkeypatch.setattr(Chromium, "get_cli", lambda self: ["chromium", "--headless"])
    browser = kaleido_page.browser_class(4321, tmp_path / "cache")
    cli = browser.get_cli(object.__new__(browser))
    assert cli[:2] == ["chromium", "--headless"]
    assert f"--host-resolver-rules=MAP {kaleido_page.PAGE_HOST} 127.0.0.1:4321" in cli
    assert f"--proxy-bypass-list={kaleido_page.PAGE_HOST}" in cli
    assert f"--disk-cache-dir={tmp_path / 'cache'}" in cli


_browser = pytest.mark.skipif(
    images.png_unavailable_reason() is not None, reason=f"PNG export unavailable: {images.png_unavailable_reason()}"
)


def _render(tmp_path: Path, cache: Path | None, name: str) -> images.ImageSession:
    chromium = images.find_chromium()
    assert chromium is not None
    session = images.ImageSession(chromium, cache).start()
    try:
        figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={"title": name})
        session.submit({name: figure}, tmp_path).result(timeout=images.PNG_TIMEOUT_SECONDS)
    finally:
        session.stop()
    assert (tmp_path / f"{name}.png").read_bytes().startswith(images.PNG_SIGNATURE)
    return session


@pytest.mark.browser
@_browser
def test_real_sessions_open_the_served_page_and_keep_the_browser_cache(tmp_path: Path) -> None:
    cache = tmp_path / "chromium"
    assert _render(tmp_path, cache, "first").page_served
    stored = [p for p in cache.rglob("*") if p.is_file() and p.name != kaleido_page.LOCK_NAME]
    assert stored, "Chromium wrote nothing into the browser cache folder"
    assert _render(tmp_path, cache, "second").page_served  # a second start with the cache filled
    with kaleido_page.cache_lock(cache) as free:
        assert free  # the sessions released the folder


@pytest.mark.browser
@_browser
def test_real_session_falls_back_to_kaleidos_own_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def cannot_open(self: kaleido_page.ServedKaleido) -> None:
        raise AttributeError("kaleido moved its internals")

    monkeypatch.setattr(kaleido_page.ServedKaleido, "open", cannot_open)
    assert not _render(tmp_path, tmp_path / "chromium", "fallback").page_served
    cache = tmp_path / "busy"
    with kaleido_page.cache_lock(cache) as held:
        assert held
        assert not _render(tmp_path, cache, "busy").page_served  # another run holds the cache: no shared cache
