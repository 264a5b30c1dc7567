"""Settings and draws for the extensions: AI-share discount, synthetic data, non-public stocks.

Why: each extension departs from Villalobos et al. 2024 through a handful of uncertain numbers. Stating them
as validated settings with their citations keeps every scenario's assumptions explicit. The lead plugs these
into a scenario as the fields `human_share`, `synthetic` and `extra_stocks`.

Validators raise `ValueError`, so a bad setting surfaces as a pydantic `ValidationError` carrying its key
path; the scenario loader (forecast.config) turns that into a one-line `ConfigError`.
Source keys ([P2], [U], ...) are those of METHOD_NOTES section 0.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from forecast.errors import InputError
from forecast.priors import SUPPORT_FAMILIES, Prior

# --- Human share --------------------------------------------------------------------------------
# ChatGPT's release, 2022-11-30 = 2022 + 333/365 ≈ 2022.91: text added before it counts fully as human.
CHATGPT_RELEASE_YEAR = 2022.9

# --- Synthetic data --------------------------------------------------------------------------------
# "OpenAI alone reportedly generates 100B words per day" ([P2] §3.1, citing Griffin 2024): 1e11 × 365 =
# 3.65e13 words/yr; at 0.8 words per token ([P2] App. E) ≈ 4.6e13 tokens/yr.
OPENAI_WORDS_PER_DAY = 1e11
DAYS_PER_YEAR = 365.0
WORDS_PER_TOKEN = 0.8
SYNTHETIC_TOKENS_PER_YEAR_ANCHOR = OPENAI_WORDS_PER_DAY * DAYS_PER_YEAR / WORDS_PER_TOKEN
# [U] judgement: a factor 10 either side of the anchor as the 95% interval. Up: other labs and growth since
# Feb 2024; down: only part of generated text is fit or available for training.
SYNTHETIC_RATE_SPREAD = 10.0
# [U] judgement for the yearly growth factor of generation: 95% between flat (1×) and the 4–5×/yr growth of
# frontier training compute (Epoch 2024, METHOD_NOTES D.6).
SYNTHETIC_GROWTH_LOW = 1.0
SYNTHETIC_GROWTH_HIGH = 4.5
# Anchor date of the 100B words/day figure (Feb 2024, [P2] §3.1).
SYNTHETIC_START_YEAR = 2024.0
# Value per synthetic token v ~ LogUniform(0.01, 0.1) (METHOD_NOTES D.3.5, D.8); megadocs arXiv 2603.18534
# implies 0.026 (rephrase) to 0.044 (megadocs), inside the range.
VALUE_PER_TOKEN_LOW = 0.01
VALUE_PER_TOKEN_HIGH = 0.1
# Minimum real share r* ~ U(0.1, 0.62): 10% real data kept → minor degradation (Shumailov et al. 2024, Nature
# 631:755); golden-ratio optimum 1/φ ≈ 0.618 (He et al. 2025, arXiv 2502.18049).
MIN_REAL_SHARE_LOW = 0.1
MIN_REAL_SHARE_HIGH = 0.62


def _check_fraction_interval(interval: Prior, name: str) -> Prior:
    """Fractions need bounded support inside (0, 1]: a uniform or loguniform interval."""
    if interval.distribution not in SUPPORT_FAMILIES or not (interval.low > 0 and interval.high <= 1):
        raise ValueError(f"{name} must be a uniform or loguniform interval inside (0, 1]")
    return interval


class HumanShareSettings(BaseModel):
    """Discount new web text by its fitted AI-generated share (forecast.model.ai_share)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="apply the human-share discount to stock growth")
    discount: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="confidence in the AI detectors: 0 ignores the measured AI share, 1 takes it at face "
        "value (detector FP ~4%, Graphite; METHOD_NOTES D.1)",
    )
    from_year: float = Field(
        CHATGPT_RELEASE_YEAR,
        description="ChatGPT release (2022-11-30); text added before it counts fully as human",
    )


class SyntheticSettings(BaseModel):
    """Synthetic data as a partial substitute for human text, with a model-collapse guard (synthetic.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="let synthetic tokens extend the human stock")
    tokens_per_year: Prior = Field(
        Prior(
            distribution="lognormal",
            low=SYNTHETIC_TOKENS_PER_YEAR_ANCHOR / SYNTHETIC_RATE_SPREAD,
            high=SYNTHETIC_TOKENS_PER_YEAR_ANCHOR * SYNTHETIC_RATE_SPREAD,
            source="[P2] §3.1: OpenAI ~100B words/day ≈ 4.6e13 tokens/yr at 0.8 words/token (App. E); "
            "[U] judgement: 95% within a factor 10 of that anchor",
        ),
        description="raw synthetic tokens generated per year at start_year",
    )
    growth_per_year: Prior = Field(
        Prior(
            distribution="lognormal",
            low=SYNTHETIC_GROWTH_LOW,
            high=SYNTHETIC_GROWTH_HIGH,
            source="[U] judgement: between flat and frontier-compute growth 4-5x/yr (Epoch 2024, METHOD_NOTES D.6)",
        ),
        description="yearly growth factor of synthetic generation",
    )
    start_year: float = Field(SYNTHETIC_START_YEAR, description="date of the generation-rate anchor ([P2] §3.1)")
    value_per_token: Prior = Field(
        Prior(
            distribution="loguniform",
            low=VALUE_PER_TOKEN_LOW,
            high=VALUE_PER_TOKEN_HIGH,
            source="METHOD_NOTES D.3.5/D.8; megadocs arXiv 2603.18534 implies 0.026-0.044",
        ),
        description="value of a synthetic token in fresh-human-token equivalents (v)",
    )
    min_real_share: Prior = Field(
        Prior(
            distribution="uniform",
            low=MIN_REAL_SHARE_LOW,
            high=MIN_REAL_SHARE_HIGH,
            source="Shumailov et al. 2024 Nature 631:755 (10% real kept); He et al. 2025 arXiv 2502.18049 (0.618)",
        ),
        description="guard r*: minimum real share of a training set below which synthetic data stop helping",
    )

    @field_validator("value_per_token")
    @classmethod
    def _check_positive_value(cls, interval: Prior) -> Prior:
        if interval.distribution == "normal" or interval.low <= 0:
            raise ValueError("value_per_token must be positive: a lognormal, loguniform or uniform with low > 0")
        return interval

    @field_validator("min_real_share")
    @classmethod
    def _check_share(cls, interval: Prior) -> Prior:
        return _check_fraction_interval(interval, "min_real_share")


class ExtraStock(BaseModel):
    """A non-public or non-text stock: raw tokens times the fraction that could be used for training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="identifier, unique within the settings")
    tokens: Prior = Field(description="stock in text-token equivalents, with citation")
    access_fraction: Prior = Field(description="share that could be used for training ([U] judgement)")
    note: str = Field("", description="quality/relevance caveat")

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, interval: Prior) -> Prior:
        if interval.low <= 0:
            raise ValueError("token stocks must be positive")
        return interval

    @field_validator("access_fraction")
    @classmethod
    def _check_access(cls, interval: Prior) -> Prior:
        return _check_fraction_interval(interval, "access_fraction")


# Access fractions are [U] judgements (no source measures them); METHOD_NOTES D.7.4 only says private
# availability is "≪ 1" and legal barriers are high.
# Private messages and email: encrypted or private by law and by terms of service; only opt-in, enterprise or
# licensed slices are conceivable: 0.1%–5%.
PRIVATE_ACCESS = (0.001, 0.05)
# Deep web (content behind logins on platforms): partly licensable by the platform owners: 1%–20%.
DEEP_WEB_ACCESS = (0.01, 0.2)
# Images and video: much is public, but how much of their text-equivalent value a language model can use is
# unmeasured: 5%–50%.
MEDIA_ACCESS = (0.05, 0.5)
ACCESS_NOTE = "[U] judgement, no source measures access (METHOD_NOTES D.7.4)"


def _access(bounds: tuple[float, float]) -> Prior:
    return Prior(distribution="loguniform", low=bounds[0], high=bounds[1], source=ACCESS_NOTE)


def _default_stocks() -> list[ExtraStock]:
    """[P2] App. C–D and Cummins 2024 (METHOD_NOTES B.2, D.7): 95% lognormal intervals spanning both."""
    return [
        ExtraStock(
            name="instant_messages",
            tokens=Prior(
                distribution="lognormal",
                low=5e14,
                high=3e15,
                source="[P2] App. C.1 '>1 quadrillion' (165T/yr); Cummins 2024 650T stored",
            ),
            access_fraction=_access(PRIVATE_ACCESS),
            note="short, informal, private; privacy law and encryption",
        ),
        ExtraStock(
            name="email",
            tokens=Prior(
                distribution="lognormal",
                low=4e14,
                high=2e15,
                source="[P2] App. C.1 ~625T unique; Cummins 2024 1200T stored",
            ),
            access_fraction=_access(PRIVATE_ACCESS),
            note="much is spam, templates or duplicates; private",
        ),
        ExtraStock(
            name="deep_web",
            tokens=Prior(
                distribution="lognormal",
                low=1.4e14,
                high=3e15,
                source="[P2] App. C Table 2: platform-implied totals 140T-3000T, geometric mean 760T",
            ),
            access_fraction=_access(DEEP_WEB_ACCESS),
            note="social-media posts and comments; lower quality than the filtered web",
        ),
        ExtraStock(
            name="images",
            tokens=Prior(
                distribution="lognormal",
                low=3e13,
                high=3e15,
                source="[P2] App. D 300T at ~30 tokens/image; 3-300 tokens/image (METHOD_NOTES D.7.4)",
            ),
            access_fraction=_access(MEDIA_ACCESS),
            note="text-token equivalence is an assumption, not a measured learning value",
        ),
        ExtraStock(
            name="video",
            tokens=Prior(
                distribution="lognormal",
                low=2.25e14,
                high=8.1e15,
                source="[P2] App. D 1350T at 30 tokens/s; speech content <=5 tokens/s gives the low end",
            ),
            access_fraction=_access(MEDIA_ACCESS),
            note="30 tokens/s is an upper bound for speech; pixel-level value unknown",
        ),
    ]


class ExtraStocksSettings(BaseModel):
    """Non-public and multimodal stocks added to the public text stock ([P2] §3.3: ~1.5 years of delay)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="add the accessible part of these stocks to the public stock")
    stocks: list[ExtraStock] = Field(default_factory=_default_stocks, description="stocks to add")

    @field_validator("stocks")
    @classmethod
    def _unique_names(cls, stocks: list[ExtraStock]) -> list[ExtraStock]:
        names = [s.name for s in stocks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate stock names {duplicates}")
        return stocks


def extra_stock_draws(settings: ExtraStocksSettings, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Accessible tokens per draw (tokens × access fraction) for each stock; empty when disabled."""
    if not settings.enabled:
        return {}
    return {s.name: s.tokens.sample(n, rng) * s.access_fraction.sample(n, rng) for s in settings.stocks}


def _paired(with_: np.ndarray, without: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(with_, dtype=float), np.asarray(without, dtype=float)
    if a.shape != b.shape:
        raise InputError(f"exhaustion dates must be paired per draw: shapes {a.shape} and {b.shape}")
    return a, b


def years_bought(
    exhaustion_with: np.ndarray, exhaustion_without: np.ndarray, horizon: float | None = None
) -> np.ndarray:
    """Per-draw delay (with − without) of the exhaustion date; NaN marks a censored date in the inputs.

    The draws must be paired (same posterior draw, same paths). Without `horizon` the delay is NaN wherever
    either date is censored. With `horizon`, censored dates are set to it: a draw censored only with the extra
    stock gives a lower bound (horizon − without), and a draw censored in both gives 0, so summaries are
    conservative.
    """
    with_, without = _paired(exhaustion_with, exhaustion_without)
    if horizon is not None:
        with_, without = (
            np.where(np.isnan(with_), horizon, with_),
            np.where(np.isnan(without), horizon, without),
        )
    return with_ - without


def median_years_bought(exhaustion_with: np.ndarray, exhaustion_without: np.ndarray) -> float:
    """Difference of median dates, exact under censoring while fewer than half the draws are censored.

    Censored dates count as +inf (after every observed date), so a median is still exact when it falls among
    observed dates; otherwise the median is beyond the horizon and the result is NaN.
    """
    with_, without = _paired(exhaustion_with, exhaustion_without)
    medians = [np.median(np.where(np.isnan(x), np.inf, x)) for x in (with_, without)]
    difference = medians[0] - medians[1]
    return float(difference) if np.isfinite(difference) else np.nan
