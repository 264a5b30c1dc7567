"""The one cache root, its named sub-folders, and the posterior cache (a fit is reused when everything it depends
on hashes to the same key).

Root: `$FORECAST_CACHE_DIR` if set, else `$XDG_CACHE_HOME/forecast`, else `~/.cache/forecast`. Each user of the
cache asks for its sub-folder by name (`cache_folder`). Posteriors: one netCDF file per fit key; the key is also
stored inside the file and checked on load, so a renamed, truncated or foreign file is ignored (with a note),
never trusted. A cache that cannot be written is not a failure: the entry is skipped with a note.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from forecast.hashing import canonical_json, package_versions, sha256_text, source_hash

if TYPE_CHECKING:  # xarray is imported where a posterior is read: `cache_folder()` serves light callers too
    import xarray as xr

CACHE_ENV = "FORECAST_CACHE_DIR"
KEY_ATTR = "fit_hash"
#: A posterior is written to `.tmp-<pid>-<random>.nc` and renamed into place; the pid lets a later store remove
#: what a killed writer (SIGKILL, power loss) left behind.
TMP_PREFIX = ".tmp-"


#: The cache's sub-folders, one per kind of entry: fitted posteriors (one per fit key, also the backtest's), PNGs
#: by figure content, compiled report templates, data files whose checks passed, small result tables (rows as
#: JSON, by a key of everything they depend on).
CacheFolder = Literal["posteriors", "png", "jinja", "validated", "tables"]


def cache_root() -> Path:
    """The cache's root folder (see module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "forecast"


def cache_folder(name: CacheFolder) -> Path:
    """The named sub-folder of the cache root (not created here: writers create it when they first write)."""
    return cache_root() / name


def path_for(key: str) -> Path:
    return cache_folder("posteriors") / f"{key}.nc"


def load(key: str, note: Callable[[str], None] | None = None) -> xr.DataTree | None:
    """The cached posterior for `key`, or None if absent, unreadable or not for this key (what killed writers left
    behind is removed first)."""
    path = path_for(key)
    if path.parent.is_dir():
        remove_stale_temporaries(path.parent)
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


def store(key: str, idata: xr.DataTree, note: Callable[[str], None] | None = None) -> None:
    """Write the posterior under `key` atomically (a crash leaves no half-written entry); a cache folder that
    cannot be written means this run goes without the cache, with a note. Two processes storing the same key
    each write their own temporary file and rename it: both succeed and the entry is one complete file."""
    folder = cache_folder("posteriors")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".nc", dir=folder)
    except OSError as error:
        if note:
            note(f"cache folder {folder} cannot be written ({error.strerror or error}); running without the cache")
        return
    os.close(handle)
    remove_stale_temporaries(folder)
    tree = idata.copy()
    tree.attrs[KEY_ATTR] = key
    try:
        tree.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path_for(key))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def rows_key(table: str, module: str, parts: dict[str, Any]) -> str:
    """Cache key of a table's rows: what the caller says it is computed from (`parts`: settings' `model_dump()`,
    data fingerprints, fit keys), plus what every table depends on — the package versions and the source of the
    module that computes it with every `forecast` module it imports (`hashing.source_hash`)."""
    return sha256_text(
        canonical_json({"table": table, **parts, "versions": package_versions(), "source": source_hash(module)})
    )


def load_rows(key: str) -> list[dict[str, Any]] | None:
    """The table rows stored under `key` (`store_rows`), or None if absent, unreadable or not for this key."""
    path = cache_folder("tables") / f"{key}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("rows"), list):
        return None
    return entry["rows"]


def store_rows(key: str, rows: list[dict[str, Any]]) -> None:
    """Keep `rows` (JSON-serialisable values) under `key`, atomically; an unwritable cache is skipped silently
    (the table is only computed again next time)."""
    folder = cache_folder("tables")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".json", dir=folder)
    except OSError:
        return
    remove_stale_temporaries(folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"key": key, "rows": rows}, out)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_stale_temporaries(folder: Path) -> None:
    """Remove temporary files of writers that died before renaming them (their pid is no longer running)."""
    for path in folder.glob(f"{TMP_PREFIX}*"):
        pid = path.name.removeprefix(TMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):  # read-only cache, or another process removed it first
                path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (another user's counts): the owner test of lock and temporary files."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
