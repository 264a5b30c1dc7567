"""The extra-stocks switch: non-public and multimodal stocks added to the public text stock.

Why: [P2] §3.3 asks how much private messages, email, the deep web, images and video could delay exhaustion
(~1.5 years). With the switch on, the accessible part (tokens × access fraction) of each stock is added to the
effective stock, held constant in time (their growth is not modelled); each stock's own effect is reported as
the date with that stock alone (`extra_stock_years`). The access fractions are [U] judgements.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from forecast.errors import InputError
from forecast.priors import SUPPORT_FAMILIES, Prior
from forecast.projection.stock import with_extra

if TYPE_CHECKING:
    from forecast.projection.crossing import Crossing

NAME = "extra_stocks"
DESCRIPTION = "Non-public and multimodal stocks added to the public stock, each with an access fraction."


def check_fraction_interval(interval: Prior, name: str) -> Prior:
    """Fractions need bounded support inside (0, 1]: a uniform or loguniform interval."""
    if interval.distribution not in SUPPORT_FAMILIES or not (interval.low > 0 and interval.high <= 1):
        raise ValueError(f"{name} must be a uniform or loguniform interval inside (0, 1]")
    return interval


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
        return check_fraction_interval(interval, "access_fraction")


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


Settings = ExtraStocksSettings

#: The date per draw with each stock alone, by stock; none for a scenario with the switch off.
RESULT_DEFAULTS: MappingProxyType[str, Any] = MappingProxyType({"extra_stock_years": MappingProxyType({})})
#: No exhaustion variables of its own (the dates with each stock alone are in the effects table).
DRAW_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({})
SCENARIO_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({})


def draw_stream(interval: Prior, n: int, seed: int, name: str) -> np.ndarray:
    """Draws of a switch prior from a stream keyed by its name (common random numbers across scenarios)."""
    return interval.draw(n, seed, f"extension:{name}")


def draw_inputs(
    settings: ExtraStocksSettings, posterior: dict[str, np.ndarray], n: int, seed: int
) -> dict[str, np.ndarray]:
    """Accessible tokens per draw of each stock, named `extra_<stock>` for the sensitivity table."""
    inputs: dict[str, np.ndarray] = {}
    for s in settings.stocks:
        tokens = draw_stream(s.tokens, n, seed, f"{s.name}_tokens")
        access = draw_stream(s.access_fraction, n, seed, f"{s.name}_access")
        inputs[f"extra_{s.name}"] = tokens * access
    return inputs


def cited_priors(settings: ExtraStocksSettings) -> list[tuple[str, Prior]]:
    """Each stock's size and access fraction, with their citations."""
    items: list[tuple[str, Prior]] = []
    for s in settings.stocks:
        items += [(f"{s.name}.tokens", s.tokens), (f"{s.name}.access_fraction", s.access_fraction)]
    return items


#: It adds to the stock rather than replacing it.
REPLACED_STOCK = None


def added_stock(settings: ExtraStocksSettings, inputs: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    """Per draw, the accessible tokens of all its stocks, held constant in time (None without stocks)."""
    names = [s.name for s in settings.stocks]
    return extra_total(inputs, names, n) if names else None


def results(
    settings: ExtraStocksSettings, projection: Any, inputs: dict[str, np.ndarray], main: Crossing, baseline: Crossing
) -> dict[str, Any]:
    """`extra_stock_years`: the date with each stock alone added to the scenario's stock.

    With the public stock as the scenario's stock, the baseline is the date with none of them, so it bounds the
    search from below.
    """
    n = main.year.size
    without = baseline if projection.keys.supply == projection.keys.public else None
    years = {
        s.name: projection.with_extra_crossing(extra_total(inputs, [s.name], n), main, without).year
        for s in settings.stocks
    }
    return {"extra_stock_years": years}


def exhaustion_values(result: Any) -> dict[str, Any]:
    """None (see `DRAW_VARIABLES`)."""
    return {}


def effects(result: Any) -> list[tuple[str, np.ndarray]]:
    """One effect row per stock: the date with it alone."""
    years_by_stock = result.switch_results.get("extra_stock_years", {})
    return [(f"extra stock: {name}", years) for name, years in years_by_stock.items()]


def extra_total(inputs: dict[str, np.ndarray], names: list[str], n: int) -> np.ndarray:
    """Per draw, the accessible tokens of the extra stocks named, summed in the order given."""
    return sum((inputs[f"extra_{name}"] for name in names), np.zeros(n))


def add_extra_stocks(log10_effective: np.ndarray, inputs: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """log10 of the effective stock plus the accessible extra stocks named."""
    return with_extra(log10_effective, extra_total(inputs, names, log10_effective.shape[0]))


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
