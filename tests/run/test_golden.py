"""The projection stage reproduces the golden outputs byte for byte from the pinned posteriors.

The golden files were written before the package was restructured (`tests/golden/regenerate.py`); a change
that moves any number must regenerate them and say why in its commit."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_spec = importlib.util.spec_from_file_location("golden_regenerate", GOLDEN / "regenerate.py")
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
sys.modules["golden_regenerate"] = golden
_spec.loader.exec_module(golden)


@pytest.mark.parametrize("preset", golden.PRESETS)
def test_projections_reproduce_the_golden_outputs(preset: str) -> None:
    tables = golden.golden_tables(preset, golden.pinned_posterior(preset))
    hashes = json.loads((GOLDEN / preset / golden.HASHES_FILE).read_text(encoding="utf-8"))
    prints = json.loads((GOLDEN / preset / golden.FINGERPRINTS_FILE).read_text(encoding="utf-8"))
    for name, text in tables.items():
        if name in golden.HASHED:
            same = golden.sha256_of(text) == hashes[name] or golden.same_fingerprints(
                golden.fingerprint(text), prints[name]
            )
        else:
            old = (GOLDEN / preset / name).read_text(encoding="utf-8")
            same = text == old or golden.same_numbers(text, old)
        assert same, f"{preset}/{name} differs from the golden output beyond rtol {golden.RTOL}"


def test_the_comparison_can_fail() -> None:
    """A change in the 7th significant digit of one number fails both comparisons."""
    text = "scenario,a\nx,2028.123456789\ny,2030.5\n"
    moved = text.replace("2028.123456789", "2028.123789")
    assert golden.same_numbers(text, text) and not golden.same_numbers(moved, text)
    assert not golden.same_fingerprints(golden.fingerprint(moved), golden.fingerprint(text))
    rounded = text.replace("2028.123456789", "2028.1234567890000002")  # float reordering scale
    assert golden.same_numbers(rounded, text)
