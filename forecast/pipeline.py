"""One run, end to end: validate → fit (or reuse the cached fit) → scenarios → outputs.

Every input is validated before anything is sampled; the fit is keyed by a hash of everything it depends on, so
scenario-only changes reuse it; outputs are written atomically (`forecast.outputs.staged_output`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast import cache
from forecast.analysis import extension_effects, sensitivity_tables
from forecast.config import Config, config_hash, fit_key, resolve
from forecast.data import DataBundle, load_bundle
from forecast.draws import flatten
from forecast.errors import ConvergenceError
from forecast.fit import Diagnostics, attach_diagnostics, diagnose, diagnostics_of, posterior_arrays, sample_posterior
from forecast.freshness import INPUTS_KEY, inputs_hash
from forecast.hashing import canonical_json, package_versions, sha256_text
from forecast.images import FIGURES_DIR, ImageSession
from forecast.model import FitPriors, NormalPriorValues, build_model, fit_data_from_frames
from forecast.outputs import (
    REPORT_FILE,
    staged_output,
    write_json,
    write_posterior,
    write_summary,
)
from forecast.provenance import verify
from forecast.scenarios import (
    ScenarioResult,
    bands_dataset,
    exhaustion_dataset,
    probability_table,
    project_scenario,
    summary_table,
)

Progress = Callable[[str], None]


@dataclass
class RunResult:
    """What a run produced, in memory (the same as what it wrote)."""

    config: Config
    bundle: DataBundle
    idata: xr.DataTree
    diagnostics: Diagnostics
    results: list[ScenarioResult]
    exhaustion: xr.Dataset
    bands: xr.Dataset
    summary: pd.DataFrame
    probabilities: pd.DataFrame
    metadata: dict[str, Any]
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    believe: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    fit_reused: bool = False


@contextmanager
def _timed(timings: dict[str, float], stage: str, progress: Progress | None) -> Iterator[None]:
    if progress:
        progress(stage)
    start = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - start, 3)


def fit_priors(config: Config) -> FitPriors:
    """The frontier priors of the config as model values."""
    fit = config.fit
    return FitPriors(
        dataset_level=NormalPriorValues(fit.dataset_level_2024.mean, fit.dataset_level_2024.sd),
        dataset_growth=NormalPriorValues(fit.dataset_growth.mean, fit.dataset_growth.sd),
        compute_level=NormalPriorValues(fit.compute_level_2024.mean, fit.compute_level_2024.sd),
        compute_growth=NormalPriorValues(fit.compute_growth.mean, fit.compute_growth.sd),
        leak_extra_sd=fit.leak_extra_sd_oom,
    )


# Modules whose source defines the fitted model: editing them must invalidate cached posteriors even when the
# package version does not change (a development checkout).
MODEL_MODULES = ("model", "contamination", "fit")


def model_source_hash() -> str:
    """sha256 over the source files of `MODEL_MODULES`."""
    package = Path(__file__).resolve().parent
    return sha256_text("".join((package / f"{name}.py").read_text(encoding="utf-8") for name in MODEL_MODULES))


def fit_hash(config: Config, bundle: DataBundle) -> str:
    """Hash of everything the posterior depends on: fit-relevant data, fit config, seed, sampler, versions and
    the model's source."""
    versions = package_versions()
    key = {
        "data": {name: bundle.sha256[name] for name in ("training_runs.csv", "web_growth.csv")},
        "config": fit_key(config),
        "versions": {k: versions[k] for k in ("forecast", "pymc", "pytensor", "nutpie", "numba", "numpy")},
        "model_source": model_source_hash(),
    }
    return sha256_text(canonical_json(key))


def fit_posterior(
    config: Config,
    bundle: DataBundle,
    use_cache: bool = True,
    progress: Progress | None = None,
    key: str | None = None,
) -> tuple[xr.DataTree, bool]:
    """The posterior for this config and data: from the cache when its key matches, else sampled. `key` is
    `fit_hash(config, bundle)` when the caller has computed it already."""
    key = key or fit_hash(config, bundle)
    if use_cache:
        cached = cache.load(key, progress)
        if cached is not None:
            return cached, True
    data = fit_data_from_frames(bundle.runs, bundle.web_growth, leak_rows=config.fit.leak_rows)
    model = build_model(data, fit_priors(config))
    idata = sample_posterior(model, config.sampler, config.seed)
    _require_complete(idata, config)
    attach_diagnostics(idata, diagnose(idata))  # cached with the draws, so a reuse needs no ArviZ
    if use_cache:
        cache.store(key, idata)
    return idata, False


def _require_complete(idata: xr.DataTree, config: Config) -> None:
    """Refuse a partial fit: PyMC catches Ctrl-C during sampling and returns the draws so far."""
    sizes = idata.posterior.sizes
    if (sizes.get("chain"), sizes.get("draw")) != (config.sampler.chains, config.sampler.draws):
        raise KeyboardInterrupt(
            f"sampling was interrupted: {sizes.get('chain')} chains x {sizes.get('draw')} draws instead of "
            f"{config.sampler.chains} x {config.sampler.draws}"
        )


def project_all(config: Config, bundle: DataBundle, idata: xr.DataTree) -> list[ScenarioResult]:
    """Exhaustion draws of every scenario from one posterior."""
    posterior = flatten(posterior_arrays(idata, tuple(idata.posterior.data_vars)))
    return [project_scenario(s, posterior, bundle.stock_priors, config.seed) for s in resolve(config)]


def run_metadata(config: Config, bundle: DataBundle, key: str) -> dict[str, Any]:
    """Seed, hashes and versions recorded with every output."""
    return {
        "seed": config.seed,
        "config_hash": config_hash(config),
        "data_hash": bundle.fingerprint,
        "data_files_sha256": dict(bundle.sha256),
        "fit_hash": key,
        "versions": package_versions(),
        "sampler": config.sampler.model_dump(mode="json"),
        "config": config.model_dump(mode="json"),
    }


def compute_result(
    config: Config,
    data_dir: Path = Path("data"),
    strict: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
    posterior: xr.DataTree | None = None,
) -> RunResult:
    """Validate, fit (or reuse the cache, or take `posterior`) and project `config`, writing nothing: what a
    run would write, in memory (for tests and notebooks; `run_pipeline` writes it)."""
    timings: dict[str, float] = {}
    with _timed(timings, "validate", progress):
        # Content errors name row and column; --no-cache also re-runs checks that passed on these bytes before.
        bundle = load_bundle(Path(data_dir), cutoff=config.data.cutoff, reuse_checks=use_cache)
        verify(Path(data_dir))
        resolve(config)
    with _timed(timings, "fit", progress):
        key = fit_hash(config, bundle)
        if posterior is None:
            idata, reused = fit_posterior(config, bundle, use_cache=use_cache, progress=progress, key=key)
        else:
            idata, reused = posterior, True
        diagnostics = diagnostics_of(idata)
    if strict and not diagnostics.converged:
        raise ConvergenceError("sampling did not converge: " + "; ".join(diagnostics.problems()))
    with _timed(timings, "scenarios", progress):
        results = project_all(config, bundle, idata)
        exhaustion = exhaustion_dataset(results, config.sampler.chains, config.sampler.draws)
        bands = bands_dataset(results)
        summary = summary_table(exhaustion)
        last = int(max(r.horizon for r in results))
        probabilities = probability_table(exhaustion, np.arange(2024, last))
        effects = extension_effects(results)
        sensitivity, believe = sensitivity_tables(results)
    return RunResult(
        config=config,
        bundle=bundle,
        idata=idata,
        diagnostics=diagnostics,
        results=results,
        exhaustion=exhaustion,
        bands=bands,
        summary=summary,
        probabilities=probabilities,
        metadata=run_metadata(config, bundle, key),
        effects=effects,
        sensitivity=sensitivity,
        believe=believe,
        timings=timings,
        fit_reused=reused,
    )


def run_pipeline(
    config: Config,
    data_dir: Path = Path("data"),
    out_dir: Path = Path("reports"),
    strict: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
    write_report: bool = True,
    png: bool = True,
    inputs_key: str | None = None,
    image_session: ImageSession | None = None,
) -> RunResult:
    """Validate, fit, project and write all outputs for `config`; raise before writing on any bad input.
    `inputs_key` is `freshness.inputs_hash` for these inputs when the caller has computed it already;
    `image_session` is a Chromium the caller started early for the PNGs (it also stops it). A `report.html` or
    `figures/` an earlier run left in `out_dir` is removed when this run does not write it (`write_report=False`,
    `png=False`, a failed image export)."""
    started = time.perf_counter()
    result = compute_result(config, data_dir, strict=strict, use_cache=use_cache, progress=progress)
    timings, metadata = result.timings, result.metadata
    # The CLI has computed it already for its up-to-date check (same inputs, same PNG setting).
    metadata[INPUTS_KEY] = inputs_key or inputs_hash(config, Path(data_dir), png and write_report)
    # The report and its images are not written by every run (write_report=False, --no-png, a failed export):
    # an earlier run's copies then go, rather than stand beside outputs they do not match.
    optional = (REPORT_FILE, FIGURES_DIR)
    with _timed(timings, "write", progress), staged_output(Path(out_dir), replaces=optional) as staging:
        write_summary(staging / "summary.csv", result.summary)
        result.probabilities.to_csv(staging / "p_exhausted_by_year.csv", float_format="%.4f", lineterminator="\n")
        for name, table in (
            ("extension_effects.csv", result.effects),
            ("sensitivity.csv", result.sensitivity),
            ("what_you_would_have_to_believe.csv", result.believe),
        ):
            table.to_csv(staging / name, index=False, float_format="%.6g", lineterminator="\n")
        write_posterior(
            staging / "posterior.nc",
            result.idata,
            result.exhaustion,
            result.bands,
            {
                "config_json": json.dumps(metadata["config"], sort_keys=True),
                "config_hash": metadata["config_hash"],
                "data_hash": metadata["data_hash"],
                "fit_hash": metadata["fit_hash"],
                "seed": str(config.seed),
                "versions_json": json.dumps(metadata["versions"], sort_keys=True),
            },
        )
        if write_report:
            from forecast.report import write_report as render

            result.metadata["figures"] = render(
                result,
                staging,
                png=png,
                use_cache=use_cache,
                session=image_session,
                inputs_key=metadata[INPUTS_KEY],
            )
        timings["total"] = round(time.perf_counter() - started, 3)
        write_json(
            staging / "run.json",
            {
                **{k: v for k, v in metadata.items() if k != "config"},
                **result.diagnostics.as_dict(),
                "converged": result.diagnostics.converged,
                "convergence_problems": result.diagnostics.problems(),
                "fit_reused_from_cache": result.fit_reused,
                "wall_time_seconds": timings,
                "scenarios": [r.name for r in result.results],
                "figures": result.metadata.get("figures", {}),
            },
        )
    return result
