"""Hashes and version records shared by the cache keys, run metadata and the up-to-date check.

Kept free of pandas, xarray and plotly: `forecast run` computes its inputs hash before those are imported, so a
run that is already up to date does not wait for them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
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


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(chunks: Iterable[bytes | memoryview]) -> str:
    """sha256 over chunks fed one after another (large arrays are hashed without a joined copy)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


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


PACKAGE_ROOT = Path(__file__).resolve().parent


def _module_file(module: str) -> Path | None:
    """The source file of a `forecast` module or package (None outside the package)."""
    parts = module.split(".")
    if parts[0] != "forecast":
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """`forecast` modules that `path` imports anywhere (inside functions and type-only blocks too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            found.add(root)
            found.update(f"{root}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "forecast" or name.startswith("forecast.")}


@functools.cache
def source_hash(*packages: str) -> str:
    """sha256 over the source of every module of `packages` (recursively) and of every `forecast` module they
    import, directly or not. Derived from the code itself, so no list of modules can go stale; read once a process
    (a process runs the code it loaded)."""
    pending = []
    for name in packages:
        folder = PACKAGE_ROOT.joinpath(*name.split(".")[1:])
        if folder.is_dir():
            pending += [
                ".".join(("forecast", *p.relative_to(PACKAGE_ROOT).with_suffix("").parts)).removesuffix(".__init__")
                for p in folder.rglob("*.py")
            ]
        else:
            pending.append(name)
    files: dict[str, Path] = {}
    while pending:
        module = pending.pop()
        path = _module_file(module)
        if path is None or str(path) in files:
            continue
        files[str(path)] = path
        pending.extend(_imported_modules(path, module))
    return _files_hash([files[key] for key in sorted(files)])


@functools.cache
def package_files_hash(patterns: tuple[str, ...] = ("*.py", "*.j2", "*.yml")) -> str:
    """sha256 over every file of the package matching `patterns`, recursively (code, templates, presets)."""
    paths = sorted({p for pattern in patterns for p in PACKAGE_ROOT.rglob(pattern) if "__pycache__" not in p.parts})
    return _files_hash(paths)


def _files_hash(paths: Iterable[Path]) -> str:
    """sha256 over each file's path inside the package and its bytes, in the order given."""
    return sha256_stream(
        part for path in paths for part in (f"{path.relative_to(PACKAGE_ROOT)}\n".encode(), path.read_bytes())
    )
