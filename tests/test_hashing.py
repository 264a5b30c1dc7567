"""Hashes and version records (forecast.hashing): stable under reordering, a copy per call, nutpie recorded."""

from __future__ import annotations

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
