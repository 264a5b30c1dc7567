"""The PyMC model of everything in this forecast that has a likelihood.

Independent blocks, each sampled on its own with NUTS (`forecast.model.blocks`: no parameter is shared, so the
joint posterior is the product of the blocks'):

1. **Dataset-size frontier.** For each recorded run with a developer-reported token count,
   log10 tokens_i = f(t_i) − u_i + ε_i with f(t) = level + growth·(t − anchor) the frontier (largest dataset at
   date t), u_i ≥ 0 the run's shortfall below the frontier, u_i ~ HalfNormal(σ_u), and ε_i ~ Normal(0, σ_ε,i).
   This is the normal/half-normal stochastic frontier of Aigner, Lovell & Schmidt (1977); integrating u_i out
   gives a skew-normal likelihood with scale sqrt(σ_u² + σ_ε,i²) and shape −σ_u/σ_ε,i, so there is no latent
   variable per run. Most runs sit below the frontier, which the shortfall absorbs; a run far *above* the line
   is penalised by ε, so the reliability of a figure enters through σ_ε,i: secondary reports (S) get an extra
   fitted noise term, leaked figures (GPT-4, PaLM 2) a large fixed one (or are excluded, by config).
   Only *frontier candidates* enter: runs within `candidate_window_oom` (default 1 OOM) of the running record at
   their publication date (leaked figures are judged against the record but never set it, as in the reference
   table's `is_frontier` rule). Why: the recorded sample mixes frontier runs with a fast-growing number of small
   open models, so on all runs the skewness does not identify a frontier ("wrong skewness" in stochastic-frontier
   terms): fitted that way the compute "frontier" collapses onto the mean line, 10^24.6 FLOP at 2024 growing
   0.31 OOM/yr, an order of magnitude below the runs of the time and half Epoch AI's measured 4–5×/yr.
2. **Compute frontier.** The same likelihood on log10 training compute, for runs published from the start of
   the fitting window (frontier language models "caught up" with the overall compute frontier around mid-2020
   and grew ~5×/yr after; Epoch, "Training compute of frontier AI models grows by 4-5x per year").
4. **AI-written share of new web text** (`forecast.model.ai_share`, names prefixed `ai_`): a logistic rise with
   detector error fitted to the measured shares; scenarios with `human_share.enabled` count only the human part
   of text added after ChatGPT's release.
3. **Internet adoption.** The share of the world population online, L·σ(k(t − t0)), fitted to the OWID and ITU
   series. It drives stock growth through cumulative person-years online
   (`forecast.projection.stock.StockPaths`), the paper's own robustness model ([P2] §2.2.2; METHOD_NOTES A.6).

Stock inputs without a likelihood (pages, bytes, quality, epochs, ...) are not in this model: their posterior is
their prior and they are drawn forward per scenario (`forecast.projection.inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.data import is_leak, is_whole_dataset
from forecast.model.ai_share import DEFAULT_SERIES as AI_SHARE_SERIES
from forecast.model.ai_share import AIShareData, add_ai_share_block, ai_share_data_from_frame
from forecast.model.record import RecordData, add_record_block, record_data, record_setters
from forecast.model.supply import SupplyData, add_supply_block, supply_data_from_frame, supply_parameters
from forecast.model.trend import ANCHOR_YEAR, frontier_log10
from forecast.units import decimal_year

if TYPE_CHECKING:
    import pytensor.tensor as pt

    from forecast.config.schema import FitSettings
    from forecast.priors import NormalPrior

# PyMC is imported inside the functions that build models: projecting from a cached posterior never needs it.


# Reliability codes for the dataset likelihood's noise.
PRIMARY, SECONDARY, LEAK = 0, 1, 2

# Weakly informative scales (OOM = orders of magnitude, log10 units). Chosen wide relative to the spread of the
# recorded runs (which span ~2 OOM around the trend in any year), so the data dominate:
SHORTFALL_SCALE_OOM = 1.0  # HalfNormal scale of σ_u: how far typical runs sit below the frontier
SECONDARY_EXTRA_SCALE_OOM = 0.3  # HalfNormal scale of the extra noise of secondary (S) figures
# HalfNormal scale of the extra noise of closed models' compute, estimated by others from hardware, time and
# benchmarks (`estimated_compute`): the two database copies in data/ differ by up to 0.26 OOM for GPT-4.5
# (2.1e26 vs 3.8e26 FLOP, compute_supply.csv notes): a scale of 0.5 lets the data find larger errors.
ESTIMATE_EXTRA_SCALE_OOM = 0.5
# σ_ε is the error of a figure *above* the frontier, i.e. measurement error, not the spread of runs (that is the
# shortfall's job). Left wide, it lets the frontier collapse onto the mean of all runs. Scales: token counts are
# developer-reported (the main error is tokens-processed vs unique, ~0.1–0.2 OOM, see data/README.md);
# compute figures are mostly Epoch AI estimates from parameters × tokens or hardware × time, where a factor-of-2
# error (0.3 OOM) is a generous allowance.
# The prior is Gamma(2, 2/scale) (mean = scale): zero-avoiding, because a figure is never exact and as σ_ε → 0
# the frontier becomes a hard boundary that NUTS cannot explore (divergences); cf. Chung et al. 2013,
# "A nondegenerate penalized likelihood estimator for variance parameters", on boundary-avoiding Gamma(2) priors.
NOISE_PRIOR_SHAPE = 2.0
DATASET_NOISE_SCALE_OOM = 0.15
COMPUTE_NOISE_SCALE_OOM = 0.3

# Internet adoption curve priors, centred on the [C2] `internet_users.py` fit (x0 = 2016.72, k = 0.1507, l = 1;
# METHOD_NOTES A.6) and wide enough to let the OWID/ITU data move them.
ADOPTION_MIDPOINT_PRIOR = (2016.7, 5.0)  # Normal(mean, sd), year
ADOPTION_RATE_PRIOR = (np.log(0.15), 0.5)  # LogNormal(mu, sigma), per year
ADOPTION_CEILING_BOUNDS = (0.5, 1.0)  # Uniform: the long-run share online
ADOPTION_NOISE_SCALE = 0.05  # HalfNormal scale of the observation noise (share, 0–1)

# Compute fits start here: frontier language models reached the overall compute frontier with GPT-3 (May 2020)
# and grew ~5×/yr after (Epoch AI 2024, epoch.ai/blog/training-compute-of-frontier-ai-models-grows-by-4-5x-per-year);
# before that, language-model compute grew ~9×/yr while catching up, a different regime.
COMPUTE_WINDOW_START = 2020.0
# Runs more than this far below the running record at their date are not frontier candidates (see docstring).
# The reference table's `is_frontier` flag uses 50% (0.3 OOM); 1 OOM keeps enough runs to estimate the shortfall.
CANDIDATE_WINDOW_OOM = 1.0

# Series of the share of the world population online in data/web_growth.csv (percent).
ADOPTION_SERIES = ("internet_users_share_world", "internet_users_share_itu")


@dataclass(frozen=True)
class FitData:
    """Arrays the model is fitted to, with the names of the runs behind them."""

    dataset_runs: np.ndarray  # model names
    dataset_year: np.ndarray  # decimal year
    dataset_log10: np.ndarray  # log10 tokens
    dataset_reliability: np.ndarray  # PRIMARY / SECONDARY / LEAK
    compute_runs: np.ndarray
    compute_year: np.ndarray
    compute_log10: np.ndarray  # log10 FLOP
    adoption_year: np.ndarray
    adoption_share: np.ndarray  # fraction of world population online
    ai_share: AIShareData | None = None  # measured AI share of new web text (None: block left out)
    dataset_record: RecordData | None = None  # the record path, for `fit.frontier.likelihood: record`
    supply: SupplyData | None = None  # what compute costs (`forecast.model.supply`; None: block left out)
    compute_estimated: np.ndarray | None = None  # bool per compute run: a closed model's estimated compute


def frontier_candidates(
    year: np.ndarray, log_value: np.ndarray, window_oom: float, never_sets_record: np.ndarray | None = None
) -> np.ndarray:
    """Mask of runs within `window_oom` of the running record (max so far, same date included)."""
    order = np.argsort(year, kind="stable")
    setters = log_value[order].copy()
    if never_sets_record is not None:
        setters[never_sets_record[order]] = -np.inf
    record = np.maximum.accumulate(setters)
    # Runs published on the same date see each other's values.
    sorted_years = year[order]
    last_same_date = np.searchsorted(sorted_years, sorted_years, side="right") - 1
    record = record[last_same_date]
    keep = np.empty(year.size, dtype=bool)
    keep[order] = log_value[order] >= record - window_oom
    return keep


def fit_data_from_frames(
    runs: pd.DataFrame,
    web_growth: pd.DataFrame,
    leak_rows: str = "downweight",
    compute_window_start: float = COMPUTE_WINDOW_START,
    candidate_window_oom: float = CANDIDATE_WINDOW_OOM,
    cutoff: date | None = None,
    supply: pd.DataFrame | None = None,
    include_estimated_compute: bool = True,
) -> FitData:
    """Select and transform the rows each likelihood uses (see module docstring for why). The record path runs
    to `cutoff` (its last flat spell ends there), or to the last run's date without one."""
    has_tokens = runs["dataset_tokens"].notna() & (runs["dataset_tokens"] > 0) & is_whole_dataset(runs)
    leak = is_leak(runs)
    tokens = runs[has_tokens & ~(leak & (leak_rows == "exclude"))]
    tokens = tokens[
        frontier_candidates(
            decimal_year(tokens["publication_date"]),
            np.log10(tokens["dataset_tokens"].to_numpy(dtype=float)),
            candidate_window_oom,
            never_sets_record=is_leak(tokens).to_numpy(),
        )
    ]
    reliability = np.where(
        is_leak(tokens), LEAK, np.where(tokens["reliability"].astype(str) == "P", PRIMARY, SECONDARY)
    )
    has_compute = runs["training_compute_flop"].notna() & (runs["training_compute_flop"] > 0)
    years = decimal_year(runs["publication_date"])
    compute = runs[has_compute & (years >= compute_window_start)]
    if not include_estimated_compute:
        compute = compute[~estimated_compute(compute)]
    compute = compute[
        frontier_candidates(
            decimal_year(compute["publication_date"]),
            np.log10(compute["training_compute_flop"].to_numpy(dtype=float)),
            candidate_window_oom,
            never_sets_record=is_leak(compute).to_numpy(),
        )
    ]
    adoption = web_growth[web_growth["series"].isin(ADOPTION_SERIES) & web_growth["value"].notna()]
    return FitData(
        dataset_runs=tokens["model"].to_numpy(dtype=str),
        dataset_year=decimal_year(tokens["publication_date"]),
        dataset_log10=np.log10(tokens["dataset_tokens"].to_numpy(dtype=float)),
        dataset_reliability=reliability.astype(int),
        compute_runs=compute["model"].to_numpy(dtype=str),
        compute_year=decimal_year(compute["publication_date"]),
        compute_log10=np.log10(compute["training_compute_flop"].to_numpy(dtype=float)),
        compute_estimated=estimated_compute(compute).to_numpy(dtype=bool),
        adoption_year=decimal_year(adoption["date"]),
        adoption_share=adoption["value"].to_numpy(dtype=float) / 100.0,
        ai_share=ai_share_known(web_growth),
        dataset_record=_record_to(runs, cutoff),
        supply=supply_data_from_frame(supply, None if cutoff is None else float(decimal_year(pd.Series([cutoff]))[0])),
    )


def estimated_compute(runs: pd.DataFrame) -> pd.Series:
    """Rows whose compute is an outsider's estimate for a closed model: a leak, a `compute_only` row (the
    developer disclosed neither parameters nor tokens: Gemini 1.0 Ultra, Grok 3/4, GPT-4.5, GPT-5, ...) or a row
    without a parameter count. Open models' compute is 6·N·D from disclosed figures, far more precise."""
    flags = runs["flags"].fillna("").astype(str) if "flags" in runs else pd.Series("", index=runs.index)
    compute_only = flags.str.split(";").map(lambda items: "compute_only" in items)
    no_parameters = runs["parameters"].isna() if "parameters" in runs else pd.Series(False, index=runs.index)
    return is_leak(runs) | compute_only | no_parameters


def _record_to(runs: pd.DataFrame, cutoff: date | None) -> RecordData | None:
    """The record path up to the cut-off (None when no run can set a record)."""
    dates = pd.to_datetime(runs["publication_date"])
    end = pd.Timestamp(cutoff) if cutoff is not None else dates.max()
    known = runs[dates <= end]
    if not record_setters(known).any():
        return None
    return record_data(known, float(decimal_year(pd.Series([end]))[0]))


def ai_share_known(web_growth: pd.DataFrame) -> AIShareData | None:
    """The AI-share measurements, when every series of the block has one (a cut-off before the later series
    were measured leaves the block out: nothing to fit; `switches.human_share` then says so)."""
    if not set(AI_SHARE_SERIES) <= set(web_growth["series"]):
        return None
    return ai_share_data_from_frame(web_growth)


def _stochastic_frontier(
    prefix: str,
    year: np.ndarray,
    observed: np.ndarray,
    level_prior: NormalPrior,
    growth_prior: NormalPrior,
    extra_sd: pt.TensorVariable | float,
    noise_scale: float,
    dims: str,
    precise: np.ndarray | None = None,
) -> None:
    """Add one normal/half-normal frontier block (level, growth, σ_ε, σ_u) and its skew-normal likelihood.

    With `precise` (the rows with no extra noise), the level is sampled as its height above those rows' envelope in
    units of σ_ε: as σ_ε → 0 the frontier becomes a hard wall at that envelope, and in the level itself the posterior
    narrows with σ_ε into a funnel (the compute block diverged at every cut-off 2022–2026 at target_accept 0.95, in
    up to 12 of 8,000 transitions; none in 18 fits with it). Given the slope and σ_ε the map is linear, so the prior
    is the same normal, moved and scaled: the model is unchanged (the record block's `frontier_above_record` is the
    same device). The dataset's stochastic frontier is sampled in its level: two early runs far above its line
    (mT5-XXL, LaMDA-PT) put its level 2σ_ε below their envelope, and from there one chain in four found a second
    mode (slope −0.1 OOM/yr, σ_ε 0.05) at the 2026 cut-off (R-hat 1.6)."""
    import pymc as pm
    import pytensor.tensor as pt

    if precise is None:  # created in the order they always were: the same draws
        level = pm.Normal(f"{prefix}_level", level_prior.mean, level_prior.sd)
    growth = pm.Normal(f"{prefix}_growth", growth_prior.mean, growth_prior.sd)
    noise = pm.Gamma(f"{prefix}_noise_sd", alpha=NOISE_PRIOR_SHAPE, beta=NOISE_PRIOR_SHAPE / noise_scale)
    shortfall = pm.HalfNormal(f"{prefix}_shortfall_sd", SHORTFALL_SCALE_OOM)
    if precise is not None:
        rows = precise if precise.any() else np.ones(year.size, dtype=bool)
        since_anchor = year - ANCHOR_YEAR
        envelope = pt.max(pt.constant(observed[rows]) - growth * pt.constant(since_anchor[rows]))
        above = pm.Normal(
            f"{prefix}_level_above_envelope", (level_prior.mean - envelope) / noise, level_prior.sd / noise
        )
        level = pm.Deterministic(f"{prefix}_level", envelope + noise * above)
    noise_i = pt.sqrt(noise**2 + extra_sd**2)
    frontier = frontier_log10(pm.Data(f"{prefix}_year", year, dims=dims), level, growth)
    pm.SkewNormal(
        f"{prefix}_obs",
        mu=frontier,
        sigma=pt.sqrt(shortfall**2 + noise_i**2),
        alpha=-shortfall / noise_i,
        observed=observed,
        dims=dims,
    )


def add_dataset_block(data: FitData, priors: FitSettings) -> None:
    """The dataset frontier, in the model in context: the record process of the record path
    (`fit.frontier.likelihood: record`) or the stochastic frontier of the frontier candidates."""
    import pymc as pm
    import pytensor.tensor as pt

    if priors.frontier.likelihood == "record":
        if data.dataset_record is None:
            raise ValueError("fit.frontier.likelihood 'record' needs at least one run that can set the record")
        add_record_block(data.dataset_record, priors.frontier.growth, priors, prefix="dataset")
        return
    pm.modelcontext(None).add_coords({"dataset_run": data.dataset_runs})
    secondary = pm.HalfNormal("dataset_secondary_sd", SECONDARY_EXTRA_SCALE_OOM)
    extra = pt.stack([pt.constant(0.0), secondary, pt.constant(priors.leak_extra_sd_oom)])[data.dataset_reliability]
    _stochastic_frontier(
        "dataset",
        data.dataset_year,
        data.dataset_log10,
        priors.dataset_level_2024,
        priors.dataset_growth,
        extra,
        DATASET_NOISE_SCALE_OOM,
        "dataset_run",
    )


def add_compute_block(data: FitData, priors: FitSettings) -> None:
    """The compute frontier of the frontier candidates from the fitting window on, in the model in context."""
    import pymc as pm
    import pytensor.tensor as pt

    pm.modelcontext(None).add_coords({"compute_run": data.compute_runs})
    extra: pt.TensorVariable | float = 0.0
    estimated = data.compute_estimated
    if estimated is None:
        estimated = np.zeros(data.compute_runs.size, dtype=bool)
    if estimated.any():
        estimate = pm.HalfNormal("compute_estimate_sd", ESTIMATE_EXTRA_SCALE_OOM)
        extra = pt.stack([pt.constant(0.0), estimate])[estimated.astype(int)]
    _stochastic_frontier(
        "compute",
        data.compute_year,
        data.compute_log10,
        priors.compute_level_2024,
        priors.compute_growth,
        extra,
        COMPUTE_NOISE_SCALE_OOM,
        "compute_run",
        precise=~estimated,
    )


def add_adoption_block(data: FitData, priors: FitSettings) -> None:
    """The logistic share of the world population online, in the model in context (its priors are this
    module's constants: `priors` is taken for a uniform signature)."""
    import pymc as pm

    pm.modelcontext(None).add_coords({"adoption_point": np.arange(data.adoption_year.size)})
    midpoint = pm.Normal("adoption_midpoint", *ADOPTION_MIDPOINT_PRIOR)
    rate = pm.LogNormal("adoption_rate", *ADOPTION_RATE_PRIOR)
    ceiling = pm.Uniform("adoption_ceiling", *ADOPTION_CEILING_BOUNDS)
    noise = pm.HalfNormal("adoption_noise_sd", ADOPTION_NOISE_SCALE)
    share = ceiling * pm.math.sigmoid(rate * (data.adoption_year - midpoint))
    pm.Normal("adoption_obs", mu=share, sigma=noise, observed=data.adoption_share, dims="adoption_point")


def add_ai_share_of(data: FitData, priors: FitSettings) -> None:
    """The AI-written share of new web text (`forecast.model.ai_share`), names prefixed `ai_`."""
    if data.ai_share is not None:
        add_ai_share_block(data.ai_share, prefix=AI_SHARE_PREFIX)


def add_supply_of(data: FitData, priors: FitSettings) -> None:
    """What compute costs (`forecast.model.supply`), names prefixed `supply_` (its priors are that module's)."""
    if data.supply is not None:
        add_supply_block(data.supply)


AI_SHARE_PREFIX = "ai_"

#: Scalar parameters only a record-process fit has (`fit.frontier.likelihood: record`; growth-form ones only with
#: that form).
RECORD_PARAMETERS = ("dataset_record_scale", "dataset_growth_before", "dataset_changepoint", "dataset_slope_walk_sd")

# Scalar parameters of the posterior, for reports (diagnostics cover every free variable).
SCALAR_PARAMETERS = (
    "dataset_level",
    "dataset_growth",
    "dataset_noise_sd",
    "dataset_shortfall_sd",
    "dataset_secondary_sd",
    *RECORD_PARAMETERS,
    "compute_level",
    "compute_growth",
    "compute_noise_sd",
    "compute_shortfall_sd",
    "compute_estimate_sd",
    "adoption_midpoint",
    "adoption_rate",
    "adoption_ceiling",
    "adoption_noise_sd",
    "ai_c_max",
    "ai_k",
    "ai_t0",
    *supply_parameters(),
)
