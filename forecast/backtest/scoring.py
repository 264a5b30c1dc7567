"""Scores of probabilistic forecasts against observations: interval coverage, CRPS and the log score.

The scores are numpy functions with no model code; `point_scores` and `summarize` tabulate them per observed
point and per cut-off for the backtest (`forecast.backtest`), which applies them on the **log10 scale**
(orders of magnitude, OOM): dataset sizes span several orders of magnitude, so an error of a factor of 2 should
cost the same at 1e11 and at 1e13 tokens. CRPS is then in OOM and the log score is a log density per OOM.

- `interval_coverage`: share of observations inside [lower, upper], both ends included (a predictive with an
  atom, such as "no new record since the cut-off", has quantiles equal to the atom, and an observation on the
  atom is inside).
- `crps_from_samples`: the continuous ranked probability score of the empirical distribution of the samples,
  in its energy form CRPS(F, y) = E|X − y| − ½ E|X − X'| (Gneiting & Raftery 2007, eq. 21), with X, X' drawn
  independently from the samples (pairs i = j included, i.e. the CRPS of the empirical distribution itself,
  not the "fair" n(n−1) estimator). E|X − X'| is computed in O(n log n) from the sorted samples:
  E|X − X'| = 2/n² · Σ_i (2i − n − 1) x_(i), i = 1..n. Lower is better; 0 for a point mass on y, and
  |x − y| for a point mass on x.
- `crps_normal`: the closed form for a normal predictive (Gneiting et al. 2005), for tests and reference.
- `log_score_from_samples`: log predictive density at y of a Gaussian kernel density estimate of the samples
  (natural log, per unit of the samples' scale). Higher is better. The bandwidth is Silverman's rule of thumb,
  floored at `min_bandwidth`, so that a predictive with an atom (or a point mass) still has a finite density;
  the floor is the resolution of the observations (`LOG_SCORE_MIN_BANDWIDTH_OOM`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import ndtr

# Silverman's rule of thumb for a Gaussian kernel: h = 0.9 · min(sd, IQR / 1.34) · n^(−1/5)
# (Silverman 1986, "Density Estimation for Statistics and Data Analysis", eq. 3.31).
SILVERMAN_FACTOR = 0.9
IQR_TO_SD = 1.34

#: Quantiles of the predictive written to frontier_forecast.csv (and the bands scored: 80% = q10–q90, 90% = q05–q95).
QUANTILES: dict[str, float] = {"q05": 0.05, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q95": 0.95}
BANDS: dict[str, tuple[str, str]] = {"coverage80": ("q10", "q90"), "coverage90": ("q05", "q95")}
#: The scores of a set of points, in the order they are reported.
SCORE_KEYS = ("coverage80", "coverage90", "crps", "log_score")

#: Smallest KDE bandwidth of the log score, OOM. Token counts are reported to one or two significant figures
#: ("15T" vs "15.6T" differ by 0.017 OOM), so densities sharper than ~0.02 OOM are not resolved by the data.
LOG_SCORE_MIN_BANDWIDTH_OOM = 0.02


def _samples_and_observed(samples: ArrayLike, observed: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Samples along the last axis (shape (..., n)), observations broadcast to the leading shape (...)."""
    x = np.asarray(samples, dtype=float)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError("samples must have at least one value along the last axis")
    y = np.broadcast_to(np.asarray(observed, dtype=float), x.shape[:-1])
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("samples and observations must be finite")
    return x, y


def _scalar_or_array(value: np.ndarray) -> float | np.ndarray:
    return float(value) if value.ndim == 0 else value


def interval_coverage(lower: ArrayLike, upper: ArrayLike, observed: ArrayLike) -> float:
    """Share of observations with lower <= observed <= upper (NaN when there are none)."""
    lo, hi, y = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (lower, upper, observed)))
    if np.any(lo > hi):
        raise ValueError("interval_coverage: a lower bound is above its upper bound")
    if y.size == 0:
        return float("nan")
    return float(np.mean((y >= lo) & (y <= hi)))


def crps_from_samples(samples: ArrayLike, observed: ArrayLike) -> float | np.ndarray:
    """CRPS of the empirical distribution of `samples` (last axis) at `observed`; energy form, O(n log n)."""
    x, y = _samples_and_observed(samples, observed)
    n = x.shape[-1]
    sorted_x = np.sort(x, axis=-1)
    weights = 2.0 * np.arange(1, n + 1) - n - 1  # (2i − n − 1), i = 1..n
    mean_pair_distance = 2.0 * (sorted_x @ weights) / n**2  # E|X − X'|
    mean_error = np.mean(np.abs(x - y[..., None]), axis=-1)  # E|X − y|
    return _scalar_or_array(mean_error - 0.5 * mean_pair_distance)


def crps_normal(mu: ArrayLike, sigma: ArrayLike, observed: ArrayLike) -> float | np.ndarray:
    """Closed-form CRPS of Normal(mu, sigma) at `observed`: σ [z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ."""
    m, s, y = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mu, sigma, observed)))
    if np.any(s <= 0):
        raise ValueError("crps_normal: sigma must be positive")
    z = (y - m) / s
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    return _scalar_or_array(s * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi)))


def silverman_bandwidth(samples: ArrayLike) -> float | np.ndarray:
    """Silverman's rule-of-thumb bandwidth of each sample set (last axis); 0 for a point mass."""
    x = np.asarray(samples, dtype=float)
    n = x.shape[-1]
    sd = np.std(x, axis=-1, ddof=1) if n > 1 else np.zeros(x.shape[:-1])
    q75, q25 = np.percentile(x, [75, 25], axis=-1)
    iqr_sd = (q75 - q25) / IQR_TO_SD
    spread = np.where(iqr_sd > 0, np.minimum(sd, iqr_sd), sd)
    return _scalar_or_array(np.asarray(SILVERMAN_FACTOR * spread * n ** (-0.2)))


def log_score_from_samples(
    samples: ArrayLike, observed: ArrayLike, min_bandwidth: float, bandwidth: float | None = None
) -> float | np.ndarray:
    """Log density at `observed` of a Gaussian KDE of `samples` (last axis); natural log, higher is better.

    Bandwidth: `bandwidth` if given, else Silverman's rule; never below `min_bandwidth` (> 0).
    """
    if not min_bandwidth > 0:
        raise ValueError("log_score_from_samples: min_bandwidth must be positive")
    x, y = _samples_and_observed(samples, observed)
    n = x.shape[-1]
    h = np.asarray(silverman_bandwidth(x) if bandwidth is None else bandwidth, dtype=float)
    h = np.maximum(h, min_bandwidth)[..., None]
    z = (y[..., None] - x) / h
    log_kernel = -0.5 * z**2
    peak = np.max(log_kernel, axis=-1, keepdims=True)
    log_sum = peak[..., 0] + np.log(np.sum(np.exp(log_kernel - peak), axis=-1))
    return _scalar_or_array(log_sum - np.log(n) - np.log(h[..., 0]) - 0.5 * math.log(2.0 * math.pi))


# ----------------------------------------------------------------------------------------------------
# Tabulated per observed point and per set of points
# ----------------------------------------------------------------------------------------------------


def point_scores(paths: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """Per observed point: predictive quantiles (log10), inside80/90, above/below the 80% band, CRPS, log score."""
    y = np.asarray(observed, dtype=float)
    samples = np.asarray(paths, dtype=float).T  # (points, draws)
    out = pd.DataFrame(index=np.arange(y.size))
    if y.size == 0:
        for column in (*QUANTILES, "inside80", "inside90", "above80", "below80", "crps", "log_score"):
            out[column] = pd.Series(dtype=float)
        return out
    q = np.quantile(samples, list(QUANTILES.values()), axis=1)
    for name, row in zip(QUANTILES, q, strict=True):
        out[name] = row
    for key, (lower, upper) in BANDS.items():
        out[key.replace("coverage", "inside")] = (y >= out[lower]) & (y <= out[upper])
    out["above80"] = y > out["q90"]
    out["below80"] = y < out["q10"]
    out["crps"] = np.atleast_1d(crps_from_samples(samples, y))
    out["log_score"] = np.atleast_1d(log_score_from_samples(samples, y, LOG_SCORE_MIN_BANDWIDTH_OOM))
    return out


def summarize(points: pd.DataFrame) -> dict[str, Any]:
    """n_observed, coverage80, coverage90, crps, log_score (None when there are no points), misses by side."""
    n = len(points)
    if n == 0:
        return {"n_observed": 0, **dict.fromkeys(SCORE_KEYS), "n_above80": 0, "n_below80": 0}
    return {
        "n_observed": n,
        "coverage80": interval_coverage(points["q10"], points["q90"], points["y"]),
        "coverage90": interval_coverage(points["q05"], points["q95"], points["y"]),
        "crps": float(points["crps"].mean()),
        "log_score": float(points["log_score"].mean()),
        "n_above80": int(points["above80"].sum()),
        "n_below80": int(points["below80"].sum()),
    }
