"""The parts scenarios share: grid points, content digests, the bounded cache and parts keyed by what they read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from forecast.projection.memo import (
    GRID_STEP_YEARS,
    GridPoints,
    ProjectionCache,
    content_digest,
    read_only,
    reads_digest,
)


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


# Parts keyed by what their build read: the settings' model_dump and the input arrays, recorded, never listed.


class _Growth(BaseModel):
    rate: float = 0.1


class _Scenario(BaseModel):
    name: str = "a"
    model: str = "prior"
    growth: _Growth = _Growth()
    horizon: int = 2050


def _build(log: list[str]):
    def build(settings: Any, inputs: Any, scale: float) -> np.ndarray:
        """Reads `model`, then `growth` or one input, depending on `model`."""
        log.append(settings.model)
        if settings.model == "prior":
            return read_only(np.full(2, settings.growth.rate * scale))
        return read_only(inputs["users"] * scale + inputs.get("drift", 0.0))

    return build


def test_part_is_keyed_by_the_settings_and_inputs_it_read() -> None:
    cache, log = ProjectionCache(), []
    inputs = {"users": np.arange(2.0), "unread": np.zeros(2)}
    first, key = cache.part("stock", _Scenario(), inputs, _build(log), 2.0)
    # Settings and inputs the build did not read do not matter: name, horizon, an input it never looks at.
    again, same = cache.part(
        "stock", _Scenario(name="b", horizon=2100), inputs | {"unread": np.ones(2)}, _build(log), 2.0
    )
    assert again is first and same == key and log == ["prior"]
    # A setting inside a sub-model it read, and an argument, are in the key.
    cache.part("stock", _Scenario(growth=_Growth(rate=0.2)), inputs, _build(log), 2.0)
    cache.part("stock", _Scenario(), inputs, _build(log), 3.0)
    assert log == ["prior"] * 3


def test_part_tries_every_set_of_reads_and_sees_absent_inputs() -> None:
    cache, log = ProjectionCache(), []
    users = _Scenario(model="users")
    inputs = {"users": np.arange(2.0)}
    cache.part("stock", _Scenario(), inputs, _build(log), 1.0)
    value, _ = cache.part("stock", users, inputs, _build(log), 1.0)  # other reads: built
    np.testing.assert_array_equal(value, [0.0, 1.0])
    cache.part("stock", users, {"users": np.arange(2.0)}, _build(log), 1.0)  # equal bytes: found
    cache.part("stock", _Scenario(), inputs, _build(log), 1.0)  # the first reads, still found
    assert log == ["prior", "users"]
    drifting, _ = cache.part("stock", users, inputs | {"drift": np.ones(2)}, _build(log), 1.0)  # was absent
    np.testing.assert_array_equal(drifting, [1.0, 2.0])
    changed = cache.part("stock", users, {"users": np.arange(2.0) + 1e-12}, _build(log), 1.0)[0]
    assert log == ["prior", "users", "users", "users"] and changed[0] == 1e-12


def test_reads_digest_uses_model_dump_of_each_setting_read() -> None:
    reads = (("growth",), ())
    base = reads_digest("stock", reads, _Scenario(), {}, ())
    assert reads_digest("stock", reads, _Scenario(model="users"), {}, ()) == base
    assert reads_digest("stock", reads, _Scenario(growth=_Growth(rate=0.3)), {}, ()) != base
    assert reads_digest("demand", reads, _Scenario(), {}, ()) != base
    with pytest.raises(TypeError):  # an object whose repr could hide its arrays cannot be part of a key
        reads_digest("stock", reads, _Scenario(), {}, (GridPoints.of(np.arange(3.0)),))
