"""Turn a cited interval ("95% in [2, 5]") into distribution parameters and draws.

Every prior in this project is stated the way its source states it: a central interval with a probability mass.
This module is the one place where such an interval becomes numbers, so that the YAML, `data/stock_priors.csv`
and the model all agree on what "lognormal, 95% [0.1, 0.4]" means.

Draws use a standard-normal (or uniform) variate per named parameter from a stream keyed by the parameter's
name: scenarios that share a prior share its draws (common random numbers), so differences between scenarios
are not Monte Carlo noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from statistics import NormalDist  # the standard-normal quantile without importing scipy.stats (~1 s)
from typing import Literal

import numpy as np

Distribution = Literal["lognormal", "normal", "reflected_lognormal", "uniform", "loguniform"]


@dataclass(frozen=True)
class PriorSpec:
    """A distribution given by a central interval [low, high] holding `mass` of the probability."""

    distribution: Distribution
    low: float
    high: float
    mass: float = 0.95
    ceiling: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"interval low {self.low} must be below high {self.high}")
        if self.distribution in ("lognormal", "loguniform") and self.low <= 0:
            raise ValueError(f"{self.distribution} needs a positive low bound, got {self.low}")
        if self.distribution == "reflected_lognormal" and (self.ceiling is None or self.high >= self.ceiling):
            raise ValueError("reflected_lognormal needs a ceiling above high")
        if not 0 < self.mass < 1:
            raise ValueError(f"mass must lie in (0, 1), got {self.mass}")

    @property
    def z(self) -> float:
        """Standard-normal quantile of the interval's upper end (1.96 for 95%)."""
        return NormalDist().inv_cdf(0.5 + self.mass / 2)

    def normal_params(self) -> tuple[float, float]:
        """Mean and sd of the underlying normal (of the log for lognormal types)."""
        if self.distribution == "normal":
            return (self.low + self.high) / 2, (self.high - self.low) / (2 * self.z)
        if self.distribution == "lognormal":
            lo, hi = np.log(self.low), np.log(self.high)
            return float((lo + hi) / 2), float((hi - lo) / (2 * self.z))
        if self.distribution == "reflected_lognormal":
            assert self.ceiling is not None
            lo, hi = np.log(self.ceiling - self.high), np.log(self.ceiling - self.low)
            return float((lo + hi) / 2), float((hi - lo) / (2 * self.z))
        raise ValueError(f"{self.distribution} has no normal parameterisation")

    def from_standard(self, u: np.ndarray) -> np.ndarray:
        """Map standard variates to this distribution (normal z for normal types, uniform u otherwise)."""
        if self.distribution == "uniform":
            return self.low + (self.high - self.low) * u
        if self.distribution == "loguniform":
            return np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * u)
        mu, sigma = self.normal_params()
        x = mu + sigma * u
        if self.distribution == "normal":
            return x
        if self.distribution == "lognormal":
            return np.exp(x)
        assert self.ceiling is not None
        return self.ceiling - np.exp(x)

    def median(self) -> float:
        """Median of the distribution (exact for every supported type)."""
        return float(self.from_standard(np.array(0.5 if self._uses_uniform else 0.0)))

    @property
    def _uses_uniform(self) -> bool:
        return self.distribution in ("uniform", "loguniform")

    def draw(self, shape: int | tuple[int, ...], seed: int, name: str) -> np.ndarray:
        """Draws with a stream keyed by (seed, name): the same name and seed give the same draws."""
        rng = np.random.default_rng(stream_seed(seed, name))
        u = rng.uniform(size=shape) if self._uses_uniform else rng.standard_normal(size=shape)
        return self.from_standard(u)


def stream_seed(seed: int, name: str) -> np.random.SeedSequence:
    """A seed sequence derived from the run seed and a stream name (stable across Python sessions)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.SeedSequence([seed, digest])
