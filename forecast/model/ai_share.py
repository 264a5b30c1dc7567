"""AI-generated share of new web text: a logistic rise fitted to detector measurements (PyMC).

Why: text added to the web after ChatGPT (released 2022-11-30) is partly machine-written, so only a share of
the new stock counts as *human* text. This module fits that share c(t) to the measured series in
`web_growth.csv` and turns it into a per-draw human share 1 − discount·c(t) (METHOD_NOTES D.1, D.8).

Model (all measurements as fractions 0..1):

- true share of series s: c_s(t) = p_s / (1 + exp(−k (t − t0))), plateau p_s = logit⁻¹(logit(c_max) + b_s);
  the series share the timing (t0, k: everyone reacted to the same release) but not the plateau.
- b_s ~ Normal(0, 0.5) is a series-level bias (a random effect): the Graphite "articles" series sample Common
  Crawl pages with article schema (possibly biased upward because paywalled human sites block Common Crawl,
  METHOD_NOTES D.1), while Dolezal et al. sample new websites from the Internet Archive, and the series use
  different detectors. c_max is therefore the plateau of a *typical* population of new web text, and its
  posterior keeps the between-population spread (articles ~0.5 vs websites ~0.35) instead of averaging it
  away, as a sum-to-zero bias would. With a single series there is nothing to average over: b = 0 and c_max
  is that series' plateau.
- detector error: measured = c_s (1 − FN) + (1 − c_s) FP_s, with one false-positive rate per series (each
  series used a different detector: Surfer; Pangram/GPTZero/Copyleaks; Pangram v3) and a shared FN.
- observation noise on the probability scale, Normal(measured, σ·f_rel): the logit scale cannot hold the
  Dolezal 0% point; f_rel inflates the noise of secondary (S) and weaker figures.

Default series (`DEFAULT_SERIES`): `ai_share_new_web_articles`, `ai_share_new_web_articles_update` and
`ai_share_new_websites`, because they are repeated measurements of the same kind of population (new general
web content) over time, which is what identifies the timing and the plateau. Single-date, venue-specific
figures (search results, Wikipedia, papers) and "any AI text" figures (Ahrefs 74%) are context only;
Europol's "90% by 2026" (`ai_share_projection`) is excluded because it is a projection, not a measurement.
The Graphite Nov 2024 value is a threshold (">50%"; 50.3% in a secondary report) and enters as 0.50.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from forecast.errors import InputError

if TYPE_CHECKING:
    import pymc as pm

# PyMC is imported inside the functions that build models: projecting from a cached posterior never needs it.

DEFAULT_SERIES: tuple[str, ...] = (
    "ai_share_new_web_articles",
    "ai_share_new_web_articles_update",
    "ai_share_new_websites",
)

# --- Priors (METHOD_NOTES D.1, D.8) -------------------------------------------------------------------------
# Plateau c_max ~ Beta with mean 0.475 (the centre of D.8's suggested U(0.35, 0.6), Graphite ~0.5 plateau and
# Dolezal ~0.35) and sd 0.12, i.e. roughly twice the sd of U(0.35, 0.6) (0.072): "wider" as asked, still
# keeping most mass in 0.25–0.7.
C_MAX_PRIOR_MEAN = 0.475
C_MAX_PRIOR_SD = 0.12
# Midpoint t0 ~ Normal(2023.5, 1): halfway between ChatGPT's release (2022.9) and the Graphite plateau reached
# around May 2024 ("share roughly flat since ~May 2024", Graphite, METHOD_NOTES D.1).
T0_PRIOR_MEAN = 2023.5
T0_PRIOR_SD = 1.0
# Steepness k ~ LogNormal(log 3, 0.75) per year: a logistic goes from 10% to 90% of its plateau in
# 2·ln 9 / k ≈ 4.4 / k years; Graphite's rise from ~0 (end 2022) to most of the plateau (Nov 2023) took ~1–1.5
# years, k ≈ 3–4.4. The log-sd 0.75 gives a 95% prior range of about 0.7–13 per year (wide).
K_PRIOR_MEDIAN = 3.0
K_PRIOR_LOG_SD = 0.75
# False positives FP ~ Beta(2, 48): mean 0.04, sd 0.027. Anchors: Graphite's Surfer detector FP 4.2% and the
# Graphite 2020 baseline of ~5% AI "articles" before any LLM (METHOD_NOTES D.1).
FP_PRIOR_ALPHA = 2.0
FP_PRIOR_BETA = 48.0
# False negatives FN ~ Beta(1, 99): mean 0.01, mostly below 0.03. Anchor: Graphite FN 0.6% (METHOD_NOTES D.1),
# rounded up because the other series' detectors have no published FN.
FN_PRIOR_ALPHA = 1.0
FN_PRIOR_BETA = 99.0
# Series bias on the logit of the plateau, sd 0.5: one sd moves a 0.45 plateau to 0.34 or 0.57, which spans
# the observed articles (~0.5, Graphite) vs new websites (~0.35, Dolezal) gap (METHOD_NOTES D.1).
SERIES_BIAS_SD = 0.5
# Observation noise sd (probability scale) ~ HalfNormal(0.05): the Graphite update and the original study
# differ by 3 points at Nov 2023 (35.9% vs 39%) and the plateau wobbles 50–55%; sampling error alone is ~1.6
# points (≈1000 URLs per month at p = 0.5), so detector and method differences dominate.
NOISE_SD_SCALE = 0.05
# Noise multiplier by reliability tag (METHOD_NOTES 0.2): secondary reports (S) are quoted, rounded or
# unverifiable, so they get twice the noise; derived (D) and unverified (U) figures more still.
RELIABILITY_NOISE_FACTOR: dict[str, float] = {"P": 1.0, "A": 1.0, "D": 1.5, "S": 2.0, "U": 3.0}

PERCENT = 100.0
SHARE_PARAMS: tuple[str, ...] = ("c_max", "k", "t0")


@dataclass(frozen=True, eq=False)
class AIShareData:
    """Measured AI shares (arrays of length n): decimal years, fractions 0..1, series, reliability tags."""

    t: np.ndarray
    share: np.ndarray
    series: np.ndarray
    reliability: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.t)
        if n == 0:
            raise InputError("AI-share data are empty")
        if not len(self.share) == len(self.series) == len(self.reliability) == n:
            raise InputError("AI-share data: t, share, series and reliability must have the same length")
        if not (np.all(np.isfinite(self.t)) and np.all(np.isfinite(self.share))):
            raise InputError("AI-share data: t and share must be finite")
        if np.any((self.share < 0) | (self.share > 1)):
            raise InputError("AI-share data: share must be a fraction in [0, 1]")
        unknown = sorted(set(self.reliability) - set(RELIABILITY_NOISE_FACTOR))
        if unknown:
            raise InputError(f"AI-share data: unknown reliability tags {unknown}")

    @property
    def noise_factor(self) -> np.ndarray:
        """Per-point noise multiplier from the reliability tag."""
        return np.array([RELIABILITY_NOISE_FACTOR[r] for r in self.reliability], dtype=float)


def _decimal_year(dates: pd.Series) -> np.ndarray:
    """Year + (day of year − 1) / days in year; used only when the frame has no `decimal_year` column."""
    dates = pd.to_datetime(dates)
    days = np.where(dates.dt.is_leap_year, 366.0, 365.0)
    return (dates.dt.year + (dates.dt.day_of_year - 1) / days).to_numpy(dtype=float)


def _point_value(rows: pd.DataFrame) -> np.ndarray:
    """The value column, or the midpoint of value_low/value_high where only a range is given."""
    value = pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float)
    if {"value_low", "value_high"} <= set(rows.columns):
        low = pd.to_numeric(rows["value_low"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(rows["value_high"], errors="coerce").to_numpy(dtype=float)
        value = np.where(np.isnan(value), (low + high) / 2, value)
    return value


def ai_share_data_from_frame(df: pd.DataFrame, series: Sequence[str] = DEFAULT_SERIES) -> AIShareData:
    """Select the measurement series from a `web_growth` frame and convert percent to fractions."""
    required = {"series", "value", "unit", "reliability"}
    missing = sorted(required - set(df.columns))
    if missing:
        raise InputError(f"web_growth frame lacks columns {missing}")
    if "decimal_year" not in df.columns and "date" not in df.columns:
        raise InputError("web_growth frame needs a 'decimal_year' or 'date' column")
    absent = sorted(set(series) - set(df["series"]))
    if absent:
        raise InputError(f"web_growth frame has no rows for series {absent}")
    rows = df[df["series"].isin(list(series))]
    t = rows["decimal_year"].to_numpy(dtype=float) if "decimal_year" in rows.columns else _decimal_year(rows["date"])
    value = _point_value(rows)
    if np.any(np.isnan(value)):
        raise InputError("web_growth frame: an AI-share row has neither a value nor a low/high range")
    is_percent = rows["unit"].astype(str).str.startswith("%").to_numpy()
    share = np.where(is_percent, value / PERCENT, value)
    return AIShareData(
        t=t,
        share=share,
        series=rows["series"].astype(str).to_numpy(),
        # Mixed tags such as "P/S" count as their first (stronger) tag.
        reliability=rows["reliability"].astype(str).str.strip().str[0].to_numpy(),
    )


def _beta_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """Beta(alpha, beta) with the given mean and sd (method of moments)."""
    concentration = mean * (1 - mean) / sd**2 - 1
    return mean * concentration, (1 - mean) * concentration


def add_ai_share_block(data: AIShareData, prefix: str = "") -> None:
    """Add the AI-share variables and likelihood to the model in context (names prefixed with `prefix`).

    `forecast.model.frontier` adds this block to the main fit with prefix "ai_"; `build_model` wraps it alone.
    """
    import pymc as pm

    model = pm.modelcontext(None)
    codes, series_index = np.unique(data.series, return_inverse=True)
    series_dim, point_dim = f"{prefix}series", f"{prefix}point" if prefix else "obs"
    model.add_coords({series_dim: codes, point_dim: np.arange(len(data.t))})
    c_max_alpha, c_max_beta = _beta_from_mean_sd(C_MAX_PRIOR_MEAN, C_MAX_PRIOR_SD)
    c_max = pm.Beta(f"{prefix}c_max", alpha=c_max_alpha, beta=c_max_beta)
    t0 = pm.Normal(f"{prefix}t0", mu=T0_PRIOR_MEAN, sigma=T0_PRIOR_SD)
    k = pm.LogNormal(f"{prefix}k", mu=np.log(K_PRIOR_MEDIAN), sigma=K_PRIOR_LOG_SD)
    fp = pm.Beta(f"{prefix}fp", alpha=FP_PRIOR_ALPHA, beta=FP_PRIOR_BETA, dims=series_dim)
    fn = pm.Beta(f"{prefix}fn", alpha=FN_PRIOR_ALPHA, beta=FN_PRIOR_BETA)
    noise_sd = pm.HalfNormal(f"{prefix}noise_sd", sigma=NOISE_SD_SCALE)
    logit_plateau = pm.math.logit(c_max)
    if len(codes) > 1:
        logit_plateau = logit_plateau + pm.Normal(f"{prefix}bias", mu=0.0, sigma=SERIES_BIAS_SD, dims=series_dim)
    else:
        logit_plateau = logit_plateau + np.zeros(1)
    plateau = pm.Deterministic(f"{prefix}series_plateau", pm.math.invlogit(logit_plateau), dims=series_dim)
    true_share = plateau[series_index] * pm.math.invlogit(k * (data.t - t0))
    measured = true_share * (1 - fn) + (1 - true_share) * fp[series_index]
    pm.Normal(f"{prefix}share", mu=measured, sigma=noise_sd * data.noise_factor, observed=data.share, dims=point_dim)


def build_model(data: AIShareData) -> pm.Model:
    """The PyMC model described in the module docstring, on its own."""
    import pymc as pm

    with pm.Model() as model:
        add_ai_share_block(data)
    return model


def fit_ai_share(
    data: AIShareData,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    target_accept: float = 0.95,
) -> xr.DataTree:
    """NUTS posterior of the AI-share model (a DataTree with posterior and sample_stats groups)."""
    import pymc as pm

    with build_model(data):
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=seed,
            target_accept=target_accept,
            progressbar=False,
        )


def divergences(idata: xr.DataTree) -> int:
    """Number of divergent transitions after tuning."""
    return int(idata["sample_stats"]["diverging"].sum())


def share_params(idata: xr.DataTree) -> dict[str, np.ndarray]:
    """c_max, k and t0 as flat arrays over chain × draw (the per-draw inputs of `ai_share`)."""
    posterior = idata["posterior"]
    return {name: posterior[name].to_numpy().reshape(-1) for name in SHARE_PARAMS}


def ai_share(t: np.ndarray, c_max: np.ndarray, k: np.ndarray, t0: np.ndarray) -> np.ndarray:
    """True AI share c(t) per draw, shape (n_draws, T)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    c_max, k, t0 = (np.atleast_1d(np.asarray(p, dtype=float))[:, None] for p in (c_max, k, t0))
    # c_max / (1 + exp(−z)) written with logaddexp to avoid overflow far before t0.
    return c_max * np.exp(-np.logaddexp(0.0, -k * (t[None, :] - t0)))


def human_share(
    t: np.ndarray,
    c_max: np.ndarray,
    k: np.ndarray,
    t0: np.ndarray,
    discount: float = 1.0,
    from_year: float | None = None,
) -> np.ndarray:
    """Human share 1 − discount·c(t), shape (n_draws, T); 1 before `from_year` (older text counts fully).

    `discount` is the confidence in the detector measurements: 0 ignores them (all new text human), 1 takes
    the fitted share at face value.
    """
    if not 0.0 <= discount <= 1.0:
        raise InputError(f"discount must lie in [0, 1], got {discount}")
    t = np.atleast_1d(np.asarray(t, dtype=float))
    share = 1.0 - discount * ai_share(t, c_max, k, t0)
    if from_year is not None:
        share = np.where(t[None, :] < from_year, 1.0, share)
    return share


def simulate(
    t: np.ndarray,
    c_max: float,
    k: float,
    t0: float,
    fp: float,
    fn: float,
    noise_sd: float,
    rng: np.random.Generator,
    series: str = "simulated",
) -> AIShareData:
    """Measurements from a known logistic through the detector-error model (one series, tag P), for tests.

    Values are clipped to [0, 1] like a reported percentage would be.
    """
    t = np.asarray(t, dtype=float)
    true_share = ai_share(t, np.array([c_max]), np.array([k]), np.array([t0]))[0]
    measured = true_share * (1 - fn) + (1 - true_share) * fp + rng.normal(0.0, noise_sd, size=t.shape)
    return AIShareData(
        t=t,
        share=np.clip(measured, 0.0, 1.0),
        series=np.full(t.shape, series),
        reliability=np.full(t.shape, "P"),
    )
