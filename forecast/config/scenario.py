"""Per-scenario settings: the pydantic models of a scenario, their documented defaults, and how a scenario's
overrides merge into the `defaults` of its file.

These models are the one place where scenario defaults live. A scenario states only what differs from the
defaults; `resolve_scenario` turns it into a complete `ResolvedScenario`. The file-level models (seed, sampler,
data, fit) and the `Config` that holds them are in `forecast.config.schema`.

Source keys ([P2], [C2], ...) refer to `METHOD_NOTES.md` in the shared reference folder.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from forecast.config.compute_limits import ComputeLimits
from forecast.config.messages import PathError
from forecast.priors import Number, Prior
from forecast.projection.switches import SWITCHES

# ----------------------------------------------------------------------------------------------------
# Named constants (with citations)
# ----------------------------------------------------------------------------------------------------

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

#: Sanity bound of a growth rate after the slowdown: 5 OOM/yr (100,000x a year) is far above any compute trend
#: (deep learning era ~0.6 OOM/yr, Sevilla et al. 2022), and keeps 10**(growth x years) finite to the horizon.
MAX_GROWTH_OOM_PER_YEAR = 5.0

#: Supported range of the compute slowdown start year and latest horizon (sanity bounds, not physics).
SLOWDOWN_YEAR_RANGE = (2024.0, 2100.0)
MAX_HORIZON = 2200

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# Integers in a config must be integers: strict (no "5" strings, no booleans, no 5.0).
Integer = Annotated[int, Field(strict=True)]


class ConfigModel(BaseModel):
    """Base of every config model: unknown keys are errors (typos must not be silently ignored), values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------


DEFAULT_PER_USER_PRODUCTION_GROWTH = Prior(
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


class PriorOverrides(ConfigModel):
    """Scenario-level replacements for the stock and demand priors of data/stock_priors.csv."""

    indexed_pages: Prior | None = _prior_field("Unique indexed web pages in 2024 ([P2] §2.2.1).")
    bytes_per_page: Prior | None = _prior_field("Plain-text bytes per web page ([P2] §2.2.1).")
    bytes_per_token: Prior | None = _prior_field("Bytes of plain text per token ([P2] App. E).")
    page_size_growth: Prior | None = _prior_field("Yearly growth factor of page size, >= 1 ([P2] §2.2.1).")
    page_count_growth: Prior | None = _prior_field(
        "Yearly growth factor of the page count, >= 1 (used when stock_growth is 'prior'; [P2] §2.2.1)."
    )
    quality_fraction: Prior | None = _prior_field(
        "Fraction of deduplicated web text usable for training, in (0, 1] ([P2] §2.3.1)."
    )
    epochs: Prior | None = _prior_field("Epochs over the unique stock, >= 1 (Muennighoff et al. 2023).")
    per_user_production_growth: Prior | None = Field(
        DEFAULT_PER_USER_PRODUCTION_GROWTH,
        description=(
            "Drift of text produced per internet user, natural log per year (normal), used when "
            "stock_growth is 'users_model'. Default normal 95% [-0.02, 0.02]: centred on [P2]'s "
            "constant per-user production (METHOD_NOTES C.3); a judgement, not a measurement."
        ),
    )
    dataset_start_tokens: Prior | None = Field(
        None,
        description=(
            "Largest training dataset on historical_trend.anchor_date, tokens (used when "
            "historical_trend.source is 'given'; [C2] 90% [3e12, 13e12]). None = use the row "
            "dataset_start_tokens_2024 of data/stock_priors.csv."
        ),
    )
    dataset_growth_oom_per_year: Prior | None = _prior_field(
        "Growth of the largest dataset, orders of magnitude per year, >= 0 (used when "
        "historical_trend.source is 'given'; [P2] §2.4: 0.38 [0.27, 0.48])."
    )
    compute_start_flop: Prior | None = Field(
        None,
        description=(
            "Largest training run's compute at 2024-01-01, FLOP (used when compute_trend.source is 'given'; "
            "[P2] fn. 18: ~5e25). None = use the row compute_start_flop_2024 of data/stock_priors.csv."
        ),
    )
    compute_growth_oom_per_year: Prior | None = _prior_field(
        "Growth of the largest run's compute before any slowdown, orders of magnitude per year, >= 0 (used "
        "when compute_trend.source is 'given'; Besiroglu et al. 2022 / Epoch AI 2024: 4-5x/yr)."
    )

    @field_validator(*_POSITIVE_PRIORS)
    @classmethod
    def _positive(cls, value: Prior | None) -> Prior | None:
        """Counts and sizes cannot be negative or zero."""
        if value is not None and value.low <= 0:
            raise ValueError(f"this quantity is positive, so low must be > 0 (got low={value.low:g})")
        return value

    @field_validator("quality_fraction")
    @classmethod
    def _fraction(cls, value: Prior | None) -> Prior | None:
        """A fraction of the stock lies in (0, 1]."""
        if value is not None and not (value.low > 0 and value.high <= 1):
            raise ValueError(f"quality fraction must lie in (0, 1] (got low={value.low:g}, high={value.high:g})")
        return value

    @field_validator("epochs")
    @classmethod
    def _epochs(cls, value: Prior | None) -> Prior | None:
        """Training reads the unique stock at least once."""
        if value is not None and value.low < 1:
            raise ValueError(f"epochs must be at least 1 (got low={value.low:g})")
        return value

    @field_validator(*_FACTOR_GROWTH_PRIORS)
    @classmethod
    def _growth_factor(cls, value: Prior | None) -> Prior | None:
        """The web's page size and page count do not shrink ([P2] §2.2.1: 0–10%/yr growth)."""
        if value is not None and value.low < 1.0:
            raise ValueError(
                "negative growth interval: this is a yearly growth factor, so low must be >= 1.0 "
                f"(got low={value.low:g})"
            )
        return value

    @field_validator("dataset_growth_oom_per_year", "compute_growth_oom_per_year")
    @classmethod
    def _growth_oom(cls, value: Prior | None) -> Prior | None:
        """Frontier datasets have only grown ([P2] §2.4)."""
        if value is not None and value.low < 0:
            raise ValueError(
                "negative growth interval: growth in orders of magnitude per year needs low >= 0 "
                f"(got low={value.low:g})"
            )
        return value


class HistoricalTrend(ConfigModel):
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


class ComputeTrend(ConfigModel):
    """How the compute arm of demand gets the level and growth of frontier compute."""

    source: Literal["fitted", "given"] = Field(
        "fitted",
        description=(
            "fitted: from the stochastic-frontier fit to the compute of recorded runs; given: from the priors "
            "compute_start_flop and compute_growth_oom_per_year (stand-in for [P2]'s unpublished compute "
            "projection, METHOD_NOTES A.8)."
        ),
    )


class UniformRange(ConfigModel):
    """A value drawn uniformly from [low, high]."""

    low: Number = Field(description="Lower end.")
    high: Number = Field(description="Upper end (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformRange:
        """An empty range is a typo."""
        if self.low > self.high:
            raise ValueError(f"range low must not exceed high (got low={self.low:g}, high={self.high:g})")
        return self


class ComputeSlowdown(ConfigModel):
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
        le=MAX_GROWTH_OOM_PER_YEAR,
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
                raise PathError(f"start year must lie in [{lo:g}, {hi:g}] (got {year:g})", ("start_year",))
        return self


_PROFIT_MODEL_HELP = (
    "[P2] App. F profit-model policy instead of a fixed factor: near_optimal (r=7, h=1.1), 5x (r=7, h=2), "
    "100x (r=10, h=2.4); METHOD_NOTES A.10."
)


class Overtraining(ConfigModel):
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
    baseline: Literal["chinchilla", "observed"] = Field(
        "chinchilla",
        description=(
            "What `factor` multiplies on the compute arm. chinchilla: Chinchilla's 20 tokens per parameter "
            "([P2] Eq. 3); observed: the tokens per compute that recorded frontier runs used, fitted "
            "(`overtraining_log10_mean`: Llama 3.1 405B's 15.6T tokens at 3.8e25 FLOP is ~2x Chinchilla), so "
            "factor 1 continues today's practice and 5 means 5x more overtrained than today."
        ),
    )
    change_oom_per_year: Number | None = Field(
        None,
        gt=0,
        description=(
            "How fast the compute arm's tokens per compute moves from today's practice (at the projection start) "
            "to the scenario's, in OOM/yr of tokens per parameter; null: the scenario's from the start ([P2]). "
            "The fastest change recorded at the frontier: PaLM 540B (2022-04, 0.07x Chinchilla) to Llama 3.1 "
            "405B (2024-07, 1.9x), 1.4 OOM in 2.3 years = 0.6 OOM/yr (data/training_runs.csv)."
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
        if self.profit_model is not None and (self.baseline == "observed" or self.change_oom_per_year is not None):
            raise ValueError(
                "profit_model policies are multiples of Chinchilla-optimal data from the start: use them with "
                "baseline: chinchilla and no change_oom_per_year"
            )
        return self


_DEFAULT_SLOWDOWN = ComputeSlowdown()


class Nowcast(ConfigModel):
    """How the projection is tied to what is known at its start (`forecast.projection.nowcast`)."""

    condition_on_record: bool = Field(
        False,
        description=(
            "Weight the draws by how well each path's frontier at the projection start explains the record "
            "observed then (Pareto-smoothed importance weights, then resampling), and drop draws whose stock "
            "is already below the record. The fitted historical arm has seen the record, so only its stock "
            "condition applies. Off: every draw counts alike (as [P2])."
        ),
    )


#: `projection_start: cutoff` starts the projection at the config's data cut-off.
START_AT_CUTOFF = "cutoff"


class _ScenarioCore(ConfigModel):
    """The settings of a scenario other than its switches (`ScenarioSettings` adds one field per switch)."""

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
    projection_start: date | Literal["cutoff"] = Field(
        "cutoff",
        description="Date the projection starts, or `cutoff`: the data cut-off (what is known when it starts).",
    )
    nowcast: Nowcast = Field(Nowcast(), description="How the projection is tied to the record at its start.")
    historical_trend: HistoricalTrend = Field(
        HistoricalTrend(), description="Where the historical demand arm gets its level and growth."
    )
    compute_trend: ComputeTrend = Field(
        ComputeTrend(), description="Where the compute demand arm gets its level and growth."
    )
    compute_limits: ComputeLimits | None = Field(
        None,
        description=(
            "Limits that bend the compute trend (spending share of GWP or a dollar cap, power, chips; "
            "forecast.config.compute_limits), in place of compute_slowdown; null: none."
        ),
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

    @model_validator(mode="after")
    def _one_bend(self) -> _ScenarioCore:
        """Limits and a hand-set slowdown are two answers to one question: what bends the compute trend."""
        if self.compute_limits is not None and self.compute_slowdown is not None:
            raise PathError(
                "compute_limits replaces compute_slowdown: set compute_slowdown: null where limits are given",
                ("compute_limits",),
            )
        return self

    @model_validator(mode="after")
    def _horizon_after_start(self) -> _ScenarioCore:
        """A projection must cover at least one year (a start at the cut-off is checked by the config)."""
        if isinstance(self.projection_start, date) and self.horizon <= self.projection_start.year:
            raise PathError(
                f"horizon {self.horizon} is not after the projection start {self.projection_start.isoformat()}",
                ("horizon",),
            )
        return self


# One field per scenario switch, named after it, typed by its settings and documented by its module
# (`forecast.projection.switches`): the config does not name the switches.
ScenarioSettings = create_model(
    "ScenarioSettings",
    __base__=_ScenarioCore,
    __module__=__name__,
    __doc__="Everything a scenario can set; the defaults here are the documented defaults of every scenario.",
    **{
        name: (switch.Settings, Field(switch.Settings(), description=switch.DESCRIPTION))
        for name, switch in SWITCHES.items()
    },
)


def _inherit(name: str) -> Any:
    """An optional override field documented like its ScenarioSettings counterpart."""
    base = ScenarioSettings.model_fields[name].description
    return Field(None, description=f"{base} Omit (or null) to inherit from `defaults`.")


class _ScenarioOverrideCore(ConfigModel):
    """The overrides of a scenario other than its switches (`ScenarioOverride` adds one field per switch)."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique scenario name: lowercase letters, digits, . _ -")
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
    projection_start: date | Literal["cutoff"] | None = _inherit("projection_start")
    nowcast: Nowcast | None = _inherit("nowcast")
    historical_trend: HistoricalTrend | None = _inherit("historical_trend")
    compute_trend: ComputeTrend | None = _inherit("compute_trend")
    compute_limits: ComputeLimits | None = Field(
        None,
        description=(
            "Limits on compute, merged key by key into the default (a null limit inside switches it off). Omit "
            "to inherit; an explicit null means no limits in this scenario."
        ),
    )
    stock_growth: Literal["users_model", "prior"] | None = _inherit("stock_growth")
    priors: PriorOverrides | None = _inherit("priors")


ScenarioOverride = create_model(
    "ScenarioOverride",
    __base__=_ScenarioOverrideCore,
    __module__=__name__,
    __doc__="One named scenario: states only what differs from `defaults` (nested settings merge key by key).",
    **{name: (switch.Settings | None, _inherit(name)) for name, switch in SWITCHES.items()},
)


class ResolvedScenario(ScenarioSettings):
    """A scenario with every setting filled in (defaults merged with the scenario's overrides)."""

    name: str = Field(pattern=NAME_PATTERN, description="Scenario name.")
    description: str = Field("", description="What the scenario represents.")


# ----------------------------------------------------------------------------------------------------
# Merging a scenario into the defaults
# ----------------------------------------------------------------------------------------------------

#: Settings for which an explicit null in a scenario means "none" rather than "inherit".
_NULL_MEANS_NONE = frozenset({"compute_slowdown", "compute_limits"})


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
