"""The fit at a cut-off: the model refitted with only what was known then, cached like a forecast run's fit.

Training runs published on or before the cut-off c (`load_bundle(cutoff=c)`), and rows of `web_growth.csv` dated on
or before c for the internet-adoption block. The dataset and compute frontiers are fitted exactly as in a forecast
run (`forecast.model.frontier`, the config's priors and sampler). The AI-share block, when the model has one, is
left out: it shares no parameter with the frontiers, so it cannot change the dataset forecast. Few runs before
early cut-offs carry a token count (two before 2021: GPT-3 and mT5); the fit still runs, its priors carry it, and
the number of runs used is reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecast.config import Config
from forecast.data import load_bundle
from forecast.hashing import canonical_json, sha256_text, source_hash
from forecast.model.frontier import FitData
from forecast.units import decimal_year

if TYPE_CHECKING:
    import xarray as xr

    from forecast.data import DataBundle
    from forecast.model.sample import Diagnostics

Progress = Callable[[str], None]


def config_at_cutoff(config: Config, cutoff: dt.date) -> Config:
    """The config with data.cutoff replaced (so the fit hash, and the cache key, change with the cut-off)."""
    return config.model_copy(update={"data": config.data.model_copy(update={"cutoff": cutoff})})


def fit_data_known_at(runs: pd.DataFrame, web_growth: pd.DataFrame, cutoff: dt.date, leak_rows: str) -> FitData:
    """The model's fit data from runs and web_growth rows dated on or before the cut-off (see module docstring).

    The adoption series are cut after selection (the AI-share block, left out, needs its series whole)."""
    from forecast.model.frontier import fit_data_from_frames

    cut = pd.Timestamp(cutoff)
    data = fit_data_from_frames(runs[runs["publication_date"] <= cut], web_growth, leak_rows=leak_rows, cutoff=cutoff)
    known = data.adoption_year <= decimal_year(cut)[0]
    changes: dict[str, Any] = {
        "adoption_year": data.adoption_year[known],
        "adoption_share": data.adoption_share[known],
    }
    if "ai_share" in {f.name for f in dataclasses.fields(data)}:
        changes["ai_share"] = None
    return dataclasses.replace(data, **changes)


def cutoff_fit_key(config: Config, bundle: DataBundle) -> str:
    """The cache key of a whole fit at a cut-off: the key of its blocks' inputs (`fit_hash_of` the data this
    module cuts) plus the source of this module and every `forecast` module it imports.

    These fits differ from a forecast run's fit with the same data.cutoff (web_growth rows are cut too, and the
    AI-share block is left out), so the two never share a whole-fit entry (blocks with equal inputs share theirs);
    and an edit to how they are made changes the key by itself."""
    from forecast.model.fit import fit_hash_of

    cutoff = config.data.cutoff
    data = fit_data_known_at(bundle.runs, bundle.web_growth, cutoff, config.fit.leak_rows)
    return sha256_text(canonical_json({"fit_hash": fit_hash_of(data, config), "backtest": source_hash(__name__)}))


@dataclass
class CutoffFit:
    """The posterior fitted with what was known at one cut-off."""

    cutoff: dt.date
    data: FitData
    idata: xr.DataTree
    diagnostics: Diagnostics
    key: str
    reused: bool
    seconds: float


def fit_at_cutoff(
    config: Config, data_dir: Path, cutoff: dt.date, use_cache: bool = True, progress: Progress | None = None
) -> CutoffFit:
    """Fit (or reuse from the cache) the model on runs and web_growth rows dated on or before the cut-off."""
    from forecast.model.fit import fit_blocks
    from forecast.model.sample import diagnostics_of

    started = time.perf_counter()
    cfg = config_at_cutoff(config, cutoff)
    bundle = load_bundle(Path(data_dir), cutoff=cutoff)
    data = fit_data_known_at(bundle.runs, bundle.web_growth, cutoff, cfg.fit.leak_rows)
    key = cutoff_fit_key(cfg, bundle)
    if progress:
        progress(
            f"cut-off {cutoff}: fit on {data.dataset_runs.size} runs with token counts, "
            f"{data.compute_runs.size} with compute, {data.adoption_year.size} adoption points"
        )
    idata, reused = fit_blocks(data, cfg, key, use_cache, progress)
    if reused and progress:
        progress(f"cut-off {cutoff}: fit reused from the cache")
    diagnostics = diagnostics_of(idata)
    return CutoffFit(cutoff, data, idata, diagnostics, key, reused, round(time.perf_counter() - started, 3))
