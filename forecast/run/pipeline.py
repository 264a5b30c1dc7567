"""One run, end to end: validate → fit (or reuse the cached fit) → scenarios → outputs.

Every input is validated before anything is sampled; the fit is keyed by a hash of everything it depends on, so
scenario-only changes reuse it; outputs replace the previous ones whole (`forecast.run.folders.staged_output`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import Config, ResolvedScenario, config_hash, resolve
from forecast.data import RUNS_FILE, DataBundle, load_bundle
from forecast.data.provenance import verify
from forecast.errors import ConvergenceError, DataError
from forecast.hashing import package_versions
from forecast.model.fit import Progress, fit_hash, fit_posterior
from forecast.model.record import record_data
from forecast.model.record_paths import RecordPathCheck, record_path_check
from forecast.model.sample import (
    Diagnostics,
    diagnostics_of,
    posterior_arrays,
)
from forecast.projection.compute_ahead import compute_ahead_table
from forecast.projection.effects import extension_effects, sensitivity_tables
from forecast.projection.inputs import flatten
from forecast.projection.nowcast import KnownAtCutoff, record_at
from forecast.projection.project import ScenarioResult, project_scenario
from forecast.projection.tables import (
    bands_dataset,
    exhaustion_dataset,
    nowcast_table,
    probability_table,
    summary_table,
)
from forecast.report.images import FIGURES_DIR
from forecast.run.compute_sensitivity import compute_sensitivity_table
from forecast.run.folders import staged_output
from forecast.run.freshness import INPUTS_KEY, inputs_hash
from forecast.run.frontier_models import frontier_models_table
from forecast.run.outputs import (
    REPORT_FILE,
    write_json,
    write_posterior,
    write_summary,
)
from forecast.run.result import RunResult
from forecast.run.vintages import vintage_table
from forecast.units import decimal_year


@contextmanager
def _timed(timings: dict[str, float], stage: str, progress: Progress | None) -> Iterator[None]:
    if progress:
        progress(stage)
    start = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - start, 3)


def known_at_cutoff(
    config: Config, bundle: DataBundle, scenarios: list[ResolvedScenario] | None = None
) -> KnownAtCutoff | None:
    """The record at the data cut-off, when a scenario (of `scenarios`, default the config's) ties its paths to it
    (else None: not needed)."""
    if not any(s.nowcast.condition_on_record for s in scenarios or resolve(config)):
        return None
    try:
        record = record_at(bundle.runs, config.data.cutoff)
    except ValueError as exc:
        raise DataError(f"{RUNS_FILE}: {exc} (needed by nowcast.condition_on_record)") from None
    return KnownAtCutoff(config.data.cutoff, record)


def project_all(
    scenarios: list[ResolvedScenario],
    bundle: DataBundle,
    posterior: dict[str, np.ndarray],
    seed: int,
    known: KnownAtCutoff | None = None,
) -> list[ScenarioResult]:
    """Exhaustion draws of every scenario from one posterior, flattened over chains and draws
    (`forecast.projection.inputs.flatten`), tied to `known` where a scenario asks."""
    return [project_scenario(s, posterior, bundle.stock_priors, seed, known=known) for s in scenarios]


def as_of(config: Config, bundle: DataBundle, known: KnownAtCutoff | None = None) -> dict[str, Any]:
    """When the forecast speaks from: the data cut-off, the latest dated row it kept, and the record then."""
    latest = bundle.runs["publication_date"].max()
    return {
        "as_of": config.data.cutoff.isoformat(),
        "data_to": config.data.cutoff.isoformat(),
        "latest_run_published": None if latest is None or latest != latest else latest.date().isoformat(),
        "record_at_cutoff": None
        if known is None
        else {"tokens": known.record.tokens, "model": known.record.model, "published": known.record.date.isoformat()},
    }


def run_metadata(config: Config, bundle: DataBundle, key: str, known: KnownAtCutoff | None = None) -> dict[str, Any]:
    """Seed, hashes, versions and the as-of date recorded with every output."""
    return {
        **as_of(config, bundle, known),
        "seed": config.seed,
        "config_hash": config_hash(config),
        "data_hash": bundle.fingerprint,
        "data_files_sha256": dict(bundle.sha256),
        "fit_hash": key,
        "versions": package_versions(),
        "sampler": config.sampler.model_dump(mode="json"),
        "config": config.model_dump(mode="json"),
    }


#: Posterior draws simulated by the record-path check (its p-values' Monte Carlo SE is ≤ 0.016).
RECORD_CHECK_DRAWS = 1000


def record_check_of(config: Config, bundle: DataBundle, idata: xr.DataTree) -> RecordPathCheck | None:
    """The record-path predictive check of a record-process fit (None for a stochastic-frontier fit)."""
    posterior = idata["posterior"]
    if "dataset_record_scale" not in posterior:
        return None
    names = [name for name in posterior.data_vars if str(name).startswith("dataset_")]
    draws = {str(name): np.asarray(posterior[name].values) for name in names}
    end = float(decimal_year(pd.Series([pd.Timestamp(config.data.cutoff)]))[0])
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x505043]))  # "PPC"
    return record_path_check(draws, record_data(bundle.runs, end), rng, RECORD_CHECK_DRAWS)


def block_diagnostics_metadata(diagnostics: Diagnostics) -> dict[str, dict[str, float]]:
    """Each block's diagnostics and target_accept for run.json (JSON has no NaN: a missing E-BFMI is None)."""
    return {
        str(name): {key: (None if pd.isna(value) else float(value)) for key, value in row.items()}
        for name, row in diagnostics.blocks.iterrows()
    }


def record_check_metadata(check: RecordPathCheck | None) -> dict[str, Any]:
    """The check's numbers for run.json (nothing without a check)."""
    if check is None:
        return {}
    return {
        "record_path_check": {
            "observed_months_with_new_record": check.observed_records,
            "p_months_with_new_record": check.p_records,
            "observed_longest_plateau_years": round(check.observed_longest, 3),
            "p_longest_plateau": check.p_longest,
        }
    }


def compute_result(
    config: Config,
    data_dir: Path = Path("data"),
    strict: bool = False,
    use_cache: bool = True,
    progress: Progress | None = None,
    posterior: xr.DataTree | None = None,
    vintages: bool = True,
    compute_sensitivity: bool = True,
    frontier_models: bool = True,
) -> RunResult:
    """Validate, fit (or reuse the cache, or take `posterior`) and project `config`, writing nothing: what a
    run would write, in memory (for tests and notebooks; `run_pipeline` writes it). With `vintages`, the
    config's earlier vintages are fitted and projected too (`forecast.run.vintages`; not with a given
    `posterior`, which holds today's fit only)."""
    timings: dict[str, float] = {}
    with _timed(timings, "validate", progress):
        # Content errors name row and column; --no-cache also re-runs checks that passed on these bytes before.
        bundle = load_bundle(Path(data_dir), cutoff=config.data.cutoff, reuse_checks=use_cache)
        verify(Path(data_dir))
        scenarios = resolve(config)
    with _timed(timings, "fit", progress):
        key = fit_hash(config, bundle)
        if posterior is None:
            idata, reused = fit_posterior(config, bundle, use_cache=use_cache, progress=progress, key=key)
        else:
            idata, reused = posterior, True
        diagnostics = diagnostics_of(idata)
        record_check = record_check_of(config, bundle, idata)
    if strict and not diagnostics.converged:
        raise ConvergenceError("sampling did not converge: " + "; ".join(diagnostics.problems()))
    with _timed(timings, "scenarios", progress):
        known = known_at_cutoff(config, bundle, scenarios)
        flat = flatten(posterior_arrays(idata, tuple(idata.posterior.data_vars)))
        results = project_all(scenarios, bundle, flat, config.seed, known)
        exhaustion = exhaustion_dataset(results, config.sampler.chains, config.sampler.draws)
        bands = bands_dataset(results)
        summary = summary_table(exhaustion)
        last = int(max(r.horizon for r in results))
        probabilities = probability_table(exhaustion, np.arange(2024, last))
        nowcast = nowcast_table(results)
        compute_ahead = compute_ahead_table(results)
        effects = extension_effects(results)
        sensitivity, believe = sensitivity_tables(results)
    selection = pd.DataFrame()
    if compute_sensitivity and posterior is None and config.compute_sensitivity.windows_oom:
        with _timed(timings, "compute sensitivity", progress):
            selection = compute_sensitivity_table(
                config, bundle, scenarios, flat, known, use_cache, progress, fit_key=key
            )
    models = pd.DataFrame()
    if frontier_models and posterior is None and config.model_comparison.models:
        with _timed(timings, "frontier models", progress):
            models = frontier_models_table(config, bundle, scenarios, idata, flat, known, use_cache, progress, key)
    result = RunResult(
        config=config,
        scenarios=scenarios,
        bundle=bundle,
        idata=idata,
        diagnostics=diagnostics,
        results=results,
        exhaustion=exhaustion,
        bands=bands,
        summary=summary,
        probabilities=probabilities,
        metadata=run_metadata(config, bundle, key, known) | record_check_metadata(record_check),
        effects=effects,
        sensitivity=sensitivity,
        believe=believe,
        nowcast=nowcast,
        compute_ahead=compute_ahead,
        compute_sensitivity=selection,
        frontier_models=models,
        timings=timings,
        fit_reused=reused,
        record_check=record_check,
    )
    if vintages and posterior is None and config.vintages.dates:
        with _timed(timings, "vintages", progress):

            def at(earlier: Config) -> RunResult:
                return compute_result(
                    earlier,
                    data_dir,
                    False,
                    use_cache,
                    progress,
                    vintages=False,
                    compute_sensitivity=False,
                    frontier_models=False,
                )

            result.vintages = vintage_table(config, result, at, progress, reuse=use_cache)
    return result


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
) -> RunResult:
    """Validate, fit, project and write all outputs for `config`; raise before writing on any bad input.
    `inputs_key` is `freshness.inputs_hash` for these inputs when the caller has computed it already. A
    `report.html` or `figures/` an earlier run left in `out_dir` is removed when this run does not write it
    (`write_report=False`, `png=False`, a failed image export)."""
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
            ("nowcast.csv", result.nowcast),
            ("vintages.csv", result.vintages),
            ("compute_ahead.csv", result.compute_ahead),
            ("compute_sensitivity.csv", result.compute_sensitivity),
            ("frontier_models.csv", result.frontier_models),
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
            from forecast.report.page import write_report as render

            result.metadata["figures"] = render(
                result,
                staging,
                png=png,
                use_cache=use_cache,
            )
        timings["total"] = round(time.perf_counter() - started, 3)
        write_json(
            staging / "run.json",
            {
                **{k: v for k, v in metadata.items() if k != "config"},
                **result.diagnostics.as_dict(),
                "converged": result.diagnostics.converged,
                "convergence_problems": result.diagnostics.problems(),
                "blocks": block_diagnostics_metadata(result.diagnostics),
                "fit_reused_from_cache": result.fit_reused,
                "wall_time_seconds": timings,
                "scenarios": [r.name for r in result.results],
                "figures": result.metadata.get("figures", {}),
            },
        )
    return result
