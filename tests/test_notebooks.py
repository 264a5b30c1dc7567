"""The exploration notebooks (`notebooks/*.py`, jupytext percent format) run top to bottom in a fresh kernel.

Each notebook is converted to a temporary .ipynb in `tmp_path` and executed with nbclient in smoke mode
(`FORECAST_SMOKE_TEST=1`: small draws), so a broken cell fails the suite while nothing is ever written back
to the repository. The kernel is a kernelspec installed into a temporary prefix that points at this
interpreter, so the test does not depend on which kernels the machine (or a fresh CI venv) has registered.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

REPO = Path(__file__).parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
EXPECTED = ("01_data.py", "02_model.py", "03_scenarios.py")
# Generous per-cell limit: a cold PyTensor compile cache makes the first sampling cell much slower than usual.
CELL_TIMEOUT_SECONDS = 600
KERNEL_NAME = "forecast-notebook-test"
SMOKE_MARKERS = ('os.environ.get("FORECAST_SMOKE_TEST") == "1"', "package_versions()")


@pytest.fixture(scope="session")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A kernelspec for *this* interpreter, installed into a temporary prefix (found via JUPYTER_PATH)."""
    prefix = tmp_path_factory.mktemp("jupyter")
    kernelspec.install(kernel_name=KERNEL_NAME, display_name="forecast tests", prefix=str(prefix))
    return KERNEL_NAME, prefix / "share" / "jupyter"


def test_expected_notebooks_present() -> None:
    """The three exploration notebooks exist (any further NN_*.py notebook is executed too)."""
    assert set(EXPECTED) <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_layout(path: Path) -> None:
    """Jupytext header with the python3 kernel, a markdown title, then a first cell reading smoke mode."""
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell: a markdown title"
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    for marker in SMOKE_MARKERS:
        assert marker in code.source, f"first code cell should contain {marker!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path,
    tmp_path: Path,
    kernel: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    """Execute the notebook in smoke mode; any cell error fails the test (outputs stay in tmp_path)."""
    name, jupyter_dir = kernel
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_dir))
    monkeypatch.setenv("FORECAST_SMOKE_TEST", "1")
    monkeypatch.delenv("FORECAST_NOTEBOOK_CONFIG", raising=False)  # 03_scenarios.py: the default preset
    # Keep the kernel's caches out of the user's home where possible (posterior cache of forecast.run.pipeline).
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    ipynb = tmp_path / f"{path.stem}.ipynb"
    jupytext.write(jupytext.read(path), ipynb)
    notebook = jupytext.read(ipynb)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name=name,
        # Run where a user would: in notebooks/ (the notebooks locate data/ by walking up from there).
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    jupytext.write(notebook, ipynb)  # executed copy, for debugging; tmp_path only
    record_property("wall_seconds", round(elapsed, 1))
    print(f"{path.name}: {elapsed:.1f} s (python {sys.version.split()[0]})")
