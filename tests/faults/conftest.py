"""Fixtures of the fault tests: a small config, a posterior cache filled with its (synthetic) fit, a process
starter (`faultkit.Cli`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from faultkit import OTHER_SCENARIOS, SMALL_CONFIG, Cli, prefill_cache


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture(scope="session")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("configs") / "small.yml"
    path.write_text(SMALL_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def other_config(small_config: Path) -> Path:
    path = small_config.with_name("other.yml")
    path.write_text(OTHER_SCENARIOS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def filled_cache(tmp_path_factory: pytest.TempPathFactory, small_config: Path) -> Path:
    """A posterior cache holding the small config's fit (shared read-only: copy it before a test writes)."""
    root = tmp_path_factory.mktemp("filled-cache")
    prefill_cache(root, small_config)
    return root


@pytest.fixture
def cache_copy(filled_cache: Path, tmp_path: Path) -> Path:
    """A private copy of `filled_cache` this test may write to."""
    target = tmp_path / "cache"
    shutil.copytree(filled_cache, target)
    return target
