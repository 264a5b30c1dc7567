"""Hashes and version records (forecast.hashing): stable under reordering, a copy per call, nutpie recorded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from forecast import hashing


def test_canonical_json_ignores_key_order_and_whitespace() -> None:
    a = hashing.canonical_json({"b": [1, 2], "a": {"y": 1, "x": 2}})
    b = hashing.canonical_json({"a": {"x": 2, "y": 1}, "b": [1, 2]})
    assert a == b == '{"a":{"x":2,"y":1},"b":[1,2]}'
    assert hashing.sha256_text(a) == hashing.sha256_bytes(a.encode())


def test_fingerprint_depends_on_names_and_hashes_not_order() -> None:
    base = hashing.fingerprint({"a.csv": "1", "b.csv": "2"})
    assert hashing.fingerprint({"b.csv": "2", "a.csv": "1"}) == base
    assert hashing.fingerprint({"a.csv": "1", "b.csv": "3"}) != base
    assert hashing.fingerprint({"a.csv": "1", "c.csv": "2"}) != base


def test_package_versions_are_a_fresh_copy_with_the_sampler_packages() -> None:
    first = hashing.package_versions()
    first["pymc"] = "edited"
    second = hashing.package_versions()
    assert second["pymc"] != "edited"
    assert set(hashing.RECORDED_PACKAGES) <= set(second) and {"python", "forecast"} <= set(second)
    assert second["nutpie"] != "not installed"  # the default sampler is a dependency


def _fit_key_source_hash(package_parent: Path) -> str:
    """`source_hash("forecast.model")` as computed by the package copy under `package_parent`."""
    code = "from forecast.hashing import source_hash; print(source_hash('forecast.model'))"
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=package_parent
    )
    return done.stdout.strip()


def test_editing_the_model_or_what_it_imports_changes_the_fit_key(tmp_path: Path) -> None:
    """The posterior key follows the source of forecast.model and every package module it imports, derived from
    the imports: an edit to a model file, or to a module the model imports (units), changes it; an edit to a
    module the model does not import (the report) does not."""
    copy = tmp_path / "forecast"
    shutil.copytree(hashing.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    original = _fit_key_source_hash(tmp_path)
    assert original == hashing.source_hash("forecast.model")  # the copy is the installed code
    for edited, changes in (("report/page.py", False), ("model/frontier.py", True), ("units.py", True)):
        path = copy / edited
        path.write_text(path.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
        after = _fit_key_source_hash(tmp_path)
        assert (after != original) is changes, edited
        original = after
