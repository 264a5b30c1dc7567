"""Sampling and convergence diagnostics for the fitted model.

NUTS (nutpie by default, or PyMC's own: `sampler.backend`) with the seed from the config; every run reports
divergences, R-hat and bulk/tail ESS for each scalar parameter, so no figure in a report rests on an unchecked fit.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
import xarray as xr

from forecast.errors import InputError
from forecast.model.frontier import SCALAR_PARAMETERS

if TYPE_CHECKING:
    import pymc as pm

# PyMC and ArviZ are imported inside the functions that need them: a run that reuses a cached posterior (which
# carries its diagnostics, see `DIAGNOSTICS_ATTR`) never imports them, which saves seconds per run.

#: Attribute of a fitted DataTree holding its convergence diagnostics as JSON (written by `attach_diagnostics`).
DIAGNOSTICS_ATTR = "diagnostics_json"

# Convergence thresholds (Vehtari et al. 2021, "Rank-normalization, folding, and localization": R-hat < 1.01
# and bulk/tail ESS > 100 per chain; the acceptance asks for bulk ESS >= 400 in total).
MAX_R_HAT = 1.01
MIN_ESS_BULK = 400
# E-BFMI below 0.3 flags a chain whose momentum resampling cannot explore the energy distribution (Betancourt
# 2016, "Diagnosing suboptimal cotangent disintegrations in Hamiltonian Monte Carlo"; Stan's warning threshold).
MIN_BFMI = 0.3
#: Names of the "hit the maximum tree depth" flag in the sample stats of nutpie and of PyMC's NUTS.
MAX_DEPTH_FLAGS = ("maxdepth_reached", "reached_max_treedepth")


class SamplerLike(Protocol):
    """The sampler settings this module needs (see `forecast.config.SamplerSettings`)."""

    backend: str
    draws: int
    tune: int
    chains: int
    target_accept: float
    cores: int
    thin: int


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of one fit."""

    divergences: int
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    table: pd.DataFrame  # one row per scalar parameter: mean, sd, interval, ess_bulk, ess_tail, r_hat
    min_bfmi: float = float("nan")  # lowest E-BFMI of any chain (NaN: no energy recorded)
    max_depth_share: float = 0.0  # share of draws that hit the maximum tree depth (efficiency, not validity)
    #: One row per block sampled on its own (`forecast.model.blocks`), with these numbers and its target_accept.
    blocks: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def converged(self) -> bool:
        return passes(self.divergences, self.max_r_hat, self.min_ess_bulk, self.min_bfmi)

    def problems(self) -> list[str]:
        """Human-readable reasons the fit is not trusted (empty when converged)."""
        out = []
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        if self.max_r_hat > MAX_R_HAT:
            out.append(f"max R-hat {self.max_r_hat:.3f} > {MAX_R_HAT}")
        if self.min_ess_bulk < MIN_ESS_BULK:
            out.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS_BULK}")
        if self.min_bfmi < MIN_BFMI:
            out.append(f"min E-BFMI {self.min_bfmi:.2f} < {MIN_BFMI}")
        failing = [str(name) for name, row in self.blocks.iterrows() if not block_passes(row)]
        if out and failing:
            out.append("in block " + ", ".join(failing))
        return out

    def as_dict(self) -> dict[str, float | int]:
        return {
            "divergences": self.divergences,
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "min_bfmi": None if np.isnan(self.min_bfmi) else self.min_bfmi,  # None: no energy (JSON has no NaN)
            "max_treedepth_share": self.max_depth_share,
        }


def passes(divergences: float, max_r_hat: float, min_ess_bulk: float, min_bfmi: float) -> bool:
    """The convergence checks, once for the whole fit and each block: no divergence, R-hat and bulk ESS within
    their thresholds, E-BFMI not below its threshold (NaN, no energy recorded, does not fail)."""
    return bool(
        divergences == 0 and max_r_hat <= MAX_R_HAT and min_ess_bulk >= MIN_ESS_BULK and not min_bfmi < MIN_BFMI
    )


def block_passes(row: pd.Series) -> bool:
    """`passes` for one block's row of `Diagnostics.blocks`."""
    return passes(row["divergences"], row["max_r_hat"], row["min_ess_bulk"], row["min_bfmi"])


def sample_posterior(model: pm.Model, sampler: SamplerLike, seed: int, progressbar: bool = False) -> xr.DataTree:
    """Run NUTS with the configured backend; the same seed and settings give the same draws. With `thin` > 1,
    draws × thin are sampled per chain and every thin-th kept (numbered 0 … draws − 1)."""
    import pymc as pm

    if sampler.backend == "nutpie" and importlib.util.find_spec("nutpie") is None:
        raise InputError(
            "sampler.backend is 'nutpie' but nutpie is not installed (a dependency of forecast): pip install nutpie"
        )
    thin = int(getattr(sampler, "thin", 1))  # test doubles may leave it out
    with model:
        idata = pm.sample(
            draws=sampler.draws * thin,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=min(sampler.cores, sampler.chains),
            target_accept=sampler.target_accept,
            random_seed=seed,
            nuts_sampler=sampler.backend,
            progressbar=progressbar,
            compute_convergence_checks=False,
        )
    if thin == 1:
        return idata
    return idata.map_over_datasets(lambda group: _every(group, thin))


#: Per-transition flags that thinning must not lose: a kept draw carries whether any draw of its window had it.
WINDOW_FLAGS = ("diverging", *MAX_DEPTH_FLAGS)


def _every(group: xr.Dataset, thin: int) -> xr.Dataset:
    """Every thin-th draw of a group with draws (renumbered from 0); a group without draws as it is. Flags of
    `WINDOW_FLAGS` are or-ed over each window, and the window's count of divergences is kept as `n_diverging`
    (so `diagnose` counts every divergent transition, not only those that landed on a kept draw)."""
    if "draw" not in group.dims:
        return group
    kept = group.isel(draw=slice(None, None, thin))
    windows = {"draw": thin}
    for name in WINDOW_FLAGS:
        if name in group:
            kept[name] = (group[name].dims, group[name].coarsen(windows, boundary="trim").any().values)
    if "diverging" in group:
        counts = group["diverging"].coarsen(windows, boundary="trim").sum()
        kept["n_diverging"] = (counts.dims, counts.values)
    return kept.assign_coords(draw=np.arange(kept.sizes["draw"]))


def free_variables(idata: xr.DataTree) -> list[str]:
    """Posterior variables that were sampled (deterministics such as `ai_series_plateau` left out)."""
    return [name for name in idata.posterior.data_vars if not name.endswith("_plateau")]


def diagnose(idata: xr.DataTree, var_names: tuple[str, ...] | None = None) -> Diagnostics:
    """R-hat, ESS and divergences of every sampled variable (vector ones element by element)."""
    present = list(var_names) if var_names is not None else free_variables(idata)
    present = [v for v in present if v in idata.posterior]
    import arviz as az

    table = az.summary(idata, var_names=present, kind="all", ci_prob=0.9, round_to="none")
    stats = idata["sample_stats"] if "sample_stats" in idata.children else None
    counted = next((name for name in ("n_diverging", "diverging") if stats is not None and name in stats), None)
    divergences = int(stats[counted].sum()) if counted else 0
    min_bfmi = float(np.min(az.bfmi(idata)["energy"].values)) if stats is not None and "energy" in stats else np.nan
    flags = [stats[name] for name in MAX_DEPTH_FLAGS if stats is not None and name in stats]
    depth_share = float(np.mean(flags[0].values)) if flags else 0.0
    return _from_table(divergences, table, min_bfmi, depth_share)


def _from_table(
    divergences: int,
    table: pd.DataFrame,
    min_bfmi: float = np.nan,
    depth_share: float = 0.0,
    blocks: pd.DataFrame | None = None,
) -> Diagnostics:
    return Diagnostics(
        divergences=divergences,
        max_r_hat=float(np.nanmax(table["r_hat"].astype(float))),
        min_ess_bulk=float(np.nanmin(table["ess_bulk"].astype(float))),
        min_ess_tail=float(np.nanmin(table["ess_tail"].astype(float))),
        table=table,
        min_bfmi=float(min_bfmi),
        max_depth_share=float(depth_share),
        blocks=blocks if blocks is not None else pd.DataFrame(),
    )


def combine(by_block: dict[str, tuple[Diagnostics, float]]) -> Diagnostics:
    """The whole fit's diagnostics from each block's own (with the target_accept it was sampled at): tables
    stacked, divergences summed, the worst R-hat, ESS, E-BFMI and tree-depth share, and one row per block."""
    rows = {
        name: {**d.as_dict(), "target_accept": target_accept, "parameters": int(d.table.shape[0])}
        for name, (d, target_accept) in by_block.items()
    }
    blocks = pd.DataFrame.from_dict(rows, orient="index").apply(pd.to_numeric).astype(float)
    table = pd.concat([d.table for d, _ in by_block.values()])
    return _from_table(
        int(blocks["divergences"].sum()),
        table,
        float(np.nanmin(blocks["min_bfmi"])) if blocks["min_bfmi"].notna().any() else np.nan,
        float(blocks["max_treedepth_share"].max()),
        blocks,
    )


def attach_diagnostics(idata: xr.DataTree, diagnostics: Diagnostics) -> None:
    """Store `diagnostics` in the tree's attributes, so a cached posterior carries its own convergence report."""
    blocks = diagnostics.blocks
    idata.attrs[DIAGNOSTICS_ATTR] = json.dumps(
        {
            "divergences": diagnostics.divergences,
            "index": [str(name) for name in diagnostics.table.index],
            "columns": [str(name) for name in diagnostics.table.columns],
            "values": diagnostics.table.astype(float).to_numpy().tolist(),
            "min_bfmi": None if np.isnan(diagnostics.min_bfmi) else diagnostics.min_bfmi,
            "max_depth_share": diagnostics.max_depth_share,
            "blocks": {
                "index": [str(name) for name in blocks.index],
                "columns": [str(name) for name in blocks.columns],
                "values": blocks.astype(float).to_numpy().tolist(),
            },
        }
    )


def stored_diagnostics(idata: xr.DataTree) -> Diagnostics | None:
    """The diagnostics saved by `attach_diagnostics`, or None when absent or unreadable."""
    raw = idata.attrs.get(DIAGNOSTICS_ATTR)
    if not isinstance(raw, str):
        return None
    try:
        stored = json.loads(raw)
        table = pd.DataFrame(stored["values"], index=stored["index"], columns=stored["columns"], dtype=float)
        raw_blocks = stored.get("blocks") or {"values": [], "index": [], "columns": []}
        blocks = pd.DataFrame(
            raw_blocks["values"], index=raw_blocks["index"], columns=raw_blocks["columns"], dtype=float
        )
        min_bfmi = stored.get("min_bfmi")
        return _from_table(
            int(stored["divergences"]),
            table,
            np.nan if min_bfmi is None else float(min_bfmi),
            float(stored.get("max_depth_share", 0.0)),
            blocks,
        )
    except (ValueError, KeyError, TypeError):
        return None


def diagnostics_of(idata: xr.DataTree) -> Diagnostics:
    """Diagnostics stored with the posterior when present (no ArviZ import), else computed now."""
    return stored_diagnostics(idata) or diagnose(idata)


def prior_predictive(model: pm.Model, draws: int, seed: int) -> xr.DataTree:
    """Draws from the prior and the prior predictive of every observed variable."""
    import pymc as pm

    with model:
        return pm.sample_prior_predictive(draws=draws, random_seed=seed)


def posterior_predictive(model: pm.Model, idata: xr.DataTree, seed: int) -> xr.DataTree:
    """Posterior predictive draws of every observed variable, for checks against the recorded runs."""
    import pymc as pm

    with model:
        return pm.sample_posterior_predictive(idata, random_seed=seed, progressbar=False)


def posterior_arrays(idata: xr.DataTree, names: tuple[str, ...] = SCALAR_PARAMETERS) -> dict[str, np.ndarray]:
    """Scalar posterior variables as (chain, draw) arrays."""
    posterior = idata.posterior
    return {name: np.asarray(posterior[name].values) for name in names if name in posterior}
