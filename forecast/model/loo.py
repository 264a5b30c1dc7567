"""Pointwise log-likelihood of the dataset frontier, and PSIS leave-one-out cross-validation of it (ArviZ's
`loo` and `compare`; Vehtari, Gelman & Gabry 2017, with Pareto k̂ per observation as the check that the
importance weights can be trusted).

What an observation is depends on the likelihood: for the record process, one *spell* (a new record with the flat
stretch before it, and the final flat stretch to the cut-off: `record.segment_log_likelihood`); for the stochastic
frontier, one frontier-candidate run. So the record-process models (constant, hinge, local linear) are compared with
one another on the same observations, and the stochastic frontier is scored on its own: its ELPD is not on the
same data and `compare_loo` refuses to rank it with them.

The same pointwise terms feed the prior-sensitivity check (`forecast.model.sensitivity`).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model.record import segment_log_likelihood
from forecast.model.record_paths import record_frontier

if TYPE_CHECKING:
    from forecast.config.schema import FitSettings
    from forecast.model.blocks import Block
    from forecast.model.frontier import FitData

#: Name of the record process's pointwise log-likelihood (one term per spell) in a `log_likelihood` group.
RECORD_TERM = "dataset_record"
#: Pareto k̂ above which importance weights are unreliable (Vehtari et al. 2024, "Pareto smoothed importance
#: sampling", JMLR 25(72), §3: k̂ > 0.7 means the estimate's error does not fall with more draws). Used for LOO's
#: observations here and for the now-cast's weights (`forecast.projection.nowcast`).
PARETO_K_LIMIT = 0.7


def pointwise_log_likelihood(idata: xr.DataTree, block: Block) -> xr.Dataset:
    """The block's pointwise log-likelihood per draw, as (chain, draw, observation) variables: per spell for a
    record-process dataset block, per run (PyMC's own) for a stochastic frontier."""
    posterior = idata["posterior"].to_dataset()
    if block.name == "dataset" and block.data.dataset_record is not None and "dataset_record_scale" in posterior:
        return _record_log_likelihood(posterior, block)
    import pymc as pm

    computed = pm.stats.compute_log_likelihood(
        idata, model=block.model(), extend_inferencedata=False, progressbar=False
    )
    return computed["log_likelihood"].to_dataset() if isinstance(computed, xr.DataTree) else computed


def _record_log_likelihood(posterior: xr.Dataset, block: Block) -> xr.Dataset:
    """Pointwise log likelihood of the record path, one term per spell, as (chain, draw, spell)."""
    data = block.data.dataset_record
    assert data is not None
    draws = {str(name): np.asarray(posterior[name].values) for name in posterior.data_vars}
    frontier = record_frontier(draws, data)
    chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    values = frontier.at(data.grid, np.random.default_rng(0))  # before the cut-off F is fixed by the draw
    scale = frontier.draws["dataset_record_scale"]
    pointwise = segment_log_likelihood(data, values, scale).reshape(chains, n_draws, -1)
    return xr.Dataset({RECORD_TERM: (("chain", "draw", "spell"), pointwise)})


@dataclass(frozen=True)
class LooSummary:
    """PSIS-LOO of one fit: expected log predictive density and its standard error, the effective number of
    parameters, and how many observations have Pareto k̂ above `PARETO_K_LIMIT` (their LOO term is unreliable)."""

    likelihood: str  # "record" (observations are spells) or "stochastic" (observations are runs)
    n_observations: int
    elpd_loo: float
    elpd_loo_se: float
    p_loo: float
    pareto_k_max: float
    n_pareto_k_high: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def loo_tree(idata: xr.DataTree, block: Block) -> xr.DataTree:
    """The posterior and the dataset block's pointwise log-likelihood, as ArviZ's `loo` and `compare` read them."""
    return xr.DataTree.from_dict(
        {"posterior": idata["posterior"].to_dataset(), "log_likelihood": pointwise_log_likelihood(idata, block)}
    )


def dataset_loo_tree(idata: xr.DataTree, data: FitData, priors: FitSettings) -> xr.DataTree:
    """`loo_tree` of the dataset block of a whole fit (its posterior holds every block's draws)."""
    from forecast.model.blocks import model_blocks

    block = next(b for b in model_blocks(data, priors) if b.name == "dataset")
    names = [name for name in idata["posterior"].data_vars if str(name).startswith("dataset_")]
    own = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()[names]})
    return loo_tree(own, block)


def loo_summary(tree: xr.DataTree) -> LooSummary:
    """PSIS-LOO of a `loo_tree` (the record term when present, else the block's only observed variable)."""
    import arviz as az

    names = list(tree["log_likelihood"].data_vars)
    name = RECORD_TERM if RECORD_TERM in names else names[0]
    with warnings.catch_warnings():  # ArviZ warns of high k̂; the summary counts them (`n_pareto_k_high`)
        warnings.simplefilter("ignore", UserWarning)
        result = az.loo(tree, var_name=name, pointwise=True)
    k = np.asarray(result.pareto_k, dtype=float).ravel()
    return LooSummary(
        likelihood="record" if name == RECORD_TERM else "stochastic",
        n_observations=int(k.size),
        elpd_loo=float(result.elpd),
        elpd_loo_se=float(result.se),
        p_loo=float(result.p),
        pareto_k_max=float(np.max(k)),
        n_pareto_k_high=int(np.sum(k > PARETO_K_LIMIT)),
    )


def compare_loo(trees: dict[str, xr.DataTree]) -> pd.DataFrame:
    """ArviZ's comparison of record-process fits on the same record path: rank, ELPD difference to the best and
    its standard error, and stacking weights (Yao et al. 2018). Refuses fits whose observations differ."""
    import arviz as az

    for name, tree in trees.items():
        if RECORD_TERM not in tree["log_likelihood"].data_vars:
            raise ValueError(f"{name}: only record-process fits are compared by LOO (same spells, same data)")
    sizes = {name: tree["log_likelihood"][RECORD_TERM].sizes["spell"] for name, tree in trees.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the fits have different numbers of spells and cannot be compared: {sizes}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(trees, method="stacking", var_name=RECORD_TERM, round_to="none")
    return pd.DataFrame(
        {
            "loo_rank": table["rank"].astype(int),
            "elpd_diff": table["elpd_diff"].astype(float),
            "elpd_diff_se": table["dse"].astype(float),
            "stacking_weight": table["weight"].astype(float),
        },
        index=table.index,
    )
