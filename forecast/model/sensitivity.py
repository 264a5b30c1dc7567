"""Prior sensitivity of the frontier blocks by power scaling (Kallioinen, Paananen, Bürkner & Vehtari 2024,
"Detecting and diagnosing prior and likelihood sensitivity with power-scaling"; ArviZ's `psense_summary`).

Raising the prior or the likelihood to a power α near 1 and importance-weighting the draws shows how much each
posterior would move: a parameter sensitive to its prior but not to the likelihood is set by the prior (weak
data); one sensitive to both shows prior–data conflict. It needs the draws' log prior and pointwise log
likelihood: PyMC computes both for the stochastic frontier; the record process's likelihood is a Potential, so its
pointwise terms (one per spell) come from `loo.pointwise_log_likelihood`, the same terms LOO uses.
Computed once when a block is sampled and stored with its draws (`SENSITIVITY_ATTR`), like the diagnostics."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from forecast.model.loo import pointwise_log_likelihood

if TYPE_CHECKING:
    from forecast.model.blocks import Block

#: Attribute of a block's (and the assembled) DataTree holding the power-scaling table as JSON.
SENSITIVITY_ATTR = "prior_sensitivity_json"
#: The blocks whose priors are checked, and the parameters reported for each (the frontier lines and scales).
CHECKED: dict[str, tuple[str, ...]] = {
    "dataset": ("dataset_level", "dataset_growth", "dataset_record_scale", "dataset_noise_sd", "dataset_shortfall_sd"),
    "compute": ("compute_level", "compute_growth", "compute_noise_sd", "compute_shortfall_sd"),
}
#: The logger of ArviZ's power-scaling module.
PSENSE_LOGGER = "arviz_stats.psense"
#: ArviZ's threshold on the power-scaling sensitivity (its default; the paper's 0.05).
THRESHOLD = 0.05


def power_scaling(idata: xr.DataTree, block: Block) -> pd.DataFrame | None:
    """Prior and likelihood sensitivity per reported parameter of `block` (None for a block not checked)."""
    if block.name not in CHECKED:
        return None
    import arviz as az
    import pymc as pm

    model = block.model()
    posterior = idata["posterior"].to_dataset()
    log_prior = pm.stats.compute_log_prior(idata, model=model, extend_inferencedata=False, progressbar=False)
    log_prior = log_prior["log_prior"].to_dataset() if isinstance(log_prior, xr.DataTree) else log_prior
    log_lik = pointwise_log_likelihood(idata, block)
    tree = xr.DataTree.from_dict({"posterior": posterior, "log_prior": log_prior, "log_likelihood": log_lik})
    names = [name for name in CHECKED[block.name] if name in posterior]
    # ArviZ logs a pointer to its docs when a parameter is flagged; the table says it (and the report explains).
    quiet = logging.getLogger(PSENSE_LOGGER)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        table = az.psense_summary(tree, var_names=names, threshold=THRESHOLD)
    finally:
        quiet.setLevel(level)
    return pd.DataFrame(table)


def attach_sensitivity(idata: xr.DataTree, table: pd.DataFrame | None) -> None:
    """Store the table in the tree's attributes (nothing for a block not checked)."""
    if table is None:
        return
    idata.attrs[SENSITIVITY_ATTR] = table.to_json(orient="split")


def stored_sensitivity(idata: xr.DataTree) -> pd.DataFrame:
    """The stored table (empty when none was computed, e.g. a synthetic posterior)."""
    raw = idata.attrs.get(SENSITIVITY_ATTR)
    if not isinstance(raw, str):
        return pd.DataFrame()
    try:
        return pd.read_json(io.StringIO(raw), orient="split")
    except ValueError:
        return pd.DataFrame()


def combine_sensitivity(trees: dict[str, xr.DataTree]) -> str | None:
    """The blocks' tables stacked, as JSON for the assembled tree (None when no block has one)."""
    tables = [stored_sensitivity(tree) for tree in trees.values()]
    tables = [table for table in tables if not table.empty]
    return pd.concat(tables).to_json(orient="split") if tables else None
