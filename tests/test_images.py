"""PNG export (forecast.report.images): the record that lets a run skip Chromium, the background session's life cycle
(real Chromium where installed), failures reported instead of raised, and the CLI's early start."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

import plotly.graph_objects as go
import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.report import images

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"


def _figures(title: str = "b") -> dict[str, go.Figure]:
    return {"a": go.Figure(layout={"title": "a"}), "b": go.Figure(layout={"title": title})}


@pytest.fixture
def stand_in_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """Sessions whose `submit` writes a PNG-signed file per figure at once, recording each batch."""
    batches: list[list[str]] = []

    def submit(self: images.ImageSession, figures: Any, folder: Path) -> Future[None]:
        batches.append(list(figures))
        for name in figures:
            (Path(folder) / f"{name}.png").write_bytes(images.PNG_SIGNATURE + name.encode())
        done: Future[None] = Future()
        done.set_result(None)
        return done

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(images.ImageSession, "submit", submit)
    return batches


def test_png_cache_reuses_identical_figures(stand_in_chromium: list[list[str]], tmp_path: Path) -> None:
    first = images.export_pngs(_figures(), tmp_path / "run1")
    again = images.export_pngs(_figures(), tmp_path / "run2")
    changed = images.export_pngs(_figures("b, edited"), tmp_path / "run3")
    assert stand_in_chromium == [["a"], ["b"], ["b"]]  # one request per figure; none the second time; b the third
    assert (first["png"], again["png"], changed["png"]) == ("written",) * 3
    assert again["png_reused"] == ["a", "b"] and changed["png_reused"] == ["a"]
    assert (tmp_path / "run2" / "a.png").read_bytes() == (tmp_path / "run1" / "a.png").read_bytes()
    assert (tmp_path / "run3" / "b.png").is_file()


def test_png_cache_bypassed_and_corrupt_entries_ignored(stand_in_chromium: list[list[str]], tmp_path: Path) -> None:
    images.export_pngs(_figures(), tmp_path / "run1")
    images.export_pngs(_figures(), tmp_path / "run2", use_cache=False)  # --no-cache renders everything
    for cached in images.png_cache_dir().glob("*.png"):
        cached.write_bytes(b"truncated")
    status = images.export_pngs(_figures(), tmp_path / "run3")
    assert stand_in_chromium == [["a"], ["b"]] * 3
    assert status["png_reused"] == []
    assert (tmp_path / "run3" / "a.png").read_bytes().startswith(images.PNG_SIGNATURE)


def test_renders_expected_follows_the_record_of_a_run(stand_in_chromium: list[list[str]], tmp_path: Path) -> None:
    """After an export under inputs key K, a run with K copies every image (no Chromium needed) until one of its
    cached images disappears; unknown keys and damaged records mean 'expect rendering'."""
    assert images.renders_expected("K") and images.renders_expected(None)
    status = images.export_pngs(_figures(), tmp_path / "one", inputs_key="K")
    assert status["png"] == "written" and stand_in_chromium == [["a"], ["b"]]
    assert not images.renders_expected("K")
    assert images.renders_expected("other")
    again = images.export_pngs(_figures(), tmp_path / "two", inputs_key="K")
    assert again["png_reused"] == ["a", "b"] and len(stand_in_chromium) == 2
    next(images.png_cache_dir().glob("*.png")).unlink()
    assert images.renders_expected("K")
    images.export_pngs(_figures(), tmp_path / "three", inputs_key="K")
    assert not images.renders_expected("K")
    (images.png_cache_dir() / "runs" / "K.json").write_text("{not json", encoding="utf-8")
    assert images.renders_expected("K")


def test_no_record_without_cache_or_after_a_failure(
    stand_in_chromium: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images.export_pngs(_figures(), tmp_path / "one", use_cache=False, inputs_key="K")
    assert images.renders_expected("K")  # --no-cache writes nothing into the cache, the record included

    def failing(self: images.ImageSession, figures: Any, folder: Path) -> Future[None]:
        done: Future[None] = Future()
        done.set_exception(RuntimeError("chromium crashed"))
        return done

    monkeypatch.setattr(images.ImageSession, "submit", failing)
    status = images.export_pngs(_figures(), tmp_path / "two", inputs_key="K")
    assert status["png"] == "skipped: export failed (RuntimeError: chromium crashed)"
    assert not (tmp_path / "two").exists() and images.renders_expected("K")


class _FakeKaleido:
    """kaleido.Kaleido stand-in: records its life cycle; `fail_on_open` or `render_seconds` shape its behaviour."""

    events: ClassVar[list[str]] = []
    fail_on_open = False
    fail_on_close = False
    hang_on_open = False
    render_seconds = 0.0
    rendering = 0  # requests being rendered now, and the most at once
    most_at_once = 0

    def __init__(self, **options: Any) -> None:
        self.options = options

    async def open(self) -> None:
        self.events.append("open")
        if self.fail_on_open:
            raise RuntimeError("no browser found")
        if self.hang_on_open:
            await asyncio.sleep(3600)

    async def close(self) -> None:
        self.events.append("close")
        if self.fail_on_close:
            raise RuntimeError("browser would not close")

    async def write_fig_from_object(self, jobs: list[dict[str, Any]]) -> tuple[Exception, ...]:
        type(self).rendering += 1
        type(self).most_at_once = max(self.most_at_once, self.rendering)
        await asyncio.sleep(self.render_seconds)
        type(self).rendering -= 1
        for job in jobs:
            assert isinstance(job["fig"], dict)  # plain dicts: the session's thread never reads a live figure
            Path(job["path"]).write_bytes(images.PNG_SIGNATURE)
        self.events.append(f"render {len(jobs)}")
        return ()


@pytest.fixture
def fake_kaleido(monkeypatch: pytest.MonkeyPatch) -> type[_FakeKaleido]:
    fake = types.ModuleType("kaleido")
    fresh = {
        "events": [],
        "fail_on_open": False,
        "fail_on_close": False,
        "hang_on_open": False,
        "render_seconds": 0.0,
        "rendering": 0,
        "most_at_once": 0,
    }
    kaleido_class = type("Kaleido", (_FakeKaleido,), fresh)
    fake.Kaleido = kaleido_class  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kaleido", fake)
    _without_served_page(monkeypatch)
    return kaleido_class


def _without_served_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions open kaleido's own page: the served page drives the real kaleido (tests/test_kaleido_page.py)."""

    async def unavailable(self: images.ImageSession, *args: Any) -> None:
        return None

    monkeypatch.setattr(images.ImageSession, "_open_served", unavailable)


def _session_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "forecast-png"]


def test_session_serves_requests_in_order_and_stops(fake_kaleido: type[_FakeKaleido], tmp_path: Path) -> None:
    with images.ImageSession("/usr/bin/chromium") as session:
        first = session.submit(_figures(), tmp_path)
        second = session.submit({"c": go.Figure()}, tmp_path)
        first.result(timeout=10)
        second.result(timeout=10)
    assert fake_kaleido.events == ["open", "render 2", "render 1", "close"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["a.png", "b.png", "c.png"]
    assert _session_threads() == []
    session.stop()  # stopping twice is harmless


def test_requests_are_rendered_at_once_and_stop_waits_for_them(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path
) -> None:
    """Each request goes to kaleido as soon as it arrives (kaleido queues it for a free tab: with two tabs, two
    images render at once); a stop sent meanwhile closes Chromium only after both are written."""
    fake_kaleido.render_seconds = 0.2
    session = images.ImageSession("/usr/bin/chromium", tabs=2).start()
    pending = [session.submit({name: go.Figure()}, tmp_path) for name in ("a", "b")]
    session.stop()
    assert all(done.done() and done.exception() is None for done in pending)
    assert fake_kaleido.most_at_once == 2
    assert fake_kaleido.events == ["open", "render 1", "render 1", "close"] and _session_threads() == []


def test_a_browser_that_does_not_start_fails_every_request(fake_kaleido: type[_FakeKaleido], tmp_path: Path) -> None:
    fake_kaleido.fail_on_open = True
    session = images.ImageSession("/usr/bin/chromium").start()
    pending = [session.submit(_figures(), tmp_path) for _ in range(2)]
    for done in pending:
        with pytest.raises(RuntimeError, match="no browser found"):
            done.result(timeout=10)
    session.stop()
    assert _session_threads() == []


def test_a_browser_that_never_gets_ready_fails_the_requests_in_time(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kaleido's own `open` has no time limit: a Chromium that starts but never loads the page must not hold the
    run for the export's whole wait limit; it is closed, and the requests fail with the reason."""
    fake_kaleido.hang_on_open = True
    monkeypatch.setattr(images, "OPEN_TIMEOUT_SECONDS", 0.2)
    session = images.ImageSession("/usr/bin/chromium").start()
    with pytest.raises(RuntimeError, match=r"did not start within 0\.2 s"):
        session.submit(_figures(), tmp_path).result(timeout=10)
    session.stop()
    assert fake_kaleido.events == ["open", "close"] and _session_threads() == []


def test_an_export_closes_a_callers_session_only_when_told(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Figures go to the session one by one; `export_pngs` leaves a caller's session open for more work, and
    `done_adding(close_session=True)` (what `report.write_report` does for the run's early session) lets it close
    once the images sent to it are done."""
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    session = images.ImageSession("/usr/bin/chromium").start()
    assert images.export_pngs(_figures(), tmp_path / "one", session=session)["png"] == "written"
    last = images.ImageExport(tmp_path / "two", session=session)
    last.add("c", go.Figure(layout={"title": "c"}))
    last.done_adding(close_session=True)
    assert last.result()["png"] == "written"
    with pytest.raises(RuntimeError, match="closing"):
        session.submit({"d": go.Figure()}, tmp_path)
    session.stop()
    assert fake_kaleido.events == ["open", "render 1", "render 1", "render 1", "close"]
    assert _session_threads() == []


def test_a_session_kept_open_serves_run_after_run_until_stopped(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`forecast watch`: each run's export asks its session to close once the run's images are sent (as
    `report.write_report` does); a session kept open ignores that and closes on `stop()` only. After `new_run()`,
    a run's status gives no Chromium start: it was open already."""
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    session = images.ImageSession("/usr/bin/chromium", keep_open=True).start()
    statuses = []
    for run, title in enumerate(("first", "second")):
        if run:
            session.new_run()
        export = images.ImageExport(tmp_path / title, session=session)
        export.add("a", go.Figure(layout={"title": title}))
        export.done_adding(close_session=True)
        statuses.append(export.result())
    assert [s["png"] for s in statuses] == ["written", "written"]
    assert fake_kaleido.events == ["open", "render 1", "render 1"] and _session_threads() != []
    assert statuses[0]["png_seconds"]["chromium_open"] is not None
    assert statuses[1]["png_seconds"]["chromium_open"] == 0.0
    assert session.rendered == 2  # what a watch counts to know when to start a fresh Chromium
    session.stop()
    assert fake_kaleido.events[-1] == "close" and _session_threads() == []


def test_a_session_whose_browser_failed_says_so_and_starts_again(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path
) -> None:
    """A watch checks `error` before each run and restarts a session whose Chromium did not start or died."""
    fake_kaleido.fail_on_open = True
    session = images.ImageSession("/usr/bin/chromium", keep_open=True).start()
    with pytest.raises(RuntimeError, match="no browser found"):
        session.submit(_figures(), tmp_path).result(timeout=10)
    assert isinstance(session.error, RuntimeError)
    fake_kaleido.fail_on_open = False
    session.stop()
    session.start()
    session.submit(_figures(), tmp_path).result(timeout=10)
    assert session.error is None
    session.stop()
    assert fake_kaleido.events == ["open", "close", "open", "render 2", "close"] and _session_threads() == []


def test_status_says_where_the_image_time_went(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.json's figure status gives Chromium's start, each rendered figure's time and the run's wait for them
    (what `forecast bench` reports for a scenario edit); copied images have no render time."""
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    images.export_pngs({"a": go.Figure(layout={"title": "a"})}, tmp_path / "first")
    fake_kaleido.render_seconds = 0.05
    status = images.export_pngs(_figures(), tmp_path / "second")
    assert status["png"] == "written" and status["png_reused"] == ["a"]
    timings = status["png_seconds"]
    assert list(timings["render"]) == ["b"]
    # The fake sleeps 0.05 s per render; asyncio's clock may wake ~1 ms early, hence the 0.04 s floor.
    assert 0.04 <= timings["render"]["b"] < 5
    assert timings["chromium_open"] is not None and 0 <= timings["chromium_open"] < 5
    assert 0 <= timings["waited_after_page"] < 5
    assert "png_seconds" not in images.export_pngs(_figures(), tmp_path / "third")  # all copied: nothing rendered


def test_a_browser_that_fails_to_close_does_not_hold_up_stop(fake_kaleido: type[_FakeKaleido], tmp_path: Path) -> None:
    fake_kaleido.fail_on_close = True
    session = images.ImageSession("/usr/bin/chromium").start()
    session.submit(_figures(), tmp_path).result(timeout=10)
    started = time.monotonic()
    session.stop()
    assert time.monotonic() - started < images.STOP_TIMEOUT_SECONDS / 2
    assert _session_threads() == [] and fake_kaleido.events == ["open", "render 2", "close"]


def test_report_error_meanwhile_stops_the_export_session(
    fake_kaleido: type[_FakeKaleido], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt while the page is rendered must not leave the export's own browser running."""
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    fake_kaleido.render_seconds = 0.5
    pending = images.ImageExport(tmp_path / "figures")
    for name, figure in _figures().items():
        pending.add(name, figure)
    pending.abandon()
    assert _session_threads() == [] and fake_kaleido.events[-1] == "close"


@pytest.mark.browser
@pytest.mark.skipif(
    images.png_unavailable_reason() is not None, reason=f"PNG export unavailable: {images.png_unavailable_reason()}"
)
def test_real_chromium_session_renders_and_leaves_no_browser(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    chromium = images.find_chromium()
    assert chromium is not None
    session = images.ImageSession(chromium).start()
    started = time.monotonic()
    session.submit(_figures(), tmp_path).result(timeout=images.PNG_TIMEOUT_SECONDS)
    assert any(p.pid not in before for p in me.children(recursive=True)), "no Chromium process was started"
    session.stop()
    for name in ("a", "b"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(images.PNG_SIGNATURE)
    time.sleep(0.5)
    left = [p for p in me.children(recursive=True) if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"Chromium processes left after stop: {left}"
    assert time.monotonic() - started < images.PNG_TIMEOUT_SECONDS


@pytest.fixture
def recorded_sessions(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """ImageSession stand-ins for the CLI: each records start/stop; the pipeline stand-in records its session."""
    log: list[list[str]] = []

    class Recording:
        def __init__(self, chromium: str, browser_cache: Path | None = None) -> None:
            self.events: list[str] = []
            log.append(self.events)

        def start(self) -> Recording:
            self.events.append("start")
            return self

        def stop(self) -> None:
            self.events.append("stop")

    monkeypatch.setattr(images, "ImageSession", Recording)
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    fake = types.ModuleType("forecast.run.pipeline")

    def run_pipeline(config: Any, **kwargs: Any) -> None:
        session = kwargs["image_session"]
        log.append(["pipeline got " + ("a session" if session is not None else "none")])
        if session is not None:
            session.events.append("used")

    fake.run_pipeline = run_pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "forecast.run.pipeline", fake)
    return log


def test_cli_starts_chromium_early_only_when_images_will_render(
    recorded_sessions: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    runner = CliRunner()
    args = ["run", "--data", str(DATA_DIR), "--out", str(tmp_path / "out")]
    assert runner.invoke(app, args).exit_code == 0
    # Started before the pipeline, handed to it, stopped after it.
    assert recorded_sessions == [["start", "used", "stop"], ["pipeline got a session"]]
    for extra in (["--no-png"], ["--force"], ["--no-cache"]):
        recorded_sessions.clear()
        assert runner.invoke(app, [*args, *extra]).exit_code == 0
        assert recorded_sessions == [["pipeline got none"]], extra
    # Every image of a run with these inputs already in the PNG cache: no early start.
    from forecast.config import load_config
    from forecast.run.freshness import inputs_hash

    key = inputs_hash(load_config("default"), DATA_DIR, png=True)
    cached = images.png_cache_dir() / "k1.png"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(images.PNG_SIGNATURE)
    record = images.png_cache_dir() / "runs" / f"{key}.json"
    record.parent.mkdir()
    record.write_text(json.dumps(["k1"]), encoding="utf-8")
    recorded_sessions.clear()
    assert runner.invoke(app, args).exit_code == 0
    assert recorded_sessions == [["pipeline got none"]]


def test_cli_stops_the_early_session_when_the_run_fails(
    recorded_sessions: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))

    def failing(config: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    sys.modules["forecast.run.pipeline"].run_pipeline = failing  # type: ignore[attr-defined]
    result = CliRunner().invoke(app, ["run", "--data", str(DATA_DIR), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert recorded_sessions == [["start", "stop"]]


_LEFT_RUNNING = """
import sys, types

fake = types.ModuleType("kaleido")


class Kaleido:
    def __init__(self, **options):
        pass

    async def open(self):
        pass

    async def close(self):
        pass

    async def write_fig_from_object(self, jobs):
        return ()


fake.Kaleido = Kaleido
sys.modules["kaleido"] = fake
from forecast.report import images


async def unavailable(self, *args):
    return None


images.ImageSession._open_served = unavailable
session = images.ImageSession("/usr/bin/chromium").start()
session.submit({}, sys.argv[1]).result(timeout=10)  # the session is up, waiting for its next request
print("leaving without stop()")
"""


def test_a_session_never_stopped_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    """A session its caller forgets to stop (a notebook, an API user) must not hang the interpreter at exit: its
    thread is a daemon and waits on its own loop, not on a worker thread Python joins at exit."""
    script = tmp_path / "left_running.py"
    script.write_text(_LEFT_RUNNING, encoding="utf-8")
    try:  # the limit only tells a hang from an exit; a normal exit takes about a second
        done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit within 60 s with an image session left running")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "leaving without stop()"
