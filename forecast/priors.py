"""The one prior type: a cited interval ("95% in [2, 5]") and how it becomes distribution parameters and draws.

Every prior in this project is stated the way its source states it: a distribution family, a central interval
[low, high] with the probability mass (credibility) it holds, and the source the numbers come from. `Prior` is
that statement; the scenario config, the scenario switches and the forward draws all use it, so the YAML,
`data/stock_priors.csv` and the projections agree on what "lognormal, 95% [0.1, 0.4]" means.

Keyed draws use a standard-normal (or uniform) variate per named parameter from a stream keyed by the run seed and
the parameter's name: scenarios that share a prior share its draws (common random numbers), so differences
between scenarios are not Monte Carlo noise.

`NormalPrior` is the other shape a prior takes here: the fit's priors, stated directly as the mean and sd the model
uses (the config's `fit` section is what `forecast.model.frontier` reads, with no conversion in between).
"""

from __future__ import annotations

from statistics import NormalDist  # the standard-normal quantile without importing scipy.stats (~1 s)
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from forecast.errors import InputError
from forecast.hashing import sha256_text

Family = Literal["lognormal", "normal", "reflected_lognormal", "uniform", "loguniform"]

#: Credibility of an interval when its source states none: the 95% most sources (and squigglepy's `sq.to`) use.
DEFAULT_MASS = 0.95

#: Families whose low and high are the support, not a central interval (their mass must stay at the default).
SUPPORT_FAMILIES = ("uniform", "loguniform")
#: Families defined on positive values only.
POSITIVE_FAMILIES = ("lognormal", "loguniform")

# Numbers in a prior must be real numbers: strict (no "5" strings, no booleans) and finite.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class Prior(BaseModel):
    """A prior stated as a cited interval: family, [low, high], the mass it holds and where the numbers come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Family = Field(
        "lognormal",
        description=(
            "Distribution family. lognormal: central `mass` of a lognormal is [low, high] (squigglepy "
            "`sq.to`); normal: same with a normal; reflected_lognormal: value = ceiling − LogNormal whose "
            "central `mass` is [ceiling − high, ceiling − low] ([C2] bytes per token); uniform: flat on "
            "[low, high]; loguniform: flat in log on [low, high]."
        ),
    )
    low: Number = Field(description="Lower end of the interval (in the quantity's own unit).")
    high: Number = Field(description="Upper end of the interval; must be greater than `low`.")
    mass: Number = Field(
        DEFAULT_MASS,
        gt=0,
        lt=1,
        description=(
            "Central probability mass (credibility) of [low, high], e.g. 0.95 or 0.9. Not used by uniform and "
            "loguniform, whose low and high are the support: leave it at 0.95."
        ),
    )
    ceiling: Number | None = Field(
        None, description="Hard upper limit; required for, and only used by, reflected_lognormal."
    )
    source: str = Field(
        "", description="Citation for the interval (source key and section, or URL); empty = none given."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _no_citation(cls, value: object) -> object:
        """An empty `source:` in YAML reads as null: it means no citation, as an omitted key does."""
        return "" if value is None else value

    @model_validator(mode="after")
    def _check(self) -> Prior:
        """Reject intervals that cannot define the stated distribution."""
        if self.low >= self.high:
            raise ValueError(f"interval low must be below high (got low={self.low:g}, high={self.high:g})")
        if self.distribution in POSITIVE_FAMILIES and self.low <= 0:
            raise ValueError(f"a {self.distribution} interval needs low > 0 (got low={self.low:g})")
        if self.distribution in SUPPORT_FAMILIES and self.mass != DEFAULT_MASS:
            raise ValueError(f"mass does not apply to {self.distribution}: low and high are the support")
        if self.distribution == "reflected_lognormal":
            if self.ceiling is None:
                raise ValueError("a reflected_lognormal interval needs a ceiling")
            if self.high >= self.ceiling:
                raise ValueError(
                    f"a reflected_lognormal interval needs high < ceiling (got high={self.high:g}, "
                    f"ceiling={self.ceiling:g})"
                )
        elif self.ceiling is not None:
            raise ValueError(f"ceiling is only used by reflected_lognormal (distribution is {self.distribution})")
        return self

    @property
    def z(self) -> float:
        """Standard-normal quantile of the interval's upper end (1.96 for 95%)."""
        return NormalDist().inv_cdf(0.5 + self.mass / 2)

    @property
    def uses_uniform(self) -> bool:
        """Whether draws map uniform variates (support families) rather than standard-normal ones."""
        return self.distribution in SUPPORT_FAMILIES

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
        """Median of the distribution (exact for every family)."""
        return float(self.from_standard(np.array(0.5 if self.uses_uniform else 0.0)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws from a generator the caller owns (the keyed `draw` is the usual way)."""
        if n < 1:
            raise InputError(f"number of draws must be positive, got {n}")
        return self._from_rng(n, rng)

    def draw(self, shape: int | tuple[int, ...], seed: int, name: str) -> np.ndarray:
        """Draws with a stream keyed by (seed, name): the same name and seed give the same draws."""
        return self._from_rng(shape, np.random.default_rng(stream_seed(seed, name)))

    def _from_rng(self, shape: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        u = rng.uniform(size=shape) if self.uses_uniform else rng.standard_normal(size=shape)
        return self.from_standard(u)


class NormalPrior(BaseModel):
    """A normal prior given by the mean and sd the model uses (the fit's level and growth priors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: Number = Field(description="Mean.")
    sd: Number = Field(gt=0, description="Standard deviation (> 0).")


def stream_seed(seed: int, name: str) -> np.random.SeedSequence:
    """A seed sequence derived from the run seed and a stream name (stable across Python sessions)."""
    digest = int.from_bytes(bytes.fromhex(sha256_text(name))[:8], "little")
    return np.random.SeedSequence([seed, digest])
