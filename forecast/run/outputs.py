"""Writing run outputs: atomically, with the seed, hashes and package versions that make them reproducible.

The files are written into a staging folder (`forecast.run.folders.staged_output`) that replaces the output
folder whole when the run has succeeded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from forecast import __version__

# The report page: not every run writes it (`pipeline.run_pipeline(write_report=False)`).
REPORT_FILE = "report.html"
# Version of the layout of posterior.nc; a file with another value is refused when loaded back.
POSTERIOR_FORMAT_VERSION = 1


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
