"""The config file as a whole: seed, sampler, data and fit settings, the scenarios, and what is derived from
them (the resolved scenarios, the keys and hashes that decide when to re-fit or re-run, the JSON Schema).

The per-scenario models live in `forecast.config.scenario`; reading YAML into a `Config` is `forecast.config.loader`.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from forecast.config.messages import PathError, describe_error, error_path, format_path
from forecast.config.scenario import (
    START_AT_CUTOFF,
    ConfigModel,
    Integer,
    ResolvedScenario,
    ScenarioOverride,
    ScenarioSettings,
    resolve_scenario,
)
from forecast.errors import ConfigError
from forecast.hashing import sha256_text
from forecast.priors import NormalPrior, Number

#: The only config layout this version reads; bump when a change would silently alter old files' meaning.
SCHEMA_VERSION = 1

#: Default random seed (the [P2] v2 arXiv release date, 2024-06-05); any fixed value makes runs reproducible.
DEFAULT_SEED = 20240605


#: Sanity bounds of the sampler settings: far above any useful run (1,000 draws x 4 chains give ESS ~1,000), far
#: below what would exhaust memory (1e6 draws x 64 chains x ~30 parameters x 8 bytes = 15 GB).
MAX_DRAWS = 1_000_000
MAX_CHAINS = 64


#: The blocks of the fit, each sampled on its own (`forecast.model.blocks`).
FitBlock = Literal["dataset", "compute", "adoption", "ai_share", "supply"]


class SamplerSettings(ConfigModel):
    """MCMC settings for the posterior fit."""

    backend: Literal["pymc", "nutpie"] = Field(
        "nutpie", description="NUTS implementation: nutpie (numba-compiled, Rust threads) or PyMC's own."
    )
    draws: Integer = Field(1000, ge=1, le=MAX_DRAWS, description="Posterior draws per chain.")
    tune: Integer = Field(1000, ge=0, le=MAX_DRAWS, description="Tuning (warm-up) steps per chain, discarded.")
    chains: Integer = Field(4, ge=1, le=MAX_CHAINS, description="Independent chains (>= 4 recommended for R-hat).")
    target_accept: Number = Field(
        0.98,
        gt=0,
        lt=1,
        description="NUTS target acceptance rate; higher = smaller steps, fewer divergences.",
    )
    cores: Integer = Field(2, ge=1, description="Chains sampled in parallel (does not change the result).")
    thin: Integer = Field(
        1,
        ge=1,
        le=100,
        description="Keep every thin-th draw: draws x thin are sampled per chain, `draws` kept (steadier R-hat).",
    )
    block_target_accept: dict[FitBlock, Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=dict,
        description=(
            "target_accept of single blocks of the fit (each block is sampled on its own), e.g. {compute: 0.99}; "
            "blocks not named use target_accept."
        ),
    )

    def target_accept_of(self, block: str) -> float:
        """The target acceptance rate the named block is sampled at."""
        return float(self.block_target_accept.get(block, self.target_accept))  # type: ignore[call-overload]


class DataSettings(ConfigModel):
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


class FrontierSettings(ConfigModel):
    """Which model of the largest training dataset is fitted (`forecast.model.frontier`, `forecast.model.record`)."""

    likelihood: Literal["stochastic", "record"] = Field(
        "stochastic",
        description=(
            "stochastic: a normal/half-normal frontier fitted to every frontier-candidate run; record: the largest "
            "dataset so far as the running maximum of releases (flat spells are evidence)."
        ),
    )
    growth: Literal["constant", "hinge", "local_linear"] = Field(
        "constant",
        description=(
            "How the frontier grows: a constant slope; a hinge (the slope changes once, at an uncertain date); a "
            "local linear trend (the slope follows a random walk). The last two need likelihood: record."
        ),
    )

    @model_validator(mode="after")
    def _growth_needs_record(self) -> FrontierSettings:
        if self.likelihood == "stochastic" and self.growth != "constant":
            raise ValueError(
                f"growth '{self.growth}' needs likelihood: record (the stochastic frontier has a constant slope)"
            )
        return self


#: The frontier models `forecast compare` and the run's model comparison fit: `<likelihood>-<growth>`.
FrontierModel = Literal["stochastic-constant", "record-constant", "record-hinge", "record-local_linear"]
FRONTIER_MODELS: dict[str, tuple[str, str]] = {
    name: (name.split("-", 1)[0], name.split("-", 1)[1]) for name in get_args(FrontierModel)
}


def frontier_model_name(frontier: FrontierSettings) -> str:
    """The name of a `fit.frontier` setting in `FRONTIER_MODELS`."""
    return f"{frontier.likelihood}-{frontier.growth}"


class FitSettings(ConfigModel):
    """Priors and options of the fit; `forecast.model.blocks` hands them to every block as given."""

    frontier: FrontierSettings = Field(FrontierSettings(), description="The model of the frontier dataset.")

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


class VintageSettings(ConfigModel):
    """Earlier vintages of the forecast: what the data known at each date would have said (`forecast.run.vintages`)."""

    dates: list[date] = Field(
        [],
        description=(
            "Data cut-offs to re-run the forecast at (each refits the model on what was known then); the config's "
            "own cut-off is always included. Empty: no vintages."
        ),
    )
    scenarios: list[str] = Field(
        [], description="Scenarios shown per vintage (names from `scenarios`); empty: the first scenario."
    )


class ComputeSensitivitySettings(ConfigModel):
    """The compute frontier refitted under other defensible choices (`forecast.run.compute_sensitivity`)."""

    windows_oom: list[Annotated[float, Field(gt=0)] | None] = Field(
        [],
        description=(
            "Candidate windows to refit the compute frontier with, OOM below the running record (null: every run "
            "from the fitting window on); each with and without closed models' estimated compute. Empty: off."
        ),
    )
    scenario: str | None = Field(
        None, description="The scenario whose date each refit is projected with; null: the first compute-only one."
    )


class ModelComparisonSettings(ConfigModel):
    """The frontier models compared at the data cut-off (`forecast.run.frontier_models`)."""

    models: list[FrontierModel] = Field(
        [],
        description=(
            "Frontier models to fit at the cut-off beside the config's own (only the dataset block is refitted): "
            "PSIS-LOO of each and what each does to the exhaustion date of one scenario. Empty: off."
        ),
    )
    scenario: str | None = Field(
        None, description="The scenario each model's date is projected with; null: the first historical one."
    )


class Config(ConfigModel):
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
    vintages: VintageSettings = Field(VintageSettings(), description="Earlier vintages of the forecast.")
    compute_sensitivity: ComputeSensitivitySettings = Field(
        ComputeSensitivitySettings(), description="How the compute frontier's fit depends on its selection choices."
    )
    model_comparison: ModelComparisonSettings = Field(
        ModelComparisonSettings(), description="The frontier models compared at the cut-off."
    )

    @model_validator(mode="after")
    def _check_scenarios(self) -> Config:
        """Names are unique, every merged scenario is valid, and horizons follow the data cut-off."""
        first_index: dict[str, int] = {}
        for index, scenario in enumerate(self.scenarios):
            if scenario.name in first_index:
                raise PathError(
                    f"duplicate scenario name '{scenario.name}' "
                    f"(first used by scenarios[{first_index[scenario.name]}])",
                    ("scenarios", index, "name"),
                )
            first_index[scenario.name] = index
        for index, name in enumerate(self.vintages.scenarios):
            if name not in first_index:
                raise PathError(
                    f"unknown scenario '{name}' (the file's scenarios: {', '.join(first_index)})",
                    ("vintages", "scenarios", index),
                )
        for section in ("compute_sensitivity", "model_comparison"):
            named = getattr(self, section).scenario
            if named is not None and named not in first_index:
                raise PathError(
                    f"unknown scenario '{named}' (the file's scenarios: {', '.join(first_index)})",
                    (section, "scenario"),
                )
        for index, when in enumerate(self.vintages.dates):
            if when > self.data.cutoff:
                raise PathError(
                    f"vintage {when.isoformat()} is after the data cut-off {self.data.cutoff.isoformat()}",
                    ("vintages", "dates", index),
                )
        for index, scenario in enumerate(self.scenarios):
            self._check_horizon(index, scenario)
            try:
                resolve_scenario(self.defaults, scenario)
            except ValidationError as exc:
                error = {**exc.errors()[0]}
                error["loc"] = ("scenarios", index, *error["loc"])
                raise PathError(describe_error(error, Config), error_path(error, Config)) from None
        return self

    def _check_horizon(self, index: int, scenario: ScenarioOverride) -> None:
        """Report a horizon before the cut-off or the projection start at the key that sets it."""
        horizon = scenario.horizon if scenario.horizon is not None else self.defaults.horizon
        start = self.start_date(scenario.projection_start or self.defaults.projection_start)
        if scenario.horizon is not None:
            path: tuple[str | int, ...] = ("scenarios", index, "horizon")
        elif scenario.projection_start is not None:
            path = ("scenarios", index, "projection_start")
        else:
            path = ("defaults", "horizon")
        cutoff = self.data.cutoff
        if horizon <= cutoff.year:
            raise PathError(f"horizon {horizon} is before the data cut-off {cutoff.isoformat()}", path)
        if horizon <= start.year:
            raise PathError(f"horizon {horizon} is not after the projection start {start.isoformat()}", path)
        if start < cutoff:
            own = scenario.projection_start is not None
            where = ("scenarios", index, "projection_start") if own else ("defaults", "projection_start")
            raise PathError(
                f"projection start {start.isoformat()} is before the data cut-off {cutoff.isoformat()}: a "
                f"projection starts from what is known (use `cutoff`, or move data.cutoff back)",
                where,
            )

    def start_date(self, start: date | str) -> date:
        """A projection start as a date (`cutoff` is the data cut-off)."""
        return self.data.cutoff if start == START_AT_CUTOFF else start  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------------
# Resolution, hashing, schema
# ----------------------------------------------------------------------------------------------------


def with_frontier(config: Config, model: str) -> Config:
    """The config with `fit.frontier` set to a model of `FRONTIER_MODELS` (validated like a config file's)."""
    likelihood, growth = FRONTIER_MODELS[model]
    frontier = FrontierSettings.model_validate({"likelihood": likelihood, "growth": growth})
    return config.model_copy(update={"fit": config.fit.model_copy(update={"frontier": frontier})})


def with_cutoff(config: Config, cutoff: date, scenarios: list[str] | None = None) -> Config:
    """The config as it would be with data known up to `cutoff` (and only the named scenarios), validated again:
    `forecast run --as-of` and the vintages. Scenarios starting at `cutoff` move with it; a fixed start before
    the new cut-off is an error, as in a file."""
    data = config.model_dump(mode="python", exclude_unset=True)
    data["data"] = {**data.get("data", {}), "cutoff": cutoff}
    data.pop("vintages", None)
    if scenarios is not None:
        data["scenarios"] = [s for s in data["scenarios"] if s["name"] in scenarios]
        for section in ("compute_sensitivity", "model_comparison"):  # a scenario they name may be left out
            if data.get(section, {}).get("scenario") not in (None, *scenarios):
                data.pop(section)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(
            f"as of {cutoff.isoformat()}: {format_path(error_path(error, Config))}: {describe_error(error, Config)}"
        ) from None


def resolve(config: Config) -> list[ResolvedScenario]:
    """All scenarios of a config, complete, in file order, with `projection_start: cutoff` as its date."""
    resolved = [resolve_scenario(config.defaults, scenario) for scenario in config.scenarios]
    return [s.model_copy(update={"projection_start": config.start_date(s.projection_start)}) for s in resolved]


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
    return sha256_text(text)


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
