"""PNG export (forecast.report.images): the content-keyed cache (only new or changed figures are rendered, in one
kaleido call), failures reported instead of raised, the Chromium a watch keeps open (kaleido's sync server), and
real Chromium where installed: images written, no browser left behind."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from forecast.report import images


def _figures(title: str = "b") -> dict[str, go.Figure]:
    return {"a": go.Figure(layout={"title": "a"}), "b": go.Figure(layout={"title": title, "height": 400})}


class _FakeKaleido(types.ModuleType):
    """The part of kaleido's public API the export uses: one-shot batches (`write_fig_from_object_sync` with
    `kopts`) and the sync server (`start_sync_server`, then batches without `kopts`, `stop_sync_server`)."""

    def __init__(self) -> None:
        super().__init__("kaleido")
        self.batches: list[list[str]] = []  # figure names of each batch
        self.kopts: list[dict[str, Any] | None] = []
        self.events: list[str] = []
        self.server_options: dict[str, Any] | None = None
        self.fail_with: BaseException | None = None
        self.errors: tuple[Exception, ...] = ()
        self.hang = False

    def write_fig_from_object_sync(self, jobs: list[dict[str, Any]], kopts: dict[str, Any] | None = None) -> Any:
        if self.hang:
            threading.Event().wait()
        self.batches.append([Path(job["path"]).stem for job in jobs])
        self.kopts.append(kopts)
        for job in jobs:
            assert isinstance(job["fig"], dict) and job["opts"]["format"] == "png"
            Path(job["path"]).write_bytes(images.PNG_SIGNATURE + Path(job["path"]).stem.encode())
        if self.fail_with is not None:
            raise self.fail_with
        return self.errors

    def start_sync_server(self, silence_warnings: bool = False, **options: Any) -> None:
        self.events.append("start")
        self.server_options = options

    def stop_sync_server(self, silence_warnings: bool = False) -> None:
        self.events.append("stop")


@pytest.fixture
def fake_kaleido(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _FakeKaleido:
    fake = _FakeKaleido()
    monkeypatch.setitem(sys.modules, "kaleido", fake)
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    return fake


def test_png_cache_reuses_identical_figures(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    first = images.export_pngs(_figures(), tmp_path / "run1")
    again = images.export_pngs(_figures(), tmp_path / "run2")
    changed = images.export_pngs(_figures("b, edited"), tmp_path / "run3")
    assert fake_kaleido.batches == [["a", "b"], ["b"]]  # one call for the new figures; none the second time
    assert (first["png"], again["png"], changed["png"]) == ("written",) * 3
    assert again["png_reused"] == ["a", "b"] and again["png_rendered"] == []
    assert changed["png_reused"] == ["a"] and changed["png_rendered"] == ["b"]
    assert changed["files"] == ["figures/a.png", "figures/b.png"]
    assert (tmp_path / "run2" / "a.png").read_bytes() == (tmp_path / "run1" / "a.png").read_bytes()
    assert (tmp_path / "run3" / "b.png").is_file()


def test_png_cache_bypassed_and_corrupt_entries_ignored(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    images.export_pngs(_figures(), tmp_path / "run1")
    images.export_pngs(_figures(), tmp_path / "run2", use_cache=False)  # --no-cache renders everything
    for cached in images.png_cache_dir().glob("*.png"):
        cached.write_bytes(b"truncated")
    status = images.export_pngs(_figures(), tmp_path / "run3")
    assert fake_kaleido.batches == [["a", "b"]] * 3
    assert status["png_reused"] == []
    assert (tmp_path / "run3" / "a.png").read_bytes().startswith(images.PNG_SIGNATURE)


def test_no_cache_leaves_the_png_cache_alone(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    images.export_pngs(_figures(), tmp_path / "one", use_cache=False)
    assert not images.png_cache_dir().exists()


def test_png_key_follows_the_figure_and_its_size() -> None:
    base = go.Figure(layout={"title": "a"})
    assert images.png_key(base) == images.png_key(go.Figure(layout={"title": "a"}))
    assert images.png_key(base) != images.png_key(go.Figure(layout={"title": "a", "height": 400}))
    assert images.png_key(base) != images.png_key(go.Figure(layout={"title": "A"}))


def test_kaleido_gets_our_chromium_and_nothing_from_the_network(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    images.export_pngs(_figures(), tmp_path / "one")
    (kopts,) = fake_kaleido.kopts
    assert kopts is not None and kopts["path"] == "/usr/bin/chromium"
    assert kopts["plotlyjs"] == str(images.local_plotlyjs()) and kopts["mathjax"] is False
    assert kopts["timeout"] == images.PNG_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("raises", "skipped: export failed (RuntimeError: chromium crashed)"),
        ("returns errors", "skipped: export failed (RuntimeError: TimeoutError: figure b)"),
    ],
)
def test_a_failed_export_is_a_skip_all_or_nothing(
    fake_kaleido: _FakeKaleido, tmp_path: Path, failure: str, message: str
) -> None:
    if failure == "raises":
        fake_kaleido.fail_with = RuntimeError("chromium crashed")
    else:
        fake_kaleido.errors = (TimeoutError("figure b"),)
    status = images.export_pngs(_figures(), tmp_path / "two")
    assert status == {"png": message, "files": []}
    assert not (tmp_path / "two").exists()  # the images written before the failure are gone too
    assert not images.png_cache_dir().exists()


def test_an_interrupt_during_the_render_leaves_no_folder(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    fake_kaleido.fail_with = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        images.export_pngs(_figures(), tmp_path / "figures")
    assert not (tmp_path / "figures").exists()


def test_status_says_where_the_image_time_went(fake_kaleido: _FakeKaleido, tmp_path: Path) -> None:
    """run.json's figure status gives the render of the batch (Chromium's start included when it started for it)
    and the run's wait for it; copied images have no render time."""
    images.export_pngs({"a": go.Figure(layout={"title": "a"})}, tmp_path / "first")
    status = images.export_pngs(_figures(), tmp_path / "second")
    assert status["png"] == "written" and status["png_reused"] == ["a"]
    timings = status["png_seconds"]
    assert list(timings["render"]) == ["b"] and 0 <= timings["render"]["b"] < 5
    assert timings["chromium_open"] is None  # started for this batch: its start is in the render time
    assert timings["waited_after_page"] == timings["render"]["b"]
    assert "png_seconds" not in images.export_pngs(_figures(), tmp_path / "third")  # all copied: nothing rendered


def test_a_server_kept_open_serves_export_after_export_until_stopped(
    fake_kaleido: _FakeKaleido, tmp_path: Path
) -> None:
    """`forecast watch`: while its server runs, every export renders there (kaleido's sync server: no `kopts`);
    the second export's status says Chromium was open already; `rendered` counts the images (a watch starts a
    fresh Chromium after CHROMIUM_IMAGES_PER_START)."""
    server = images.PngServer(tabs=2).start()
    try:
        assert fake_kaleido.events == ["start"]
        assert fake_kaleido.server_options is not None and fake_kaleido.server_options["n"] == 2
        assert fake_kaleido.server_options["path"] == "/usr/bin/chromium"
        with pytest.raises(RuntimeError, match="running already"):
            images.PngServer().start()
        first = images.export_pngs(_figures(), tmp_path / "one")
        second = images.export_pngs(_figures("b, edited"), tmp_path / "two")
    finally:
        server.stop()
    assert fake_kaleido.kopts == [None, None]
    assert first["png_seconds"]["chromium_open"] is None and second["png_seconds"]["chromium_open"] == 0.0
    assert server.rendered == 3 and not server.worn_out(4) and server.worn_out(3)
    assert fake_kaleido.events == ["start", "stop"]
    server.stop()  # stopping twice is harmless
    assert fake_kaleido.events == ["start", "stop"] and images.PngServer.running is None
    images.export_pngs(_figures("new"), tmp_path / "three")
    assert fake_kaleido.kopts[-1] is not None  # stopped: a one-shot Chromium again


def test_a_server_that_never_answers_fails_the_export_in_time(
    fake_kaleido: _FakeKaleido, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose Chromium never opened (or died) would never answer: the export gives up after the limit,
    and the server says it is worn out, so a watch starts a fresh one."""
    monkeypatch.setattr(images, "OPEN_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(images, "PNG_TIMEOUT_SECONDS", 0.1)
    fake_kaleido.hang = True
    server = images.PngServer().start()
    try:
        started = time.monotonic()
        status = images.export_pngs(_figures(), tmp_path / "one")
        assert time.monotonic() - started < 5
    finally:
        server.stop()
    assert status["png"].startswith("skipped: export failed (TimeoutError")
    assert server.error is not None and server.worn_out(100)


def _running(psutil: Any, pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _chromium_children(psutil: Any, before: set[int]) -> list[Any]:
    me = psutil.Process()
    return [p for p in me.children(recursive=True) if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE]


CHROMIUM_MISSING = images.png_unavailable_reason()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM_MISSING is not None, reason=f"PNG export unavailable: {CHROMIUM_MISSING}")
@pytest.mark.parametrize("kept_open", [False, True], ids=["one-shot", "server"])
def test_real_chromium_renders_and_leaves_no_browser(tmp_path: Path, kept_open: bool) -> None:
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    server = images.PngServer().start() if kept_open else None
    try:
        status = images.export_pngs(_figures(), tmp_path / "figures", use_cache=False)
        if server is not None:
            assert _chromium_children(psutil, before), "the server's Chromium is not open"
    finally:
        if server is not None:
            server.stop()
    assert status["png"] == "written", status
    for name in ("a", "b"):
        assert (tmp_path / "figures" / f"{name}.png").read_bytes().startswith(images.PNG_SIGNATURE)
    time.sleep(0.5)
    assert _chromium_children(psutil, before) == [], "Chromium processes left after the export"


_LEFT_RUNNING = """
import sys
import plotly.graph_objects as go
import psutil
from forecast.report import images

server = images.PngServer().start()
status = images.export_pngs({"a": go.Figure()}, sys.argv[1], use_cache=False)
print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)))
print(status["png"], "; leaving without stop()")
"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM_MISSING is not None, reason=f"PNG export unavailable: {CHROMIUM_MISSING}")
def test_a_server_never_stopped_does_not_keep_the_process_or_chromium_alive(tmp_path: Path) -> None:
    """A server its caller forgets to stop (a notebook, an API user) must not hang the interpreter at exit, nor
    leave its Chromium running (kaleido closes its server at exit)."""
    psutil = pytest.importorskip("psutil")
    script = tmp_path / "left_running.py"
    script.write_text(_LEFT_RUNNING, encoding="utf-8")
    try:  # the limit only tells a hang from an exit
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "figures")], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit within 120 s with a PNG server left running")
    assert done.returncode == 0, done.stderr
    children, last = done.stdout.strip().splitlines()
    assert last == "written ; leaving without stop()" and children, "no Chromium was running"
    time.sleep(0.5)
    left = [int(pid) for pid in children.split() if _running(psutil, int(pid))]
    assert left == [], f"Chromium processes left after the process exited: {left}"
