"""PNG copies of the report's figures (`figures/*.png`), rendered by kaleido in a headless Chromium.

Best effort: any problem is reported in the returned status and never fails a run. Through kaleido's public API
only:

- **One batch per export.** `export_pngs` sends the figures that need rendering to kaleido in one call
  (`kaleido.write_fig_from_object_sync`), which starts Chromium, renders them and closes it before returning, so no
  browser outlives the export (an interrupt meanwhile waits for kaleido to close it).
- **A PNG cache.** Each image is keyed by its figure's JSON, size and the plotly and kaleido versions
  (`png_key`); an identical figure is copied from `<cache>/png` instead of rendered again, so a run only renders
  its new or changed figures, and none when nothing changed (then Chromium does not start at all).
- **One Chromium for a watch.** `forecast watch` keeps kaleido's sync server open across its runs (`PngServer`:
  `kaleido.start_sync_server` / `stop_sync_server`); while it runs, every export renders there instead.

Nothing is fetched from the network: plotly.js comes from the plotly package and MathJax is off (the figures use
no LaTeX). The Chromium is the one `find_chromium` finds, handed to kaleido as its documented `path` option.

The status records what the export rendered and copied (`png_rendered`, `png_reused`) and, when it rendered
anything, where its time went (`png_seconds`); run.json keeps it and `benchmarks/bench.py` prints it.

Import cost is kept small (no plotly.graph_objects, no kaleido until an export renders): `forecast run` asks
`png_unavailable_reason` for its up-to-date check before the heavy imports.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.hashing import package_versions, sha256_text

if TYPE_CHECKING:
    import plotly.graph_objects as go

log = logging.getLogger(__name__)

FIGURES_DIR = "figures"
# Chromium executables tried, in order, when BROWSER_PATH is not set (Debian ships `chromium`).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_WIDTH, PNG_SCALE = 1200, 2
PNG_DEFAULT_HEIGHT = 600  # plotly's own default, for a figure whose layout gives none
PNG_TIMEOUT_SECONDS = 60  # per image (kaleido's own timeout)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# How long an export through a `PngServer` may wait for Chromium to open, on top of kaleido's per-image timeout:
# a server whose Chromium never opened would otherwise leave its caller waiting for ever.
OPEN_TIMEOUT_SECONDS = 20
# How long stopping a `PngServer` may wait for Chromium to finish its renders and close (then it is left to exit
# with the process).
STOP_TIMEOUT_SECONDS = 20


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


def kaleido_options(tabs: int = 1) -> dict[str, Any]:
    """kaleido's options (`kaleido.Kaleido`'s arguments): our Chromium, the local plotly.js, no MathJax, `tabs`
    renderers."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found for kaleido")
    return {
        "path": chromium,
        "plotlyjs": str(local_plotlyjs()),
        "mathjax": False,
        "timeout": PNG_TIMEOUT_SECONDS,
        "n": tabs,
    }


# ----------------------------------------------------------------------------------------------------
# PNG cache
# ----------------------------------------------------------------------------------------------------


def png_cache_dir() -> Path:
    """Rendered PNGs by content key: the cache's `png` folder (`forecast.cache.cache_folder`)."""
    from forecast.cache import cache_folder

    return cache_folder("png")


def _height(figure: go.Figure) -> int:
    return figure.layout.height or PNG_DEFAULT_HEIGHT


def png_key(figure: go.Figure) -> str:
    """Hash of everything an exported image depends on: the figure's JSON, the export size and the versions of
    plotly and kaleido. Equal keys give the same picture, so it is copied instead of rendered again."""
    versions = package_versions()  # read once per process
    parts = [
        figure.to_json(validate=False),
        f"{PNG_WIDTH}x{_height(figure)}@{PNG_SCALE}",
        f"plotly {versions['plotly']}",
        f"kaleido {versions['kaleido']}",
    ]
    return sha256_text("\n".join(parts))


def _cached_png(key: str) -> Path | None:
    """The cached image for `key` if it is there and starts like a PNG (a truncated file is not trusted)."""
    path = png_cache_dir() / f"{key}.png"
    try:
        with path.open("rb") as handle:
            return path if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE else None
    except OSError:
        return None


def _store(source: Path, key: str) -> None:
    """Copy a rendered image into the cache through a temporary file (a reader never sees half an image); a cache
    that cannot be written is skipped."""
    target = png_cache_dir() / f"{key}.png"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=target.parent)
        os.close(handle)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        log.info("PNG cache not written: %s", exc)


# ----------------------------------------------------------------------------------------------------
# A Chromium kept open (forecast watch)
# ----------------------------------------------------------------------------------------------------


class PngServer:
    """One Chromium kept open for many exports, through kaleido's sync server (one per process, so this is too).

    `start()` returns at once while Chromium opens in kaleido's thread; until `stop()`, `export_pngs` renders in it.
    `forecast watch` checks `worn_out()` after each run and starts a fresh one when it says so."""

    running: PngServer | None = None  # the started server of this process

    def __init__(self, tabs: int = 1) -> None:
        self.tabs = tabs
        self.rendered = 0  # images rendered since the start (Chromium's renderers grow with them)
        self.error: str | None = None  # why an export in it failed since the start (it may have died)

    def start(self) -> PngServer:
        import kaleido

        if PngServer.running is not None:
            raise RuntimeError("a PngServer is running already (kaleido keeps one per process)")
        kaleido.start_sync_server(**kaleido_options(self.tabs), silence_warnings=True)
        self.rendered, self.error = 0, None
        PngServer.running = self
        return self

    def stop(self) -> None:
        """Close Chromium once its current render is done; waits at most STOP_TIMEOUT_SECONDS."""
        if PngServer.running is not self:
            return
        PngServer.running = None
        import kaleido

        try:
            _within(lambda: kaleido.stop_sync_server(silence_warnings=True), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("Chromium did not close within %s s; it ends with this process", STOP_TIMEOUT_SECONDS)

    def worn_out(self, images_per_start: int) -> bool:
        """True when an export failed in it (Chromium may have died) or it has rendered `images_per_start` images."""
        return self.error is not None or self.rendered >= images_per_start


def _within[T](call: Callable[[], T], seconds: float) -> T:
    """`call()` in a daemon thread, waited for at most `seconds` (TimeoutError): a call into a server that died
    would never return, and a daemon thread left waiting does not keep the process from exiting."""
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(call())
        except BaseException as exc:  # handed to the waiting thread
            done.set_exception(exc)

    threading.Thread(target=run, name="forecast-png", daemon=True).start()
    return done.result(timeout=seconds)


# ----------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------


def _render(figures: Mapping[str, go.Figure], folder: Path) -> None:
    """Write `<folder>/<name>.png` for every figure in one kaleido call: in the running `PngServer`, else in a
    Chromium started and closed for this call."""
    import kaleido

    jobs = [
        {
            "fig": figure.to_dict(),
            "path": folder / f"{name}.png",
            "opts": {"format": "png", "width": PNG_WIDTH, "height": _height(figure), "scale": PNG_SCALE},
        }
        for name, figure in figures.items()
    ]
    server = PngServer.running
    if server is None:
        errors = kaleido.write_fig_from_object_sync(jobs, kopts=kaleido_options())
    else:
        limit = OPEN_TIMEOUT_SECONDS + PNG_TIMEOUT_SECONDS * len(jobs)
        try:
            errors = _within(lambda: kaleido.write_fig_from_object_sync(jobs), limit)
        except BaseException as exc:
            server.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise
        server.rendered += len(jobs)
    if errors:
        raise RuntimeError("; ".join(f"{type(e).__name__}: {e}" for e in errors))


def _skipped(folder: Path, exc: Exception) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    message = " ".join((f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__).split())
    log.warning("PNG export skipped: %s", message)
    return {"png": f"skipped: export failed ({message[:300]})", "files": []}


def export_pngs(figures: Mapping[str, go.Figure], folder: Path, use_cache: bool = True) -> dict[str, Any]:
    """Write `<folder>/<name>.png` for every figure, all or nothing; return the status, never raising (except on
    interrupts): {"png": "written" | "skipped: <reason>", "files": [...], "png_reused": [...], "png_rendered":
    [...], "png_seconds": {...} (when something was rendered)}. Identical images are copied from the PNG cache
    (`use_cache=False` renders every image and leaves the cache alone)."""
    reason = png_unavailable_reason()
    if reason is not None:
        return {"png": f"skipped: {reason}", "files": []}
    folder = Path(folder)
    server = PngServer.running
    was_open = server is not None and server.rendered > 0  # this Chromium has rendered before: it is open
    keys: dict[str, str] = {}
    reused: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        to_render: dict[str, go.Figure] = {}
        for name, figure in figures.items():
            cached = None
            if use_cache:
                keys[name] = png_key(figure)
                cached = _cached_png(keys[name])
            if cached is not None:
                shutil.copyfile(cached, folder / f"{name}.png")
                reused.append(name)
            else:
                to_render[name] = figure
        began = time.perf_counter()
        if to_render:
            _render(to_render, folder)
        seconds = round(time.perf_counter() - began, 3)
        missing = [name for name in figures if not (folder / f"{name}.png").is_file()]
        if missing:
            raise RuntimeError(f"no image written for {', '.join(missing)}")
    except Exception as exc:
        return _skipped(folder, exc)
    except BaseException:  # an interrupt: no half-written folder stays behind
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if use_cache:
        for name in to_render:
            _store(folder / f"{name}.png", keys[name])
    status: dict[str, Any] = {
        "png": "written",
        "files": [f"{FIGURES_DIR}/{name}.png" for name in figures],
        "png_reused": reused,
        "png_rendered": list(to_render),
    }
    if to_render:
        # One call renders the batch: its time includes Chromium's start unless a watch's Chromium was open.
        status["png_seconds"] = {
            "chromium_open": 0.0 if was_open else None,
            "render": {"+".join(to_render): seconds},
            "waited_after_page": seconds,
        }
    return status
