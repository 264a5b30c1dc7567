"""Scenario configuration: pydantic models of the YAML file, defaults, merging, loading and one-line errors.

This module is the one place where configuration defaults live. A config file holds global settings (seed,
sampler, data, fit), a complete set of scenario `defaults`, and a list of `scenarios` that each state only
what differs from the defaults; `resolve` turns them into complete `ResolvedScenario`s.

Source keys ([P2], [C2], ...) refer to `METHOD_NOTES.md` in the shared reference folder.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forecast.errors import ConfigError
from forecast.projection.switches.settings import ExtraStocksSettings, HumanShareSettings, SyntheticSettings

# ----------------------------------------------------------------------------------------------------
# Named constants (with citations)
# ----------------------------------------------------------------------------------------------------

#: The only config layout this version reads; bump when a change would silently alter old files' meaning.
SCHEMA_VERSION = 1

#: Default random seed (the [P2] v2 arXiv release date, 2024-06-05); any fixed value makes runs reproducible.
DEFAULT_SEED = 20240605

#: Besiroglu et al. 2022, "Projecting compute trends in Machine Learning"
#: (epochai.org/blog/projecting-compute-trends): the deep-learning-era compute trend reverts to the
#: Moore's-law trend 8–18 years after 2022. [P2] §2.4 models C(y) "following Besiroglu et al. (2022)"
#: (METHOD_NOTES A.8).
SLOWDOWN_START_YEARS = (2030.0, 2040.0)

#: Sevilla et al. 2022, "Compute trends across three eras of machine learning" (arXiv 2202.05924):
#: pre-deep-learning compute doubled about every 20 months, i.e. log10(2) / (20 / 12) ≈ 0.18 OOM per year.
MOORE_OOM_PER_YEAR = round(math.log10(2) / (20 / 12), 2)

#: Per-user text production drift (natural log per year) for `stock_growth: users_model`. [P2] assumes
#: per-user production constant (drift 0; METHOD_NOTES C.3, A.6); no source measures it, so this is a
#: judgement [D]: centred on the paper's assumption, 95% within ±2%/yr, about half the spread of the
#: paper's own page-count growth prior (0–10%/yr, [P2] §2.2.1). Same values as forecast.projection.inputs uses.
PER_USER_PRODUCTION_GROWTH_95 = (-0.02, 0.02)

#: Supported range of the compute slowdown start year and latest horizon (sanity bounds, not physics).
SLOWDOWN_YEAR_RANGE = (2024.0, 2100.0)
MAX_HORIZON = 2200

#: Where the packaged presets live (inside the `forecast` package, read via importlib.resources).
PRESET_PACKAGE = "forecast.config"
PRESET_FOLDER = "presets"

_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# Numbers in a config must be real numbers: strict (no "5" strings, no booleans) and finite.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Integer = Annotated[int, Field(strict=True)]


class _Model(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored) and values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _PathError(ValueError):
    """A validator error that knows which key (relative to the model it was raised in) is at fault."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------


class Interval(_Model):
    """A prior stated as a cited interval; `forecast.priors` turns it into distribution parameters."""

    distribution: Literal["lognormal", "normal", "reflected_lognormal", "uniform"] = Field(
        "lognormal",
        description=(
            "Distribution family. lognormal: central `mass` of a lognormal is [low, high] (squigglepy "
            "`sq.to`); normal: same with a normal; reflected_lognormal: value = ceiling − LogNormal whose "
            "central `mass` is [ceiling − high, ceiling − low] ([C2] bytes per token); uniform: flat on "
            "[low, high]."
        ),
    )
    low: Number = Field(description="Lower end of the interval (in the quantity's own unit).")
    high: Number = Field(description="Upper end of the interval; must be greater than `low`.")
    mass: Number = Field(
        0.95,
        gt=0,
        lt=1,
        description="Central probability mass of [low, high], e.g. 0.95 or 0.9 (ignored for uniform).",
    )
    ceiling: Number | None = Field(
        None, description="Hard upper limit; required for, and only used by, reflected_lognormal."
    )
    source: str | None = Field(None, description="Citation for the interval (source key and section, or URL).")

    @model_validator(mode="after")
    def _check(self) -> Interval:
        """Reject intervals that cannot define the stated distribution."""
        if self.low >= self.high:
            raise ValueError(f"interval low must be below high (got low={self.low:g}, high={self.high:g})")
        if self.distribution == "lognormal" and self.low <= 0:
            raise ValueError(f"a lognormal interval needs low > 0 (got low={self.low:g})")
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


DEFAULT_PER_USER_PRODUCTION_GROWTH = Interval(
    distribution="normal",
    low=PER_USER_PRODUCTION_GROWTH_95[0],
    high=PER_USER_PRODUCTION_GROWTH_95[1],
    mass=0.95,
    source="judgement around [P2]'s constant per-user production (METHOD_NOTES C.3)",
)


def _prior_field(what: str) -> Any:
    """An optional prior override: None keeps the row of the same name in data/stock_priors.csv."""
    return Field(None, description=f"{what} None = use the row of the same name in data/stock_priors.csv.")


_POSITIVE_PRIORS = (
    "indexed_pages",
    "bytes_per_page",
    "bytes_per_token",
    "dataset_start_tokens",
    "compute_start_flop",
)
_FACTOR_GROWTH_PRIORS = ("page_size_growth", "page_count_growth")


class PriorOverrides(_Model):
    """Scenario-level replacements for the stock and demand priors of data/stock_priors.csv."""

    indexed_pages: Interval | None = _prior_field("Unique indexed web pages in 2024 ([P2] §2.2.1).")
    bytes_per_page: Interval | None = _prior_field("Plain-text bytes per web page ([P2] §2.2.1).")
    bytes_per_token: Interval | None = _prior_field("Bytes of plain text per token ([P2] App. E).")
    page_size_growth: Interval | None = _prior_field("Yearly growth factor of page size, >= 1 ([P2] §2.2.1).")
    page_count_growth: Interval | None = _prior_field(
        "Yearly growth factor of the page count, >= 1 (used when stock_growth is 'prior'; [P2] §2.2.1)."
    )
    quality_fraction: Interval | None = _prior_field(
        "Fraction of deduplicated web text usable for training, in (0, 1] ([P2] §2.3.1)."
    )
    epochs: Interval | None = _prior_field("Epochs over the unique stock, >= 1 (Muennighoff et al. 2023).")
    per_user_production_growth: Interval | None = Field(
        DEFAULT_PER_USER_PRODUCTION_GROWTH,
        description=(
            "Drift of text produced per internet user, natural log per year (normal), used when "
            "stock_growth is 'users_model'. Default normal 95% [-0.02, 0.02]: centred on [P2]'s "
            "constant per-user production (METHOD_NOTES C.3); a judgement, not a measurement."
        ),
    )
    dataset_start_tokens: Interval | None = Field(
        None,
        description=(
            "Largest training dataset on historical_trend.anchor_date, tokens (used when "
            "historical_trend.source is 'given'; [C2] 90% [3e12, 13e12]). None = use the row "
            "dataset_start_tokens_2024 of data/stock_priors.csv."
        ),
    )
    dataset_growth_oom_per_year: Interval | None = _prior_field(
        "Growth of the largest dataset, orders of magnitude per year, >= 0 (used when "
        "historical_trend.source is 'given'; [P2] §2.4: 0.38 [0.27, 0.48])."
    )
    compute_start_flop: Interval | None = Field(
        None,
        description=(
            "Largest training run's compute at 2024-01-01, FLOP (used when compute_trend.source is 'given'; "
            "[P2] fn. 18: ~5e25). None = use the row compute_start_flop_2024 of data/stock_priors.csv."
        ),
    )
    compute_growth_oom_per_year: Interval | None = _prior_field(
        "Growth of the largest run's compute before any slowdown, orders of magnitude per year, >= 0 (used "
        "when compute_trend.source is 'given'; Besiroglu et al. 2022 / Epoch AI 2024: 4-5x/yr)."
    )

    @field_validator(*_POSITIVE_PRIORS)
    @classmethod
    def _positive(cls, value: Interval | None) -> Interval | None:
        """Counts and sizes cannot be negative or zero."""
        if value is not None and value.low <= 0:
            raise ValueError(f"this quantity is positive, so low must be > 0 (got low={value.low:g})")
        return value

    @field_validator("quality_fraction")
    @classmethod
    def _fraction(cls, value: Interval | None) -> Interval | None:
        """A fraction of the stock lies in (0, 1]."""
        if value is not None and not (value.low > 0 and value.high <= 1):
            raise ValueError(f"quality fraction must lie in (0, 1] (got low={value.low:g}, high={value.high:g})")
        return value

    @field_validator("epochs")
    @classmethod
    def _epochs(cls, value: Interval | None) -> Interval | None:
        """Training reads the unique stock at least once."""
        if value is not None and value.low < 1:
            raise ValueError(f"epochs must be at least 1 (got low={value.low:g})")
        return value

    @field_validator(*_FACTOR_GROWTH_PRIORS)
    @classmethod
    def _growth_factor(cls, value: Interval | None) -> Interval | None:
        """The web's page size and page count do not shrink ([P2] §2.2.1: 0–10%/yr growth)."""
        if value is not None and value.low < 1.0:
            raise ValueError(
                "negative growth interval: this is a yearly growth factor, so low must be >= 1.0 "
                f"(got low={value.low:g})"
            )
        return value

    @field_validator("dataset_growth_oom_per_year", "compute_growth_oom_per_year")
    @classmethod
    def _growth_oom(cls, value: Interval | None) -> Interval | None:
        """Frontier datasets have only grown ([P2] §2.4)."""
        if value is not None and value.low < 0:
            raise ValueError(
                "negative growth interval: growth in orders of magnitude per year needs low >= 0 "
                f"(got low={value.low:g})"
            )
        return value


class HistoricalTrend(_Model):
    """How the historical arm of demand gets its level and growth."""

    source: Literal["fitted", "given"] = Field(
        "fitted",
        description=(
            "fitted: level and growth come from the stochastic-frontier fit to the training-run data; given: "
            "they come from the priors dataset_start_tokens and dataset_growth_oom_per_year (as in [C2])."
        ),
    )
    anchor_date: date = Field(
        date(2024, 1, 1), description="Date at which the starting dataset size is stated ([C2]: 2024-01-01)."
    )


class ComputeTrend(_Model):
    """How the compute arm of demand gets the level and growth of frontier compute."""

    source: Literal["fitted", "given"] = Field(
        "fitted",
        description=(
            "fitted: from the stochastic-frontier fit to the compute of recorded runs; given: from the priors "
            "compute_start_flop and compute_growth_oom_per_year (stand-in for [P2]'s unpublished compute "
            "projection, METHOD_NOTES A.8)."
        ),
    )


class UniformRange(_Model):
    """A value drawn uniformly from [low, high]."""

    low: Number = Field(description="Lower end.")
    high: Number = Field(description="Upper end (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformRange:
        """An empty range is a typo."""
        if self.low > self.high:
            raise ValueError(f"range low must not exceed high (got low={self.low:g}, high={self.high:g})")
        return self


class ComputeSlowdown(_Model):
    """Compute growth reverts to a slower trend after a start year (Besiroglu et al. 2022)."""

    start_year: Number | UniformRange = Field(
        UniformRange(low=SLOWDOWN_START_YEARS[0], high=SLOWDOWN_START_YEARS[1]),
        description=(
            "Year the slowdown starts: a number, or {low, high} for a uniform draw. Default 2030–2040: "
            "Besiroglu et al. 2022 reversion 8–18 years after 2022."
        ),
    )
    growth_after_oom_per_year: Number = Field(
        MOORE_OOM_PER_YEAR,
        ge=0,
        description=(
            "Growth of log10 training compute per year after the slowdown. Default 0.18: Moore's-law era "
            "doubling every ~20 months (Sevilla et al. 2022, arXiv 2202.05924)."
        ),
    )

    @model_validator(mode="after")
    def _year_range(self) -> ComputeSlowdown:
        """Keep start years within the supported projection window."""
        lo, hi = SLOWDOWN_YEAR_RANGE
        years = (
            (self.start_year.low, self.start_year.high)
            if isinstance(self.start_year, UniformRange)
            else (self.start_year,)
        )
        for year in years:
            if not lo <= year <= hi:
                raise _PathError(f"start year must lie in [{lo:g}, {hi:g}] (got {year:g})", ("start_year",))
        return self


_PROFIT_MODEL_HELP = (
    "[P2] App. F profit-model policy instead of a fixed factor: near_optimal (r=7, h=1.1), 5x (r=7, h=2), "
    "100x (r=10, h=2.4); METHOD_NOTES A.10."
)


class Overtraining(_Model):
    """How far training departs from Chinchilla-optimal tokens per parameter ([P2] §2.5, fn. 23)."""

    factor: Number = Field(
        1.0,
        gt=0,
        description=(
            "Tokens-per-parameter multiple of Chinchilla's 20; at fixed compute data scales by sqrt(factor) "
            "([P2] fn. 23). 1 = compute-optimal."
        ),
    )
    profit_model: Literal["near_optimal", "5x", "100x"] | None = Field(None, description=_PROFIT_MODEL_HELP)
    applies_to: Literal["compute", "all"] = Field(
        "compute",
        description=(
            "compute: overtraining changes only the compute-based arm; all: also the historical arm, as the "
            "[C2] code does (it transforms the whole mixture)."
        ),
    )

    @model_validator(mode="after")
    def _one_policy(self) -> Overtraining:
        """A fixed factor and a profit-model policy are two different answers to the same question."""
        if self.factor != 1 and self.profit_model is not None:
            raise ValueError(
                f"give either factor or profit_model, not both (got factor={self.factor:g}, "
                f"profit_model={self.profit_model!r})"
            )
        return self


_DEFAULT_SLOWDOWN = ComputeSlowdown()


class ScenarioSettings(_Model):
    """Everything a scenario can set; the defaults here are the documented defaults of every scenario."""

    scaling: Literal["historical", "compute", "mixture"] = Field(
        "mixture",
        description=(
            "Demand model: historical trend in dataset size, compute-based Chinchilla projection, or the "
            "equal-weight mixture of both ([P2] Eq. 4)."
        ),
    )
    overtraining: Overtraining = Field(Overtraining(), description="Overtraining policy ([P2] §2.5, App. F).")
    compute_slowdown: ComputeSlowdown | None = Field(
        _DEFAULT_SLOWDOWN,
        description=(
            "Slowdown of compute growth (Besiroglu et al. 2022); null = compute keeps its fitted growth forever."
        ),
    )
    horizon: Integer = Field(
        2060,
        le=MAX_HORIZON,
        description=(
            "Last year projected; paths with no exhaustion by then are censored. Must follow "
            "projection_start and the data cut-off."
        ),
    )
    projection_start: date = Field(date(2024, 1, 1), description="Date the projection starts.")
    historical_trend: HistoricalTrend = Field(
        HistoricalTrend(), description="Where the historical demand arm gets its level and growth."
    )
    compute_trend: ComputeTrend = Field(
        ComputeTrend(), description="Where the compute demand arm gets its level and growth."
    )
    stock_growth: Literal["users_model", "prior"] = Field(
        "users_model",
        description=(
            "users_model: stock grows with cumulative person-years online ([P2] App. A), fitted to "
            "adoption data; prior: the paper's page-count growth prior ([P2] §2.2.1)."
        ),
    )
    priors: PriorOverrides = Field(
        PriorOverrides(), description="Prior overrides; each unset prior keeps its data/stock_priors.csv row."
    )
    human_share: HumanShareSettings = Field(
        HumanShareSettings(),
        description="Count only the human part of web text added after ChatGPT, using the fitted AI share.",
    )
    synthetic: SyntheticSettings = Field(
        SyntheticSettings(),
        description="Synthetic data as a partial substitute for human text, with a model-collapse guard.",
    )
    extra_stocks: ExtraStocksSettings = Field(
        ExtraStocksSettings(),
        description="Non-public and multimodal stocks added to the public stock, each with an access fraction.",
    )

    @model_validator(mode="after")
    def _horizon_after_start(self) -> ScenarioSettings:
        """A projection must cover at least one year."""
        if self.horizon <= self.projection_start.year:
            raise _PathError(
                f"horizon {self.horizon} is not after the projection start {self.projection_start.isoformat()}",
                ("horizon",),
            )
        return self


def _inherit(name: str) -> Any:
    """An optional override field documented like its ScenarioSettings counterpart."""
    base = ScenarioSettings.model_fields[name].description
    return Field(None, description=f"{base} Omit (or null) to inherit from `defaults`.")


class ScenarioOverride(_Model):
    """One named scenario: states only what differs from `defaults` (nested settings merge key by key)."""

    name: str = Field(pattern=_NAME_PATTERN, description="Unique scenario name: lowercase letters, digits, . _ -")
    description: str = Field("", description="One line saying what the scenario represents and why.")
    scaling: Literal["historical", "compute", "mixture"] | None = _inherit("scaling")
    overtraining: Overtraining | None = _inherit("overtraining")
    compute_slowdown: ComputeSlowdown | None = Field(
        None,
        description=(
            "Slowdown of compute growth, merged key by key into the default. Omit to inherit; an explicit "
            "null means no slowdown in this scenario."
        ),
    )
    horizon: Integer | None = Field(None, le=MAX_HORIZON, description=_inherit("horizon").description)
    projection_start: date | None = _inherit("projection_start")
    historical_trend: HistoricalTrend | None = _inherit("historical_trend")
    compute_trend: ComputeTrend | None = _inherit("compute_trend")
    stock_growth: Literal["users_model", "prior"] | None = _inherit("stock_growth")
    priors: PriorOverrides | None = _inherit("priors")
    human_share: HumanShareSettings | None = _inherit("human_share")
    synthetic: SyntheticSettings | None = _inherit("synthetic")
    extra_stocks: ExtraStocksSettings | None = _inherit("extra_stocks")


class ResolvedScenario(ScenarioSettings):
    """A scenario with every setting filled in (defaults merged with the scenario's overrides)."""

    name: str = Field(pattern=_NAME_PATTERN, description="Scenario name.")
    description: str = Field("", description="What the scenario represents.")


class SamplerSettings(_Model):
    """MCMC settings for the posterior fit."""

    backend: Literal["pymc", "nutpie"] = Field(
        "nutpie", description="NUTS implementation: nutpie (numba-compiled, Rust threads) or PyMC's own."
    )
    draws: Integer = Field(1000, ge=1, description="Posterior draws per chain.")
    tune: Integer = Field(1000, ge=0, description="Tuning (warm-up) steps per chain, discarded.")
    chains: Integer = Field(4, ge=1, description="Independent chains (>= 4 recommended for R-hat).")
    target_accept: Number = Field(
        0.98,
        gt=0,
        lt=1,
        description="NUTS target acceptance rate; higher = smaller steps, fewer divergences.",
    )
    cores: Integer = Field(2, ge=1, description="Chains sampled in parallel (does not change the result).")


class DataSettings(_Model):
    """Which data the fit may see."""

    cutoff: date = Field(
        date(2024, 12, 31),
        description="Only training runs published on or before this date are used; not in the future.",
    )

    @field_validator("cutoff")
    @classmethod
    def _not_future(cls, value: date) -> date:
        """A cut-off in the future would silently change as new data arrive."""
        today = date.today()
        if value > today:
            raise ValueError(f"data cut-off {value.isoformat()} is after today ({today.isoformat()})")
        return value


class NormalPrior(_Model):
    """A normal prior."""

    mean: Number = Field(description="Mean.")
    sd: Number = Field(gt=0, description="Standard deviation (> 0).")


class FitSettings(_Model):
    """Priors and options of the stochastic-frontier fit (forecast.model.frontier)."""

    leak_rows: Literal["exclude", "downweight"] = Field(
        "downweight",
        description="Training runs known only from leaks: exclude them, or keep them with extra noise.",
    )
    leak_extra_sd_oom: Number = Field(
        1.0, gt=0, description="Extra noise (orders of magnitude, sd) on leaked rows when downweighted."
    )
    dataset_level_2024: NormalPrior = Field(
        NormalPrior(mean=13.0, sd=1.0),
        description=(
            "log10 tokens of the frontier dataset at 2024-01-01; weakly informative around [P2] §2.4's "
            "'around 10T tokens'."
        ),
    )
    dataset_growth: NormalPrior = Field(
        NormalPrior(mean=0.4, sd=0.3),
        description="Frontier dataset growth, OOM/yr; covers [P2] 0.38 and Epoch's 3.7×/yr = 0.57.",
    )
    compute_level_2024: NormalPrior = Field(
        NormalPrior(mean=25.5, sd=1.5),
        description="log10 FLOP of the frontier run at 2024-01-01; GPT-4 / Gemini Ultra ~5e25 ([P2] fn. 18).",
    )
    compute_growth: NormalPrior = Field(
        NormalPrior(mean=0.6, sd=0.4),
        description="Frontier compute growth, OOM/yr; Epoch 4–5×/yr = 0.6–0.7 (METHOD_NOTES D.6).",
    )


class Config(_Model):
    """A complete scenario file."""

    schema_version: Literal[1] = Field(description="Config layout version; this version of forecast reads 1.")
    description: str | None = Field(None, description="One line describing the file (shown by `forecast scenarios`).")
    seed: Integer = Field(DEFAULT_SEED, ge=0, description="Random seed for sampling and forward draws.")
    sampler: SamplerSettings = Field(SamplerSettings(), description="MCMC settings.")
    data: DataSettings = Field(DataSettings(), description="Data settings.")
    fit: FitSettings = Field(FitSettings(), description="Priors and options of the fit.")
    defaults: ScenarioSettings = Field(
        ScenarioSettings(), description="Settings every scenario inherits unless it overrides them."
    )
    scenarios: list[ScenarioOverride] = Field(
        min_length=1, description="The scenarios to run; each states only what differs from `defaults`."
    )

    @model_validator(mode="after")
    def _check_scenarios(self) -> Config:
        """Names are unique, every merged scenario is valid, and horizons follow the data cut-off."""
        first_index: dict[str, int] = {}
        for index, scenario in enumerate(self.scenarios):
            if scenario.name in first_index:
                raise _PathError(
                    f"duplicate scenario name '{scenario.name}' "
                    f"(first used by scenarios[{first_index[scenario.name]}])",
                    ("scenarios", index, "name"),
                )
            first_index[scenario.name] = index
        for index, scenario in enumerate(self.scenarios):
            self._check_horizon(index, scenario)
            try:
                resolve_scenario(self.defaults, scenario)
            except ValidationError as exc:
                error = {**exc.errors()[0]}
                error["loc"] = ("scenarios", index, *error["loc"])
                raise _PathError(_describe(error), _error_path(error)) from None
        return self

    def _check_horizon(self, index: int, scenario: ScenarioOverride) -> None:
        """Report a horizon before the cut-off or the projection start at the key that sets it."""
        horizon = scenario.horizon if scenario.horizon is not None else self.defaults.horizon
        start = scenario.projection_start or self.defaults.projection_start
        if scenario.horizon is not None:
            path: tuple[str | int, ...] = ("scenarios", index, "horizon")
        elif scenario.projection_start is not None:
            path = ("scenarios", index, "projection_start")
        else:
            path = ("defaults", "horizon")
        cutoff = self.data.cutoff
        if horizon <= cutoff.year:
            raise _PathError(f"horizon {horizon} is before the data cut-off {cutoff.isoformat()}", path)
        if horizon <= start.year:
            raise _PathError(f"horizon {horizon} is not after the projection start {start.isoformat()}", path)


# ----------------------------------------------------------------------------------------------------
# Resolution, hashing, schema
# ----------------------------------------------------------------------------------------------------

#: Settings for which an explicit null in a scenario means "none" rather than "inherit".
_NULL_MEANS_NONE = frozenset({"compute_slowdown"})


def _merge_model(base: BaseModel, override: BaseModel) -> dict[str, Any]:
    """Overlay the keys the override states explicitly (including explicit nulls) onto the base.

    Returns a plain mapping so that the enclosing model validates it and errors carry the key path.
    """
    values = {name: getattr(base, name) for name in type(base).model_fields}
    values.update({name: getattr(override, name) for name in override.model_fields_set})
    return values


def _merge_setting(name: str, base: Any, override: ScenarioOverride) -> Any:
    """The value of one setting after the scenario's override is applied."""
    if name not in override.model_fields_set:
        return base
    value = getattr(override, name)
    if value is None:
        return None if name in _NULL_MEANS_NONE else base
    if isinstance(value, BaseModel) and type(value) is type(base):
        return _merge_model(base, value)
    return value


def resolve_scenario(defaults: ScenarioSettings, override: ScenarioOverride) -> ResolvedScenario:
    """Deep-merge one scenario into the defaults: it states only what differs."""
    values: dict[str, Any] = {"name": override.name, "description": override.description}
    for name in ScenarioSettings.model_fields:
        values[name] = _merge_setting(name, getattr(defaults, name), override)
    return ResolvedScenario.model_validate(values)


def resolve(config: Config) -> list[ResolvedScenario]:
    """All scenarios of a config, complete, in file order."""
    return [resolve_scenario(config.defaults, scenario) for scenario in config.scenarios]


def fit_key(config: Config) -> dict[str, Any]:
    """The parts of a config the posterior depends on (scenario settings never trigger a re-fit)."""
    return {
        "seed": config.seed,
        "sampler": config.sampler.model_dump(mode="json"),
        "data": {"cutoff": config.data.cutoff.isoformat()},
        "fit": config.fit.model_dump(mode="json"),
    }


def hash_json(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): equal content gives an equal hash."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_hash(config: Config) -> str:
    """Hash of the config and of its resolved scenarios (resolution reflects which keys were stated)."""
    return hash_json(
        {
            "config": config.model_dump(mode="json"),
            "resolved": [scenario.model_dump(mode="json") for scenario in resolve(config)],
        }
    )


def fit_hash(config: Config) -> str:
    """Hash of `fit_key`: a cached posterior is reusable iff this matches."""
    return hash_json(fit_key(config))


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config file, for editors (e.g. yaml-language-server)."""
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# ----------------------------------------------------------------------------------------------------
# One-line error messages
# ----------------------------------------------------------------------------------------------------

KeyPath = tuple[str | int, ...]
_LINE_BREAKS = re.compile(r"\s*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+\s*")
_MAX_SHOWN = 60


def one_line(text: str) -> str:
    """Collapse line breaks so a message is exactly one line."""
    return _LINE_BREAKS.sub(" ", text).strip()


def format_path(path: KeyPath) -> str:
    """Render a key path as `scenarios[2].overtraining.factor`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _show(value: Any) -> str:
    """Short rendering of a user value for `(got ...)`."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = "a mapping"
    elif isinstance(value, list | tuple):
        text = "a list" if value else "an empty list"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    text = one_line(text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _candidates(annotation: Any) -> list[Any]:
    """Flatten Annotated/Optional/Union into the concrete alternatives (None dropped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _candidates(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [c for arg in get_args(annotation) for c in _candidates(arg)]
    if annotation is type(None):
        return []
    return [annotation]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag_names(tag: str, model: type[BaseModel]) -> bool:
    """Whether a union tag such as 'UniformRange' or 'function-after[_ordered(), UniformRange]' is `model`."""
    return tag == model.__name__ or tag.endswith(f" {model.__name__}]")


@dataclass(frozen=True)
class _Walk:
    """Result of following a pydantic `loc` through the model classes."""

    path: KeyPath  # loc without union-member tags
    options: list[Any]  # alternatives at the end of the path
    union_paths: list[tuple[KeyPath, bool]]  # (path of a union, whether the chosen branch is a model)


def _walk(loc: Sequence[str | int]) -> _Walk:
    """Follow `loc` from Config, dropping pydantic's union tags (e.g. 'constrained-float', 'UniformRange')."""
    options: list[Any] = [Config]
    path: list[str | int] = []
    unions: list[tuple[KeyPath, bool]] = []
    for part in loc:
        if len(options) > 1 and isinstance(part, str):
            models = [t for t in options if _is_model(t) and _tag_names(part, t)]
            unions.append((tuple(path), bool(models)))
            options = models or [t for t in options if not _is_model(t)]
            continue
        path.append(part)
        nxt: list[Any] = []
        for tp in options:
            if isinstance(part, int) and get_origin(tp) is list:
                nxt.extend(_candidates(get_args(tp)[0]))
            elif _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
                nxt.extend(_candidates(tp.model_fields[part].annotation))
        options = nxt
    return _Walk(tuple(path), options, unions)


def _error_path(error: Mapping[str, Any]) -> KeyPath:
    """Key path of a pydantic error: loc without union tags, extended by a `_PathError`'s own path."""
    path = _walk(error["loc"]).path
    if error["type"] == "invalid_key" and path:  # a non-text key, not a list index
        path = (*path[:-1], str(path[-1]))
    exc = (error.get("ctx") or {}).get("error")
    return path + exc.path if isinstance(exc, _PathError) else path


def _model_keys(path: KeyPath) -> list[str]:
    """Allowed keys of the model at `path` (for 'did you mean' hints)."""
    walk = _walk(path)
    return [name for tp in walk.options if _is_model(tp) for name in tp.model_fields]


def _literal_options(path: KeyPath) -> list[Any]:
    """Allowed options of the closed set at `path`, if it is a Literal."""
    return [opt for tp in _walk(path).options if get_origin(tp) is Literal for opt in get_args(tp)]


def _unknown_key(path: KeyPath) -> str:
    """'unknown key' message with a 'did you mean' hint from the keys allowed at that level."""
    key = str(path[-1]) if path else ""
    allowed = _model_keys(path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?"
    return f"unknown key '{key}' (allowed keys: {', '.join(allowed)})"


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "text",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "date_type": "a date like 2024-12-31",
    "date_parsing": "a date like 2024-12-31",
    "date_from_datetime_parsing": "a date like 2024-12-31",
    "date_from_datetime_inexact": "a date like 2024-12-31",
    "date_future": "a date in the future",
    "date_past": "a date in the past",
}
_MISSING = "required key is missing"
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _describe(error: Mapping[str, Any]) -> str:
    """What was expected at the error's key, in words (without file, line or path)."""
    kind = error["type"]
    path = _walk(error["loc"]).path
    ctx = error.get("ctx") or {}
    got = f" (got {_show(error.get('input'))})"
    if kind == "extra_forbidden":
        return _unknown_key(path)
    if kind == "missing":
        return _MISSING
    if kind == "value_error":
        return one_line(str(ctx.get("error", error["msg"])))
    if kind == "literal_error":
        options = _literal_options(path)
        text = ", ".join(repr(opt) for opt in options) if options else ctx.get("expected", "")
        close = difflib.get_close_matches(str(error.get("input")), [str(o) for o in options], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown option {_show(error.get('input'))}; expected one of {text}{hint}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"expected a value {_BOUNDS[kind]} {bound:g}{got}"
    if kind == "model_type":
        keys = _model_keys(path)
        return f"expected a mapping with keys {', '.join(keys)}{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length', 1)} item(s){got}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        return f"expected a name of lowercase letters, digits, '.', '_' or '-' (pattern {pattern}){got}"
    if kind == "invalid_key":
        return f"keys must be text{got}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}{got}"
    return f"{one_line(error['msg'])}{got}"


def _value_at(data: Any, path: KeyPath) -> Any:
    """The raw YAML value at `path`, or None if absent."""
    for part in path:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_mapping or in_list):
            return None
        data = data[part]
    return data


def _relevant(errors: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Drop errors from union branches the user did not mean (a mapping means the mapping branch)."""
    kept = []
    for error in errors:
        unions = _walk(error["loc"]).union_paths
        if all(is_model == isinstance(_value_at(data, upath), Mapping) for upath, is_model in unions):
            kept.append(error)
    return kept or errors


def _line_of(path: KeyPath, lines: Mapping[KeyPath, int]) -> int | None:
    """Line of the deepest existing key along `path` (a missing key points at its parent)."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _format_validation(exc: ValidationError, source: str, data: Any, lines: Mapping[KeyPath, int]) -> str:
    """`<file>: line <n>: <key.path>: <expected> (got <value>)` for the first error in file order."""
    errors = _relevant(list(exc.errors()), data)
    located = []
    for error in errors:
        path = _error_path(error)
        located.append((_line_of(path, lines), path, _describe(error)))
    # A missing key is often the consequence of a misspelt one, so report wrong keys and values first,
    # then keys present in the file before those that are not, each group in file order.
    located.sort(key=lambda item: (item[2] == _MISSING, item[0] is None, item[0] or 0))
    line, path, what = located[0]
    where = f"line {line}: " if line is not None else ""
    more = f" (+{len(located) - 1} more)" if len(located) > 1 else ""
    return one_line(f"{source}: {where}{format_path(path)}: {what}{more}")


# ----------------------------------------------------------------------------------------------------
# YAML reading with line numbers and duplicate-key detection
# ----------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as `1e12` and `7.5e10` (PyYAML reads them as text)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """Dates like 2024-13-45 match YAML's timestamp pattern but do not exist: report them with a line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"impossible date {node.value!r} ({exc})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _key_text(node: yaml.Node) -> str | None:
    """A mapping key as text (None for complex keys, which the models never accept anyway)."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _index_lines(node: yaml.Node, source: str) -> dict[KeyPath, int]:
    """Map every key path to its 1-based line; reject duplicate keys, which YAML would silently collapse."""
    lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        if id(current) in seen_nodes:  # aliases: index each node once (also guards against recursive anchors)
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = _key_text(key_node)
                if key is None or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise ConfigError(
                        one_line(
                            f"{source}: line {line}: {format_path((*path, key))}: duplicate key '{key}' "
                            f"(first given on line {first_line[key]}; YAML would silently keep only the last)"
                        )
                    )
                first_line[key] = line
                lines[(*path, key)] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[(*path, index)] = item.start_mark.line + 1
                stack.append((item, (*path, index)))
    return lines


def _yaml_error(exc: yaml.YAMLError, source: str) -> ConfigError:
    """One-line message for invalid YAML syntax, with line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    kind = "invalid YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "invalid YAML syntax"
    return ConfigError(one_line(f"{source}: {where}{kind}: {problem}"))


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text into Python data plus a key-path → line map."""
    try:
        loader = _Loader(text)  # PyYAML checks for forbidden characters (NUL, ESC, ...) already here
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(f"{source}: file is empty; expected a mapping starting with 'schema_version: 1'")
        lines = _index_lines(node, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date such as 2024-13-45
        raise ConfigError(one_line(f"{source}: invalid YAML value: {exc}")) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML is nested too deeply") from None
    finally:
        loader.dispose()
    return data, lines


def _check_header(data: Any, source: str, lines: Mapping[KeyPath, int]) -> None:
    """Top level is a mapping with a supported schema_version (checked first: else other errors mislead)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: line 1: the top level must be a mapping of keys (got {_show(data)})")
    if "schema_version" not in data:
        raise ConfigError(
            f"{source}: schema_version: required key is missing (add 'schema_version: {SCHEMA_VERSION}' at the top)"
        )
    version = data["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        line = lines.get(("schema_version",), 1)
        raise ConfigError(
            f"{source}: line {line}: schema_version: unsupported schema version; this version of forecast "
            f"reads {SCHEMA_VERSION} (got {_show(version)})"
        )


def parse_config(text: str, source: str = "<string>") -> Config:
    """Validate YAML text as a Config; every problem becomes a one-line ConfigError naming `source`."""
    data, lines = _parse_yaml(text, source)
    _check_header(data, source, lines)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source, data, lines)) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML is nested too deeply") from None


# ----------------------------------------------------------------------------------------------------
# Presets and loading
# ----------------------------------------------------------------------------------------------------


def _preset_dir() -> Any:
    """The packaged presets folder (a Traversable, so it also works from a wheel or zip)."""
    return resources.files(PRESET_PACKAGE).joinpath(PRESET_FOLDER)


def preset_names() -> list[str]:
    """Names of the packaged presets, sorted."""
    return sorted(entry.name[: -len(".yml")] for entry in _preset_dir().iterdir() if entry.name.endswith(".yml"))


def list_presets() -> dict[str, str]:
    """Preset name → its one-line `description`."""
    out: dict[str, str] = {}
    for name in preset_names():
        data = yaml.load(_preset_dir().joinpath(f"{name}.yml").read_text(encoding="utf-8"), Loader=_Loader)
        description = data.get("description") if isinstance(data, Mapping) else None
        out[name] = one_line(str(description or ""))
    return out


def _read(source: str | Path) -> tuple[str, str]:
    """(text, label) of a preset name or a YAML file path; a one-line ConfigError if unreadable."""
    if isinstance(source, str) and source in preset_names():
        label = f"{PRESET_FOLDER}/{source}.yml"
        return _preset_dir().joinpath(f"{source}.yml").read_text(encoding="utf-8"), label
    path = Path(source)
    label = str(source)
    if not path.exists():
        looks_like_name = isinstance(source, str) and not path.suffix and len(path.parts) == 1
        if looks_like_name:
            raise ConfigError(f"{label}: file not found, and not a preset (presets: {', '.join(preset_names())})")
        raise ConfigError(f"{label}: file not found")
    if path.is_dir():
        raise ConfigError(f"{label}: is a directory; expected a YAML file")
    try:
        return path.read_text(encoding="utf-8"), label
    except UnicodeDecodeError as exc:
        raise ConfigError(one_line(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})")) from None
    except OSError as exc:
        raise ConfigError(one_line(f"{label}: cannot read: {exc.strerror or exc}")) from None


def load_config(source: str | Path) -> Config:
    """Load a preset by name (`default`, `villalobos2024`) or a YAML file by path."""
    text, label = _read(source)
    return parse_config(text, label)
