"""Shared fixtures: one real fit of the default preset per test session, in a private posterior cache."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A posterior (and PNG) cache private to this session: no test reads or writes the user's cache."""
    path = tmp_path_factory.mktemp("posterior-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("FORECAST_CACHE_DIR", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def default_run(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default preset run end to end with its full sampler settings (the acceptance fit, ~30-60 s); without
    its vintages, which would refit once per vintage (tests/run/test_vintages.py covers them)."""
    from fakes import without_vintages

    from forecast.config import load_config
    from forecast.run.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("reports-default")
    return run_pipeline(without_vintages(load_config("default")), data_dir=DATA_DIR, out_dir=out), out
