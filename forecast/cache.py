"""Posterior cache: a fit is reused when everything it depends on hashes to the same key.

Location: `$FORECAST_CACHE_DIR` if set, else `$XDG_CACHE_HOME/forecast/posteriors`, else
`~/.cache/forecast/posteriors`. One netCDF file per fit key; the key is also stored inside the file and checked
on load, so a renamed, truncated or foreign file is ignored (with a note), never trusted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # xarray is imported where a posterior is read: `cache_dir()` serves light callers too
    import xarray as xr

CACHE_ENV = "FORECAST_CACHE_DIR"
KEY_ATTR = "fit_hash"


def cache_dir() -> Path:
    """Where cached posteriors live (see module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "forecast" / "posteriors"


def path_for(key: str) -> Path:
    return cache_dir() / f"{key}.nc"


def load(key: str, note: Callable[[str], None] | None = None) -> xr.DataTree | None:
    """The cached posterior for `key`, or None if absent, unreadable or not for this key."""
    path = path_for(key)
    if not path.exists():
        return None
    import xarray as xr  # reads ArviZ's DataTree layout directly; importing ArviZ would cost seconds per run

    try:
        with xr.open_datatree(path, engine="netcdf4") as tree:
            idata = tree.load()
        if idata.attrs.get(KEY_ATTR) != key or "posterior" not in idata.children:
            raise ValueError("key mismatch")
    except Exception as error:
        if note:
            note(f"ignoring cache entry {path.name}: {type(error).__name__}")
        return None
    return idata


def store(key: str, idata: xr.DataTree) -> None:
    """Write the posterior under `key` atomically (a crash leaves no half-written entry)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tree = idata.copy()
    tree.attrs[KEY_ATTR] = key
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".nc", dir=folder)
    os.close(handle)
    try:
        tree.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path_for(key))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
