"""The parts scenarios share: grid points, content digests and the bounded cache."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.projection.memo import GRID_STEP_YEARS, GridPoints, ProjectionCache, content_digest, read_only


def test_cache_builds_once_per_key() -> None:
    cache, built = ProjectionCache(), []

    def build(value: int):
        return lambda: built.append(value) or np.full(3, value)

    first = cache.get(("a",), build(1))
    again = cache.get(("a",), build(2))
    assert again is first and built == [1]


def test_cache_evicts_least_recently_used_by_entries_and_bytes() -> None:
    cache = ProjectionCache(max_entries=2)
    for key in ("a", "b"):
        cache.get((key,), lambda: np.zeros(1))
    cache.get(("a",), lambda: pytest.fail("'a' was cached"))  # touch a: b is now the oldest
    cache.get(("c",), lambda: np.zeros(1))
    rebuilt = []
    cache.get(("b",), lambda: rebuilt.append("b") or np.zeros(1))
    assert rebuilt == ["b"]

    small = ProjectionCache(max_bytes=1000)
    small.get(("x",), lambda: np.zeros(100))  # 800 bytes
    small.get(("y",), lambda: np.zeros(100))  # 1600 in all: x goes
    rebuilt.clear()
    small.get(("x",), lambda: rebuilt.append("x") or np.zeros(100))
    assert rebuilt == ["x"]
    small.clear()
    small.get(("y",), lambda: rebuilt.append("y") or np.zeros(1))
    assert rebuilt == ["x", "y"]


def test_content_digest_sees_bytes_dtype_and_shape() -> None:
    values = np.arange(6, dtype=float)
    assert content_digest(values, "a") == content_digest(values.copy(), "a")
    assert content_digest(values, "a") != content_digest(values, "b")
    assert content_digest(values) != content_digest(values.reshape(2, 3))
    assert content_digest(values) != content_digest(values.astype(np.float32))
    changed = values.copy()
    changed[-1] += 1e-12
    assert content_digest(values) != content_digest(changed)


def test_grid_points_hold_whole_years_and_both_ends() -> None:
    grid = 2024.0 + GRID_STEP_YEARS * np.arange(12 * 3 + 5)  # 2024-01 .. 2027-05
    points = GridPoints.of(grid)
    np.testing.assert_array_equal(points.band_years, [2024.0, 2025.0, 2026.0, 2027.0])
    assert points.coarse[0] == 0 and points.coarse[-1] == grid.size - 1
    np.testing.assert_allclose(grid[points.coarse[points.band_columns]], points.band_years)


def test_shared_arrays_are_read_only() -> None:
    shared = read_only(np.zeros(3))
    with pytest.raises(ValueError):
        shared[0] = 1.0
