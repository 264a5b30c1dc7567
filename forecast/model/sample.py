"""Sampling and convergence diagnostics for the fitted model.

NUTS (nutpie by default, or PyMC's own: `sampler.backend`) with the seed from the config; every run reports
divergences, R-hat and bulk/tail ESS for each scalar parameter, so no figure in a report rests on an unchecked fit.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
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


class SamplerLike(Protocol):
    """The sampler settings this module needs (see `forecast.config.SamplerSettings`)."""

    backend: str
    draws: int
    tune: int
    chains: int
    target_accept: float
    cores: int


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of one fit."""

    divergences: int
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    table: pd.DataFrame  # one row per scalar parameter: mean, sd, interval, ess_bulk, ess_tail, r_hat

    @property
    def converged(self) -> bool:
        return self.divergences == 0 and self.max_r_hat <= MAX_R_HAT and self.min_ess_bulk >= MIN_ESS_BULK

    def problems(self) -> list[str]:
        """Human-readable reasons the fit is not trusted (empty when converged)."""
        out = []
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        if self.max_r_hat > MAX_R_HAT:
            out.append(f"max R-hat {self.max_r_hat:.3f} > {MAX_R_HAT}")
        if self.min_ess_bulk < MIN_ESS_BULK:
            out.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS_BULK}")
        return out

    def as_dict(self) -> dict[str, float | int]:
        return {
            "divergences": self.divergences,
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
        }


def sample_posterior(model: pm.Model, sampler: SamplerLike, seed: int, progressbar: bool = False) -> xr.DataTree:
    """Run NUTS with the configured backend; the same seed and settings give the same draws."""
    import pymc as pm

    if sampler.backend == "nutpie" and importlib.util.find_spec("nutpie") is None:
        raise InputError(
            "sampler.backend is 'nutpie' but nutpie is not installed (a dependency of forecast): pip install nutpie"
        )
    with model:
        return pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=min(sampler.cores, sampler.chains),
            target_accept=sampler.target_accept,
            random_seed=seed,
            nuts_sampler=sampler.backend,
            progressbar=progressbar,
            compute_convergence_checks=False,
        )


def free_variables(idata: xr.DataTree) -> list[str]:
    """Posterior variables that were sampled (deterministics such as `ai_series_plateau` left out)."""
    return [name for name in idata.posterior.data_vars if not name.endswith("_plateau")]


def diagnose(idata: xr.DataTree, var_names: tuple[str, ...] | None = None) -> Diagnostics:
    """R-hat, ESS and divergences of every sampled variable (vector ones element by element)."""
    present = list(var_names) if var_names is not None else free_variables(idata)
    present = [v for v in present if v in idata.posterior]
    import arviz as az

    table = az.summary(idata, var_names=present, kind="all", ci_prob=0.9, round_to="none")
    divergences = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    return _from_table(divergences, table)


def _from_table(divergences: int, table: pd.DataFrame) -> Diagnostics:
    return Diagnostics(
        divergences=divergences,
        max_r_hat=float(np.nanmax(table["r_hat"].astype(float))),
        min_ess_bulk=float(np.nanmin(table["ess_bulk"].astype(float))),
        min_ess_tail=float(np.nanmin(table["ess_tail"].astype(float))),
        table=table,
    )


def attach_diagnostics(idata: xr.DataTree, diagnostics: Diagnostics) -> None:
    """Store `diagnostics` in the tree's attributes, so a cached posterior carries its own convergence report."""
    idata.attrs[DIAGNOSTICS_ATTR] = json.dumps(
        {
            "divergences": diagnostics.divergences,
            "index": [str(name) for name in diagnostics.table.index],
            "columns": [str(name) for name in diagnostics.table.columns],
            "values": diagnostics.table.astype(float).to_numpy().tolist(),
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
        return _from_table(int(stored["divergences"]), table)
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
