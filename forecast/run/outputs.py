"""Writing run outputs: atomically, with the seed, hashes and package versions that make them reproducible.

Everything is written into a staging folder beside the output folder and moved into place only when the run
has succeeded, so a failed or interrupted run leaves the previous outputs intact and no temporary files behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import xarray as xr

from forecast import __version__

# Staging folders are made beside the output folder (same file system, so the final moves are renames).
STAGING_PREFIX = ".forecast-staging-"
# The report page: not every run writes it (`pipeline.run_pipeline(write_report=False)`).
REPORT_FILE = "report.html"
# Version of the layout of posterior.nc; a file with another value is refused when loaded back.
POSTERIOR_FORMAT_VERSION = 1
# Signals held back while the staged outputs are moved into place, so an interrupt cannot leave a mix of old
# and new files; they are delivered right after.
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for the duration of the block, then deliver them to the previous handlers.

    Python-level handlers (not a signal mask): Python runs them in the main thread whichever thread the operating
    system delivers the signal to, so this works while other threads (BLAS, sampler pipes) are alive.
    """
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)  # the restored handler runs now (raises, or ends the process)


@contextmanager
def staged_output(out_dir: Path, replaces: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a staging folder; on success move its contents into `out_dir`, on any exit remove it.

    `replaces` names earlier outputs that this run may leave out (its images after --no-png): a copy left in
    `out_dir` from an earlier run is removed, so the folder never pairs a report with another run's files.
    An interrupt (SIGINT, SIGTERM) while the files are moved is delivered only after the last one is in place.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir.parent))
    try:
        yield staging
        left_out = [name for name in replaces if not (staging / name).exists()]
        with _signals_deferred():
            out_dir.mkdir(parents=True, exist_ok=True)
            for item in sorted(staging.iterdir()):
                target = out_dir / item.name
                if item.is_dir() or target.is_dir():  # a file replaces a file atomically; folders cannot
                    _remove(target)
                os.replace(item, target)
            for name in left_out:
                _remove(out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove(path: Path) -> None:
    """Remove an earlier output, file or folder (a symlink itself, never what it points to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_summary(path: Path, summary: pd.DataFrame) -> None:
    """summary.csv: fixed column order, fixed float format, so identical runs give identical bytes."""
    summary.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")


def write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_posterior(
    path: Path,
    idata: xr.DataTree,
    exhaustion: xr.Dataset,
    bands: xr.Dataset,
    attrs: dict[str, str],
) -> None:
    """posterior.nc: the fitted posterior plus exhaustion draws and bands, with run metadata as attributes."""
    tree = idata.copy()
    tree["exhaustion"] = xr.DataTree(exhaustion)
    tree["bands"] = xr.DataTree(bands)
    tree.attrs.update(
        {**attrs, "posterior_format_version": str(POSTERIOR_FORMAT_VERSION), "forecast_version": __version__}
    )
    tree.to_netcdf(path, engine="netcdf4")
