"""Hashes and version records shared by the cache keys, run metadata and the up-to-date check.

Kept free of pandas, xarray and plotly: `forecast run` computes its inputs hash before those are imported, so a
run that is already up to date (or that starts Chromium early for its images) does not wait for them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from forecast import __version__

#: Packages whose versions shape the results (kaleido: the PNG images): recorded in run.json and posterior.nc, and
#: part of the keys.
RECORDED_PACKAGES = (
    "pymc",
    "pytensor",
    "nutpie",
    "numba",
    "arviz",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "plotly",
    "kaleido",
    "pydantic",
)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace variation: the input of every hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(hashes: Mapping[str, str]) -> str:
    """sha256 over the sorted 'name sha256' lines of a set of files."""
    return sha256_text("".join(f"{name} {hashes[name]}\n" for name in sorted(hashes)))


def package_versions() -> dict[str, str]:
    """Versions of Python, forecast and the packages that shape the results (a fresh copy of `_versions()`)."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    """Read once per process: each lookup scans the installed distributions' metadata (~20 ms in all), and a run
    asks three times (fit key, run metadata, up-to-date key)."""
    versions = {"python": platform.python_version(), "forecast": __version__}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions
