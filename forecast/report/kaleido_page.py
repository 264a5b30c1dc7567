"""The page kaleido renders figures in, served over loopback HTTP so Chromium can keep plotly.js compiled.

Why: kaleido opens its page from a `file://` URL, and Chromium keeps compiled JavaScript (V8's code cache) only
for scripts fetched over http(s). Every Chromium start then compiles plotly.js (4.8 MB) again: ~1.2 s of the
~2 s a kaleido start takes on a 2-core machine. Served from `http://forecast-kaleido.test/` with a persistent
`--disk-cache-dir`, the second and later starts reuse the compiled code (measured: kaleido open 2.1 s → 0.8 s).

- The host name is reserved (RFC 2606 `.test`) and never resolved: a Chromium host-resolver rule maps it to this
  process's server on a free loopback port, so the URLs, which key the cache, are the same in every run.
- Script URLs carry the plotly and kaleido versions and a stamp of the file: an upgrade or a reinstall fetches
  (and compiles) the new file.
- Only three fixed resources are served, read-only, on 127.0.0.1: the page, plotly.js and kaleido's own script.
- One Chromium uses the cache folder at a time (a lock file; Chromium's disk cache is not safe to share between
  processes). A run that finds it taken, or cannot lock it, starts kaleido the usual way.

The page itself is kaleido's (`kaleido.PageGenerator`), with its documented `footer` pointed at the served copy of
kaleido's script.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import kaleido
from choreographer.browsers import Chromium

PAGE_HOST = "forecast-kaleido.test"
LOCK_NAME = ".lock"
# Scripts are immutable under their versioned URL; the page is small and never cached.
SCRIPT_CACHE_CONTROL = "max-age=31536000, immutable"
PAGE_CACHE_CONTROL = "no-store"
# How often the server thread checks for shutdown (http.server polls; its default 0.5 s would delay every stop)
SHUTDOWN_POLL_SECONDS = 0.05
# How long a connection may stay silent before the server drops it
IDLE_CONNECTION_SECONDS = 10


# The link to kaleido's own script in its page footer (a file URL)
_FOOTER_SCRIPT = re.compile(r'src="(file:[^"]+)"')


def kaleido_script() -> Path:
    """kaleido's own page script, as its default page links it (`kaleido.PageGenerator.footer`)."""
    found = _FOOTER_SCRIPT.search(kaleido.PageGenerator.footer)
    if found is None:
        raise RuntimeError("kaleido's page footer links no local script")
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(found.group(1)).path))


def _versioned_path(stem: str, version: str, file: Path) -> str:
    """The URL path a script is served under: its package version plus a stamp of the file's size and
    modification time, so a reinstalled or edited file gets a new URL (and Chromium fetches and compiles it
    again) instead of the cached copy of the old one."""
    status = file.stat()
    stamp = hashlib.sha256(f"{status.st_size}:{status.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"/{stem}-{version}-{stamp}.js"


class _ServedPage(kaleido.PageGenerator):
    """kaleido's page with its script fetched from the page server instead of a file URL."""

    def __init__(self, plotly_url: str, script_url: str) -> None:
        super().__init__(plotly=plotly_url, mathjax=False)
        self.footer = _FOOTER_SCRIPT.sub(f'src="{script_url}"', kaleido.PageGenerator.footer, count=1)


class PageServer:
    """A loopback HTTP server in a daemon thread with the page, plotly.js and kaleido's script."""

    def __init__(self, plotlyjs: Path, versions: dict[str, str]) -> None:
        base = f"http://{PAGE_HOST}"
        script = kaleido_script()
        plotly_path = _versioned_path("plotly", versions.get("plotly", "unknown"), plotlyjs)
        script_path = _versioned_path("kaleido_scopes", versions.get("kaleido", "unknown"), script)
        page = _ServedPage(base + plotly_path, base + script_path).generate_index()
        self.page_url = f"{base}/index.html"
        self._resources = {
            "/index.html": (page.encode("utf-8"), "text/html; charset=utf-8", PAGE_CACHE_CONTROL),
            plotly_path: (plotlyjs.read_bytes(), "text/javascript; charset=utf-8", SCRIPT_CACHE_CONTROL),
            script_path: (script.read_bytes(), "text/javascript; charset=utf-8", SCRIPT_CACHE_CONTROL),
        }
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # Chromium may open a connection and never send on it (a preconnect): its handler thread must neither keep
        # the process alive nor hold up `close()`, which joins non-daemon handler threads.
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="forecast-page", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        resources = self._resources

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = IDLE_CONNECTION_SECONDS  # a connection that sends nothing is dropped

            def do_GET(self) -> None:
                found = resources.get(self.path)
                if found is None:
                    self.send_error(404)
                    return
                body, content_type, cache_control = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", cache_control)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are not logged

        return Handler

    def start(self) -> PageServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


def browser_class(port: int, disk_cache: Path) -> type[Chromium]:
    """choreographer's Chromium with the page host mapped to `port` and a persistent disk (and code) cache."""
    extra = [
        f"--host-resolver-rules=MAP {PAGE_HOST} 127.0.0.1:{port}",
        f"--proxy-bypass-list={PAGE_HOST}",
        f"--disk-cache-dir={disk_cache}",
    ]

    class CachedChromium(Chromium):
        def get_cli(self) -> list[str]:
            return [*super().get_cli(), *extra]

    return CachedChromium


class ServedKaleido(kaleido.Kaleido):
    """A kaleido session whose tabs open the served page instead of a page file kaleido writes."""

    def __init__(self, page_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._page_url = page_url

    async def open(self) -> None:
        # kaleido's `open` writes its page to a temporary file and records its URL for its tabs (`_index`); here
        # the tabs get the served page, and the browser opens as kaleido's own `open` would open it.
        self._index = self._page_url
        await super(kaleido.Kaleido, self).open()


@contextlib.contextmanager
def cache_lock(folder: Path) -> Iterator[bool]:
    """Hold `<folder>/.lock` for the block; yields False (nothing held) if another process holds it or the folder
    cannot be used."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): no shared cache
        yield False
        return
    handle: IO[bytes] | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK_NAME).open("ab")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        if handle is not None:
            handle.close()
        yield False
        return
    try:
        yield True
    finally:
        handle.close()  # closing releases the lock
