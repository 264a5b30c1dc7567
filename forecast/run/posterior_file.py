"""Reading a saved `posterior.nc` back, refusing any file this version would misread.

`forecast run` writes `posterior.nc` (`forecast.run.outputs.write_posterior`): the fitted posterior, the exhaustion
draws (group `exhaustion`) and yearly bands (group `bands`), with the run's metadata as attributes of the root.
`load_posterior` checks, in this order, before handing the tree out:

1. the file exists and is a readable netCDF4/HDF5 file;
2. `posterior_format_version` equals `forecast.run.outputs.POSTERIOR_FORMAT_VERSION` (the layout of the file);
3. the forecast version that wrote it has this version's major.minor (`forecast_version`, or the `forecast`
   entry of `versions_json` in files written before that attribute existed);
4. the groups and variables the results are computed from are present, with the expected dimensions;
5. when a config is given, its `forecast.config.config_hash` equals the file's `config_hash` attribute.

Every refusal is one `PosteriorFileError` line naming the file, the attribute or group, and expected vs found.
`summary_from_posterior` recomputes `summary.csv` from the `exhaustion` group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from forecast import __version__
from forecast.config import Config, config_hash, one_line
from forecast.errors import PosteriorFileError
from forecast.run.outputs import POSTERIOR_FORMAT_VERSION

if TYPE_CHECKING:
    import pandas as pd

FORMAT_ATTR = "posterior_format_version"
VERSION_ATTR = "forecast_version"
CONFIG_HASH_ATTR = "config_hash"
#: Groups a usable file must have, and the variables (scenario × chain × draw) the summary is computed from.
REQUIRED_GROUPS = ("posterior", "exhaustion")
EXHAUSTION_VARIABLES = ("exhaustion_year", "tokens_at_crossing", "compute_at_crossing")
EXHAUSTION_DIMS = ("scenario", "chain", "draw")
_SHORT_HASH = 12
_WRITTEN_BY = "expected a posterior.nc written by `forecast run`"


def major_minor(version: str) -> str:
    """'0.1.3' -> '0.1' (versions that share it write and read the same results)."""
    return ".".join(str(version).split(".")[:2])


def _refuse(path: Path, what: str) -> PosteriorFileError:
    return PosteriorFileError(one_line(f"{path}: {what}"))


def _read(path: Path) -> xr.DataTree:
    """The whole file in memory (the file handle is closed before returning)."""
    if not path.is_file():
        raise _refuse(path, f"file not found; {_WRITTEN_BY}")
    try:
        tree = xr.open_datatree(path, engine="netcdf4")
        try:
            tree.load()
        finally:
            tree.close()
    except Exception as exc:
        raise _refuse(
            path, f"not a readable netCDF posterior ({type(exc).__name__}: {one_line(str(exc))[:160]}); {_WRITTEN_BY}"
        ) from None
    return tree


def _written_by(tree: xr.DataTree, path: Path) -> str | None:
    """The forecast version recorded in the file, or None when it records none."""
    if VERSION_ATTR in tree.attrs:
        return str(tree.attrs[VERSION_ATTR])
    raw = tree.attrs.get("versions_json")
    if raw is None:
        return None
    try:
        versions = json.loads(str(raw))
    except json.JSONDecodeError:
        raise _refuse(path, "attribute 'versions_json': expected JSON, found unreadable text") from None
    found = versions.get("forecast") if isinstance(versions, dict) else None
    return None if found is None else str(found)


def _check_format(tree: xr.DataTree, path: Path) -> None:
    expected = str(POSTERIOR_FORMAT_VERSION)
    found = tree.attrs.get(FORMAT_ATTR)
    if found is None:
        raise _refuse(path, f"attribute '{FORMAT_ATTR}': expected '{expected}', found none; {_WRITTEN_BY}")
    if str(found) != expected:
        raise _refuse(
            path,
            f"attribute '{FORMAT_ATTR}': expected '{expected}', found '{found}' (a layout this version of forecast "
            "cannot read; rerun `forecast run`)",
        )


def _check_version(tree: xr.DataTree, path: Path) -> None:
    found = _written_by(tree, path)
    expected = major_minor(__version__)
    if found is None:
        raise _refuse(path, f"attribute '{VERSION_ATTR}': expected forecast {expected}.x, found none; {_WRITTEN_BY}")
    if major_minor(found) != expected:
        raise _refuse(
            path,
            f"attribute '{VERSION_ATTR}': expected forecast {expected}.x, found {found} (written by an "
            "incompatible version; rerun `forecast run` with this one)",
        )


def _check_groups(tree: xr.DataTree, path: Path) -> None:
    for group in REQUIRED_GROUPS:
        if group not in tree.children:
            found = ", ".join(tree.children) or "none"
            raise _refuse(
                path, f"group '{group}': missing; expected groups {', '.join(REQUIRED_GROUPS)}, found {found}"
            )
    exhaustion = tree["exhaustion"].to_dataset()
    for name in EXHAUSTION_VARIABLES:
        if name not in exhaustion:
            raise _refuse(path, f"group 'exhaustion': variable '{name}' missing; {_WRITTEN_BY}")
        dims = tuple(exhaustion[name].dims)
        if dims != EXHAUSTION_DIMS:
            raise _refuse(
                path,
                f"group 'exhaustion': variable '{name}' has dimensions ({', '.join(dims)}), "
                f"expected ({', '.join(EXHAUSTION_DIMS)})",
            )


def _check_config(tree: xr.DataTree, path: Path, config: Config) -> None:
    expected = config_hash(config)
    found = tree.attrs.get(CONFIG_HASH_ATTR)
    if found is None:
        raise _refuse(path, f"attribute '{CONFIG_HASH_ATTR}': expected {expected[:_SHORT_HASH]}, found none")
    if str(found) != expected:
        raise _refuse(
            path,
            f"attribute '{CONFIG_HASH_ATTR}': expected {expected[:_SHORT_HASH]} (the given config), found "
            f"{str(found)[:_SHORT_HASH]}: the file was written with a different config (or seed)",
        )


def load_posterior(path: Path | str, config: Config | None = None) -> xr.DataTree:
    """The saved posterior at `path`, after the checks in the module docstring; `PosteriorFileError` otherwise."""
    path = Path(path)
    tree = _read(path)
    _check_format(tree, path)
    _check_version(tree, path)
    _check_groups(tree, path)
    if config is not None:
        _check_config(tree, path, config)
    return tree


def summary_from_posterior(tree: xr.DataTree) -> pd.DataFrame:
    """`summary.csv`'s table, recomputed from the file's exhaustion draws."""
    from forecast.projection.tables import summary_table  # reads xarray and pandas; only when needed

    return summary_table(tree["exhaustion"].to_dataset())
