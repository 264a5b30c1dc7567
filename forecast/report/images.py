"""PNG copies of the report's figures (`figures/*.png`), rendered by kaleido through a headless Chromium.

Best effort: any problem is reported in the returned status and never fails a run. Four things keep it fast:

- **A PNG cache.** Each image is keyed by its figure's JSON, size and the plotly and kaleido versions
  (`png_key`); an identical figure is copied from `<cache>/png` instead of rendered again. After a successful
  export the keys of the run's images are recorded under the run's inputs hash, so the next run with the same
  inputs knows beforehand that nothing will need rendering (`renders_expected`).
- **An early start.** Starting Chromium and loading plotly.js into it takes 1–2 s, a large part of a warm run's
  work. An `ImageSession` starts it in a background thread (its own asyncio loop; Chromium is a separate
  process) as soon as the run knows it will render, so the start overlaps the projections and figure building.
- **plotly.js compiled once.** With a cache folder, kaleido's page is served over loopback HTTP and Chromium keeps
  its disk and code cache between runs (`forecast.report.kaleido_page`): a start then takes ~0.8 s instead of ~2.1 s.
- **Rendering as figures are built.** `ImageExport.add` takes each figure as the report builds it, so images
  render while the other figures and the page are built.

The status of an export that rendered anything records where its time went (`png_seconds`: Chromium's open,
each render, the run's wait after its page); run.json keeps it and `forecast bench` prints it.

Import cost is kept small (no plotly.graph_objects, no kaleido until a session starts): `forecast run` asks
`png_unavailable_reason` for its up-to-date check before the heavy imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.hashing import package_versions

if TYPE_CHECKING:
    import plotly.graph_objects as go

log = logging.getLogger(__name__)

FIGURES_DIR = "figures"
# Chromium executables tried, in order, when BROWSER_PATH is not set (Debian ships `chromium`).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_WIDTH, PNG_SCALE = 1200, 2
PNG_TIMEOUT_SECONDS = 60  # per image (kaleido's own timeout)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# How long stopping a session may wait for Chromium to finish starting and close (then it is left to exit with
# the process; its thread is a daemon).
STOP_TIMEOUT_SECONDS = 20
# How long Chromium may take to start and load kaleido's page (kaleido's own `open` has no limit): a served page
# that does not open in time falls back to kaleido's own page; that one failing to open fails the export.
OPEN_TIMEOUT_SECONDS = 20


# ----------------------------------------------------------------------------------------------------
# Can images be made here?
# ----------------------------------------------------------------------------------------------------


def find_chromium() -> str | None:
    """Path of a Chromium for kaleido: BROWSER_PATH if it names a file, else the first of CHROMIUM_NAMES on PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).is_file():
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def local_plotlyjs() -> Path:
    """The plotly.js file shipped with the plotly package (kaleido's page loads it from disk, never a CDN)."""
    spec = importlib.util.find_spec("plotly")
    origin = spec.origin if spec is not None and spec.origin else ""
    return Path(origin).parent / "package_data" / "plotly.min.js"


def png_unavailable_reason() -> str | None:
    """Why PNG export cannot run here (None if kaleido, a Chromium and a local plotly.js are available)."""
    try:
        has_kaleido = importlib.util.find_spec("kaleido") is not None
    except (ImportError, ValueError):
        has_kaleido = False
    if not has_kaleido:
        return "kaleido is not installed (pip install kaleido)"
    if find_chromium() is None:
        return (
            "no Chromium found for kaleido (looked for BROWSER_PATH and "
            + ", ".join(CHROMIUM_NAMES)
            + " on PATH; on Debian: apt-get install chromium)"
        )
    if not local_plotlyjs().is_file():
        return f"plotly.js not found at {local_plotlyjs()} (kaleido would fetch it from a CDN)"
    return None


# ----------------------------------------------------------------------------------------------------
# PNG cache
# ----------------------------------------------------------------------------------------------------


def png_cache_dir() -> Path:
    """Rendered PNGs by content key, in the `png` folder of the posterior cache (`forecast.cache.cache_dir()`)."""
    from forecast.cache import cache_dir

    return cache_dir() / "png"


def browser_cache_dir() -> Path:
    """Chromium's disk cache, which keeps plotly.js compiled between runs (`forecast.report.kaleido_page`), in the
    `chromium` folder of the posterior cache."""
    from forecast.cache import cache_dir

    return cache_dir() / "chromium"


def png_key(figure: go.Figure) -> str:
    """Hash of everything an exported image depends on: the figure's JSON, the export size and the versions of
    plotly and kaleido. Equal keys give the same picture, so it is copied instead of rendered again."""
    versions = package_versions()  # read once per process
    parts = [
        figure.to_json(validate=False),
        f"{PNG_WIDTH}x{figure.layout.height or 600}@{PNG_SCALE}",
        f"plotly {versions['plotly']}",
        f"kaleido {versions['kaleido']}",
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _cached_png(key: str) -> Path | None:
    """The cached image for `key` if it is there and starts like a PNG (a truncated file is not trusted)."""
    path = png_cache_dir() / f"{key}.png"
    try:
        with path.open("rb") as handle:
            return path if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE else None
    except OSError:
        return None


def _atomic_copy(source: Path | None, target: Path, text: str | None = None) -> None:
    """Write `text`, or copy `source`, to `target` through a temporary file; a cache that cannot be written is
    skipped."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
        os.close(handle)
        if text is not None:
            Path(tmp).write_text(text, encoding="utf-8")
        elif source is not None:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        log.info("PNG cache not written: %s", exc)


def _run_record(inputs_key: str) -> Path:
    return png_cache_dir() / "runs" / f"{inputs_key}.json"


def renders_expected(inputs_key: str | None) -> bool:
    """False when a run with exactly these inputs (`freshness.inputs_hash`) exported its images before and all of
    them are still in the PNG cache: then every image will be copied and Chromium need not start."""
    if not inputs_key:
        return True
    try:
        keys = json.loads(_run_record(inputs_key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        return True
    return not all(_cached_png(key) is not None for key in keys)


# ----------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------


def _jobs(figures: Mapping[str, go.Figure], folder: Path) -> list[dict[str, Any]]:
    """kaleido's job list; the figures go as plain dicts made here, so the session's thread never reads a figure
    object the caller's thread may still be using."""
    return [
        {
            "fig": fig.to_dict(),
            "path": folder / f"{name}.png",
            "opts": {"format": "png", "width": PNG_WIDTH, "height": fig.layout.height or 600, "scale": PNG_SCALE},
        }
        for name, fig in figures.items()
    ]


_STOP = None  # the request that ends a session's loop
_Request = tuple[list[dict[str, Any]], Future[None]] | None


class ImageSession:
    """One headless Chromium (a kaleido session) serving render requests from a background thread.

    `start()` returns at once; Chromium starts while the caller goes on. `submit()` queues figures and returns a
    Future that resolves when their PNGs are written (or fails with the reason). `stop()` closes Chromium and
    waits for the thread; call it in a `finally` (or use the session as a context manager) so an interrupted
    run leaves no browser behind. Nothing is fetched from the network: plotly.js comes from the plotly package and
    MathJax is off (the figures use no LaTeX). With `keep_open`, `stop_soon()` is ignored and only `stop()` closes
    Chromium: `forecast watch` keeps one for all its runs. Requests are served concurrently, on `tabs` kaleido tabs
    (each loads plotly.js when Chromium opens: worth it only where the opening is paid once, as in a watch).
    """

    def __init__(
        self, chromium: str, browser_cache: Path | None = None, keep_open: bool = False, tabs: int = 1
    ) -> None:
        self.chromium = chromium
        self.browser_cache = browser_cache
        self.keep_open = keep_open
        self.tabs = tabs
        # Why Chromium failed to start or died; every request since fails with it (start a new session instead)
        self.error: Exception | None = None
        self.rendered = 0  # images this Chromium has rendered (its renderers' memory grows with them)
        self.page_served = False  # set once Chromium is up: True when it opened the served page
        # Where a run's image time goes: seconds from `start()` until Chromium had its page open, and each
        # request's render (by figure names), as the session's thread measured them
        self.open_seconds: float | None = None
        self.render_seconds: dict[str, float] = {}
        self._started_at = 0.0
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        # The running session's loop and the event that wakes it for a new request (None while not running)
        self._wakeup: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._thread: threading.Thread | None = None
        self._stop_sent = False

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> ImageSession:
        if self._thread is None:
            self._stop_sent = False
            self.error, self.open_seconds, self.rendered = None, None, 0
            self._started_at = time.perf_counter()
            self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name="forecast-png", daemon=True)
            self._thread.start()
        return self

    def submit(self, figures: Mapping[str, go.Figure], folder: Path) -> Future[None]:
        """Render `figures` to `<folder>/<name>.png`; starts the session if it is not running."""
        if self._stop_sent:
            raise RuntimeError("the image session is closing (stop_soon); start a new one")
        self.start()
        done: Future[None] = Future()
        self._put((_jobs(figures, Path(folder)), done))
        return done

    def stop_soon(self) -> None:
        """Close Chromium once the requests already submitted are done, without waiting; `stop()` waits. Ignored
        by a session that keeps open."""
        if not self.keep_open:
            self._send_stop()

    def stop(self) -> None:
        self._send_stop()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join(STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            log.warning("Chromium did not close within %s s; it ends with this process", STOP_TIMEOUT_SECONDS)

    def _send_stop(self) -> None:
        if self._thread is not None and not self._stop_sent:
            self._stop_sent = True
            self._put(_STOP)

    def new_run(self) -> None:
        """Time the next run on its own: its renders only, and no open time if Chromium is open already."""
        self.render_seconds = {}
        if self.open_seconds is not None:
            self.open_seconds = 0.0

    def __enter__(self) -> ImageSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self, resources: contextlib.AsyncExitStack) -> Any:
        """An open kaleido session, closed with `resources`: on the served page with the browser cache
        (`forecast.report.kaleido_page`) when a cache folder is given and free, else on kaleido's own page."""
        import kaleido

        options: dict[str, Any] = {"path": self.chromium, "timeout": PNG_TIMEOUT_SECONDS, "n": self.tabs}
        if self.browser_cache is not None:
            served = await self._open_served(resources, options)
            if served is not None:
                return served
        session = kaleido.Kaleido(plotlyjs=str(local_plotlyjs()), mathjax=False, **options)
        try:
            await _open_within(session)
        except BaseException:
            with contextlib.suppress(Exception):  # a browser that started but did not get ready is closed
                await session.close()
            raise
        resources.push_async_callback(session.close)
        return session

    async def _open_served(self, resources: contextlib.AsyncExitStack, options: dict[str, Any]) -> Any:
        """kaleido on the served page, or None if the cache folder is in use or that page cannot open (e.g. a
        kaleido whose internals moved: its own page still works, only slower)."""
        assert self.browser_cache is not None
        served = None
        try:
            from forecast.report import kaleido_page

            if not resources.enter_context(kaleido_page.cache_lock(self.browser_cache)):
                return None
            server = kaleido_page.PageServer(local_plotlyjs(), package_versions()).start()
            resources.callback(server.close)
            browser = kaleido_page.browser_class(server.port, self.browser_cache)
            served = kaleido_page.ServedKaleido(server.page_url, browser_cls=browser, **options)
            await _open_within(served)
        except Exception as exc:
            log.info("served kaleido page unavailable (%s); using kaleido's own page", _as_error(exc))
            if served is not None:
                with contextlib.suppress(Exception):
                    await served.close()
            return None
        self.page_served = True
        resources.push_async_callback(served.close)
        return served

    def _put(self, request: _Request) -> None:
        self._requests.put(request)
        wakeup = self._wakeup
        if wakeup is not None:
            loop, event = wakeup
            with contextlib.suppress(RuntimeError):  # that loop has closed: a new one reads the queue first
                loop.call_soon_threadsafe(event.set)

    async def _next_request(self) -> _Request:
        """The next request, waited for on the loop itself: a thread blocked on the queue (`asyncio.to_thread`)
        would be joined at interpreter exit, so a session never stopped would keep its process from exiting."""
        assert self._wakeup is not None
        _, event = self._wakeup
        while True:
            try:
                return self._requests.get_nowait()
            except queue.Empty:
                await event.wait()
                event.clear()

    async def _serve(self) -> None:
        self._wakeup = (asyncio.get_running_loop(), asyncio.Event())
        stopping = False
        rendering: set[asyncio.Task[None]] = set()
        tabs = asyncio.Semaphore(self.tabs)  # one request per tab at a time: its time is its render alone
        try:
            async with contextlib.AsyncExitStack() as resources:
                session = await self._open(resources)
                self.open_seconds = round(time.perf_counter() - self._started_at, 3)
                while True:
                    request = await self._next_request()
                    if request is _STOP:
                        stopping = True
                        await asyncio.gather(*rendering)  # the requests sent before the stop are served
                        break
                    jobs, done = request
                    if done.set_running_or_notify_cancel():
                        task = asyncio.create_task(self._render(session, jobs, done, tabs))
                        rendering.add(task)
                        task.add_done_callback(rendering.discard)
        except BaseException as exc:
            if stopping:  # closing the browser failed: nothing is waiting any more
                log.warning("closing Chromium failed: %s", _as_error(exc))
            else:  # Chromium did not start, or died: every request, now or later, gets the reason
                self.error = _as_error(exc)
                await self._fail_all(self.error)
        finally:
            self._wakeup = None

    async def _render(
        self, session: Any, jobs: list[dict[str, Any]], done: Future[None], tabs: asyncio.Semaphore
    ) -> None:
        """One request, once a tab is free; its outcome goes to `done`, never out of this task."""
        try:
            async with tabs:
                began = time.perf_counter()
                errors = await session.write_fig_from_object(jobs)
            names = "+".join(Path(job["path"]).stem for job in jobs)
            self.render_seconds[names] = round(time.perf_counter() - began, 3)
            self.rendered += len(jobs)
        except BaseException as exc:  # kaleido's failures (also its CancelledError) go to the caller
            done.set_exception(_as_error(exc))
        else:
            if errors:
                done.set_exception(RuntimeError("; ".join(f"{type(e).__name__}: {e}" for e in errors)))
            else:
                done.set_result(None)

    async def _fail_all(self, error: Exception) -> None:
        while (request := await self._next_request()) is not _STOP:
            _, done = request
            if done.set_running_or_notify_cancel():
                done.set_exception(error)


async def _open_within(session: Any) -> None:
    try:
        await asyncio.wait_for(session.open(), OPEN_TIMEOUT_SECONDS)
    except TimeoutError:
        raise RuntimeError(f"Chromium did not start within {OPEN_TIMEOUT_SECONDS} s") from None


def _as_error(exc: BaseException) -> Exception:
    """An Exception for the waiting thread: asyncio's CancelledError is a BaseException, which would read as an
    interrupt of the run there."""
    return exc if isinstance(exc, Exception) else RuntimeError(f"{type(exc).__name__}: {exc}")


def _wait_limit(images: int) -> float:
    """Longest wait for a request: Chromium's start plus kaleido's per-image timeout for each image."""
    return PNG_TIMEOUT_SECONDS * (images + 1)


# ----------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------


def _skipped(folder: Path, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, KeyboardInterrupt | SystemExit) or not isinstance(exc, Exception):
        raise exc  # interrupts (and the CLI's own Interrupted) are not export failures
    shutil.rmtree(folder, ignore_errors=True)
    message = " ".join(f"{type(exc).__name__}: {exc}".split())
    log.warning("PNG export skipped: %s", message)
    return {"png": f"skipped: export failed ({message[:300]})", "files": []}


class ImageExport:
    """Writing `<folder>/<name>.png` for figures as they are built; all or nothing.

    `add()` copies an identical image from the PNG cache (`use_cache`) or sends the figure to Chromium (to
    `session`, or to one started here on the first figure that needs it) and returns at once, so images render
    while the caller builds the next figures and the page. `done_adding()` lets the session close once its
    renders are done; `result()` waits and gives the status, never raising (except on interrupts); `abandon()`
    stops a session started here without waiting (for an error or interrupt in the caller meanwhile).
    """

    def __init__(
        self,
        folder: Path,
        use_cache: bool = True,
        session: ImageSession | None = None,
        inputs_key: str | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.use_cache = use_cache
        self.inputs_key = inputs_key
        self._session = session
        self._own_session: ImageSession | None = None
        self._names: list[str] = []
        self._keys: dict[str, str] = {}
        self._reused: list[str] = []
        self._rendering: dict[str, Future[None]] = {}
        self._status: dict[str, Any] | None = None
        reason = png_unavailable_reason()
        if reason is not None:
            self._status = {"png": f"skipped: {reason}", "files": []}

    def add(self, name: str, figure: go.Figure) -> None:
        if self._status is not None:  # unavailable, or already failed: the export is skipped
            return
        self._names.append(name)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.use_cache:
                self._keys[name] = png_key(figure)
                cached = _cached_png(self._keys[name])
                if cached is not None:
                    shutil.copyfile(cached, self.folder / f"{name}.png")
                    self._reused.append(name)
                    return
            if self._session is None:
                chromium = find_chromium()
                assert chromium is not None  # png_unavailable_reason checked it
                cache = browser_cache_dir() if self.use_cache else None
                self._session = self._own_session = ImageSession(chromium, cache)
            self._rendering[name] = self._session.submit({name: figure}, self.folder)
        except BaseException as exc:
            self.abandon()
            self._status = _skipped(self.folder, exc)

    def done_adding(self, close_session: bool = False) -> None:
        """No more figures: a session started here closes Chromium once its renders are done (so the close
        overlaps the caller's remaining work); with `close_session`, so does the caller's session (`stop()` then
        only waits)."""
        session = self._session if close_session else self._own_session
        if session is not None and session.started:
            session.stop_soon()

    def result(self) -> dict[str, Any]:
        if self._status is not None:
            return self._status
        try:
            waiting_since = time.monotonic()
            deadline = waiting_since + _wait_limit(len(self._rendering))
            for future in self._rendering.values():
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            waited = round(time.monotonic() - waiting_since, 3)
            missing = [n for n in self._names if not (self.folder / f"{n}.png").is_file()]
            if missing:
                raise RuntimeError(f"no image written for {', '.join(missing)}")
            if self.use_cache:
                for name in self._rendering:
                    _atomic_copy(self.folder / f"{name}.png", png_cache_dir() / f"{self._keys[name]}.png")
                if self.inputs_key:
                    record = json.dumps(sorted(self._keys.values()))
                    _atomic_copy(None, _run_record(self.inputs_key), text=record)
        except BaseException as exc:
            self._status = _skipped(self.folder, exc)
        else:
            files = [f"{FIGURES_DIR}/{n}.png" for n in self._names]
            self._status = {"png": "written", "files": files, "png_reused": list(self._reused)}
            if self._rendering and self._session is not None:
                self._status["png_seconds"] = {
                    "chromium_open": self._session.open_seconds,
                    "render": {n: self._session.render_seconds.get(n) for n in self._rendering},
                    "waited_after_page": waited,
                }
        finally:
            self.abandon()
        return self._status

    def abandon(self) -> None:
        if self._own_session is not None:
            self._own_session.stop()


def export_pngs(
    figures: Mapping[str, go.Figure],
    folder: Path,
    use_cache: bool = True,
    session: ImageSession | None = None,
    inputs_key: str | None = None,
) -> dict[str, Any]:
    """Write every figure's PNG and wait: the status, as `ImageExport.result` gives it. A session given stays open
    for more work."""
    export = ImageExport(folder, use_cache=use_cache, session=session, inputs_key=inputs_key)
    for name, figure in figures.items():
        export.add(name, figure)
    export.done_adding()
    return export.result()
