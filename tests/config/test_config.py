"""Scenario config: presets, merge semantics, schema, hashing, and one-line errors with file, line and key."""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from forecast.config import (
    ComputeSlowdown,
    Config,
    Overtraining,
    Prior,
    ScenarioOverride,
    ScenarioSettings,
    UniformRange,
    config_hash,
    fit_hash,
    fit_key,
    json_schema,
    list_presets,
    load_config,
    parse_config,
    resolve,
)
from forecast.config.compute_limits import ComputeLimits
from forecast.errors import ConfigError, InputError

BAD_YAML = Path(__file__).parents[1] / "fixtures" / "bad_yaml"
PRESET_DIR = Path(__file__).parents[2] / "forecast" / "config" / "presets"

DEFAULT_SCENARIOS = [
    "historical",
    "compute-observed",
    "compute-optimal",
    "compute-5x",
    "compute-10x",
    "compute-100x",
    "mixture-observed",
    "mixture-optimal",
    "mixture-5x",
    "mixture-10x",
    "mixture-100x",
    "mixture-human-share",
    "mixture-synthetic",
    "mixture-spending-plateau",
    "mixture-power-limited",
    "mixture-nonpublic",
]
VILLALOBOS_SCENARIOS = ["compute-optimal", "overtrained-5x", "overtrained-100x"]


def _config(text: str) -> Config:
    return parse_config(text, "test.yml")


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _config(text)
    return str(info.value)


# ---------------------------------------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------------------------------------


def test_presets_are_listed_with_descriptions() -> None:
    presets = list_presets()
    assert set(presets) == {"default", "villalobos2024"}
    assert all(description and "\n" not in description for description in presets.values())


def test_default_preset_resolves() -> None:
    config = load_config("default")
    scenarios = {s.name: s for s in resolve(config)}
    assert list(scenarios) == DEFAULT_SCENARIOS
    assert scenarios["historical"].scaling == "historical"
    assert scenarios["compute-optimal"].scaling == "compute"
    assert scenarios["compute-optimal"].overtraining.factor == 1
    assert scenarios["compute-optimal"].overtraining.baseline == "chinchilla"
    assert scenarios["compute-observed"].overtraining.baseline == "observed"
    assert scenarios["compute-10x"].overtraining.factor == 10
    assert scenarios["mixture-100x"].scaling == "mixture"
    assert scenarios["mixture-100x"].overtraining.factor == 100
    for scenario in scenarios.values():
        assert scenario.historical_trend.source == "fitted"
        assert scenario.stock_growth == "users_model"
        assert scenario.overtraining.applies_to == "compute"
        # Compute is bent by spending, power and chip limits, not a hand-set slowdown year.
        assert scenario.compute_slowdown is None
        assert scenario.compute_limits is not None and scenario.compute_limits.limits() == (
            "spending",
            "power",
            "chips",
        )
        # Projections start from what is known at the cut-off, and are tied to the record there.
        assert scenario.projection_start == config.data.cutoff
        assert scenario.nowcast.condition_on_record
        assert scenario.overtraining.change_oom_per_year == 0.6
    assert config.data.cutoff >= dt.date(2026, 6, 30)
    assert scenarios["mixture-human-share"].human_share.enabled
    assert scenarios["mixture-synthetic"].synthetic.enabled
    assert scenarios["mixture-nonpublic"].extra_stocks.enabled
    assert not any(s.human_share.enabled or s.synthetic.enabled for s in list(scenarios.values())[:11])
    assert config.sampler.draws == 1000 and config.sampler.chains == 4
    assert config.data.cutoff == dt.date(2026, 6, 30)


def test_villalobos_preset_resolves() -> None:
    scenarios = {s.name: s for s in resolve(load_config("villalobos2024"))}
    assert list(scenarios) == VILLALOBOS_SCENARIOS
    for scenario in scenarios.values():
        assert scenario.scaling == "mixture"
        assert scenario.historical_trend.source == "given"
        assert scenario.stock_growth == "prior"
        assert scenario.overtraining.applies_to == "all"
        # The paper's own limit only: spending up to a share of GWP ([P2] fn. 20).
        assert scenario.compute_slowdown is None
        assert scenario.compute_limits is not None and scenario.compute_limits.limits() == ("spending",)
    assert scenarios["compute-optimal"].overtraining.factor == 1
    assert scenarios["compute-optimal"].overtraining.profit_model is None
    assert scenarios["overtrained-5x"].overtraining.profit_model == "5x"
    assert scenarios["overtrained-100x"].overtraining.profit_model == "100x"


def test_preset_can_be_loaded_by_path() -> None:
    by_path = load_config(PRESET_DIR / "default.yml")
    assert config_hash(by_path) == config_hash(load_config("default"))


def test_code_defaults_match_documented_values() -> None:
    settings_ = ScenarioSettings()
    assert settings_.scaling == "mixture"
    assert settings_.horizon == 2060
    assert settings_.compute_slowdown is not None
    assert settings_.compute_slowdown.start_year == UniformRange(low=2030, high=2040)
    assert settings_.compute_slowdown.growth_after_oom_per_year == pytest.approx(0.18)
    fit = Config.model_validate({"schema_version": 1, "scenarios": [{"name": "a"}]}).fit
    assert (fit.dataset_level_2024.mean, fit.dataset_level_2024.sd) == (13.0, 1.0)
    assert (fit.compute_growth.mean, fit.compute_growth.sd) == (0.6, 0.4)


# ---------------------------------------------------------------------------------------------------------
# Merge semantics
# ---------------------------------------------------------------------------------------------------------

MERGE_DOC = """
schema_version: 1
defaults:
  scaling: compute
  overtraining: {applies_to: all}
  priors:
    bytes_per_page: {low: 6000, high: 9000}
scenarios:
  - name: base
  - name: five
    overtraining: {factor: 5}
  - name: quality
    priors:
      quality_fraction: {low: 0.2, high: 0.5}
  - name: no-slowdown
    compute_slowdown: null
  - name: slow-later
    compute_slowdown: {start_year: 2045}
  - name: csv-bytes
    priors: {bytes_per_page: null}
  - name: null-scaling
    scaling: null
  - name: profit
    overtraining: {profit_model: 5x}
"""


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return {s.name: s for s in resolve(_config(MERGE_DOC))}


def test_unstated_settings_inherit(merged: dict[str, Any]) -> None:
    base = merged["base"]
    assert base.scaling == "compute"
    assert base.overtraining == Overtraining(applies_to="all")
    assert base.compute_slowdown == ComputeSlowdown()
    assert base.priors.bytes_per_page == Prior(low=6000, high=9000)


def test_nested_override_keeps_other_keys(merged: dict[str, Any]) -> None:
    assert merged["five"].overtraining == Overtraining(factor=5, applies_to="all")
    assert merged["profit"].overtraining == Overtraining(profit_model="5x", applies_to="all")


def test_prior_override_keeps_other_overrides(merged: dict[str, Any]) -> None:
    priors = merged["quality"].priors
    assert priors.quality_fraction == Prior(low=0.2, high=0.5)
    assert priors.bytes_per_page == Prior(low=6000, high=9000)
    assert priors.per_user_production_growth == ScenarioSettings().priors.per_user_production_growth


def test_explicit_null_slowdown_means_no_slowdown(merged: dict[str, Any]) -> None:
    assert merged["no-slowdown"].compute_slowdown is None


def test_partial_slowdown_merges(merged: dict[str, Any]) -> None:
    slowdown = merged["slow-later"].compute_slowdown
    assert slowdown == ComputeSlowdown(start_year=2045, growth_after_oom_per_year=0.18)


def test_explicit_null_prior_restores_csv_prior(merged: dict[str, Any]) -> None:
    assert merged["csv-bytes"].priors.bytes_per_page is None


def test_null_plain_setting_inherits(merged: dict[str, Any]) -> None:
    assert merged["null-scaling"].scaling == "compute"


LIMITS_DOC = """
schema_version: 1
defaults:
  scaling: compute
  compute_slowdown: null
  compute_limits:
    spending_cap_usd: {low: 5.0e9, high: 2.0e10}
    bend_width_oom: 0.5
scenarios:
  - name: inherits
  - name: power-only
    compute_limits: {spending_share_of_gwp: null, spending_cap_usd: null, chips_h100e: null}
  - name: wider-power
    compute_limits: {power_gw: {distribution: lognormal, low: 2.0, high: 90.0, mass: 0.9}}
  - name: unlimited
    compute_limits: null
"""


@pytest.fixture(scope="module")
def limited() -> dict[str, Any]:
    return {s.name: s for s in resolve(_config(LIMITS_DOC))}


def test_compute_limits_inherit_from_defaults(limited: dict[str, Any]) -> None:
    limits = limited["inherits"].compute_limits
    assert limits.spending_cap_usd == Prior(low=5.0e9, high=2.0e10)
    assert limits.bend_width_oom == 0.5
    # Keys the defaults left out keep the code's cited priors.
    assert limits.power_gw == ComputeLimits().power_gw
    assert limits.limits() == ("spending", "power", "chips")


def test_compute_limits_merge_key_by_key(limited: dict[str, Any]) -> None:
    power_only = limited["power-only"].compute_limits
    # Explicit nulls inside the block switch those limits off; the other keys stay as the defaults set them.
    assert power_only.limits() == ("power",)
    assert power_only.bend_width_oom == 0.5
    wider = limited["wider-power"].compute_limits
    assert wider.power_gw == Prior(distribution="lognormal", low=2.0, high=90.0, mass=0.9)
    assert wider.spending_cap_usd == Prior(low=5.0e9, high=2.0e10)
    assert wider.chips_h100e == ComputeLimits().chips_h100e


def test_null_compute_limits_means_no_limits(limited: dict[str, Any]) -> None:
    assert limited["unlimited"].compute_limits is None
    assert limited["unlimited"].compute_slowdown is None


def test_bad_compute_limit_is_reported_at_its_key() -> None:
    message = _error(
        "schema_version: 1\ndefaults:\n  compute_slowdown: null\nscenarios:\n"
        "  - name: a\n    compute_limits: {utilisation: {low: 0.3, high: 1.5}}\n"
    )
    assert message.startswith("test.yml: line 6: scenarios[0].compute_limits")
    assert "utilisation is a fraction of peak" in message


def test_merge_conflict_is_reported_at_the_scenario() -> None:
    message = _error(
        "schema_version: 1\ndefaults:\n  overtraining: {factor: 5}\nscenarios:\n"
        "  - name: a\n    overtraining: {profit_model: 5x}\n"
    )
    assert message.startswith("test.yml: line 6: scenarios[0].overtraining: give either factor or profit_model")


def test_override_model_mirrors_settings() -> None:
    assert set(ScenarioSettings.model_fields) <= set(ScenarioOverride.model_fields)
    assert all(ScenarioOverride.model_fields[name].default is None for name in ScenarioSettings.model_fields)


# ---------------------------------------------------------------------------------------------------------
# JSON Schema
# ---------------------------------------------------------------------------------------------------------


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("Config", schema), *schema["$defs"].items()]


def test_schema_has_descriptions_everywhere() -> None:
    for name, obj in _objects(json_schema()):
        for key, prop in obj["properties"].items():
            assert prop.get("description"), f"{name}.{key} has no description"


def test_schema_rejects_unknown_keys() -> None:
    for name, obj in _objects(json_schema()):
        assert obj.get("additionalProperties") is False, name


# ---------------------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------------------

SMALL = "schema_version: 1\nseed: 7\nscenarios:\n  - name: a\n    overtraining: {factor: 5}\n"


def test_config_hash_is_stable() -> None:
    reordered = "scenarios:\n  - overtraining: {factor: 5}\n    name: a\nseed: 7\nschema_version: 1\n"
    assert config_hash(_config(SMALL)) == config_hash(_config(SMALL)) == config_hash(_config(reordered))
    assert len(config_hash(_config(SMALL))) == 64


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("seed: 7", "seed: 8"),
        ("factor: 5", "factor: 6"),
        ("name: a", "name: b"),
        # Stating a key that equals the model default still changes the resolved scenario when
        # `defaults` differ, so the hash must see which keys were stated.
        ("{factor: 5}", "{factor: 5, applies_to: compute}\ndefaults:\n  overtraining: {applies_to: all}"),
    ],
)
def test_config_hash_is_sensitive(old: str, new: str) -> None:
    assert config_hash(_config(SMALL)) != config_hash(_config(SMALL.replace(old, new)))


def test_fit_key_ignores_scenarios() -> None:
    a, b = _config(SMALL), _config(SMALL.replace("factor: 5", "factor: 6"))
    assert set(fit_key(a)) == {"seed", "sampler", "data", "fit"}
    assert fit_hash(a) == fit_hash(b)
    assert fit_hash(a) != fit_hash(a.model_copy(update={"seed": 8}))


# ---------------------------------------------------------------------------------------------------------
# Validation rules
# ---------------------------------------------------------------------------------------------------------


def test_interval_rules() -> None:
    with pytest.raises(ValidationError, match="low must be below high"):
        Prior(low=2, high=1)
    with pytest.raises(ValidationError, match="needs low > 0"):
        Prior(low=0, high=1)
    with pytest.raises(ValidationError, match="needs a ceiling"):
        Prior(distribution="reflected_lognormal", low=2, high=5)
    with pytest.raises(ValidationError, match="high < ceiling"):
        Prior(distribution="reflected_lognormal", low=2, high=6, ceiling=6)
    with pytest.raises(ValidationError, match="only used by reflected_lognormal"):
        Prior(low=2, high=5, ceiling=6)
    assert Prior(distribution="normal", low=-1, high=1).mass == 0.95


def test_yaml_12_floats_are_numbers() -> None:
    config = _config(
        "schema_version: 1\ndefaults:\n  priors:\n"
        "    dataset_start_tokens: {low: 3e12, high: 1.3e13, mass: 0.9}\n"
        "scenarios:\n  - name: a\n"
    )
    assert config.defaults.priors.dataset_start_tokens == Prior(low=3e12, high=1.3e13, mass=0.9)


def test_future_cutoff_rejected() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    message = _error(f"schema_version: 1\ndata:\n  cutoff: {tomorrow.isoformat()}\nscenarios:\n  - name: a\n")
    assert message.startswith("test.yml: line 3: data.cutoff: data cut-off")


def test_strict_numbers() -> None:
    message = _error("schema_version: 1\nsampler:\n  draws: true\nscenarios:\n  - name: a\n")
    assert message == "test.yml: line 3: sampler.draws: expected an integer (got true)"


def test_union_error_follows_the_form_used() -> None:
    text = "schema_version: 1\ndefaults:\n  compute_slowdown:\n    start_year: {low: 2030, hgh: 2040}\n"
    message = _error(text + "scenarios:\n  - name: a\n")
    assert "start_year.hgh: unknown key 'hgh'; did you mean 'high'?" in message


# ---------------------------------------------------------------------------------------------------------
# One-line errors for bad files
# ---------------------------------------------------------------------------------------------------------

# file -> (line or None, key path or None, expected fragment)
BAD_CASES: dict[str, tuple[int | None, str | None, str]] = {
    "typo_key.yml": (6, "scenarios[1].overtraining.factr", "unknown key 'factr'; did you mean 'factor'?"),
    "wrong_type.yml": (3, "sampler.draws", "expected an integer (got 'many')"),
    "out_of_range.yml": (4, "sampler.target_accept", "expected a value < 1 (got 1.5)"),
    "unknown_scaling.yml": (
        3,
        "defaults.scaling",
        "unknown option 'historic'; expected one of 'historical', 'compute', 'mixture'; did you mean 'historical'?",
    ),
    "invalid_syntax.yml": (5, None, "column 9: invalid YAML syntax: expected ',' or ']'"),
    "duplicate_scenario.yml": (
        6,
        "scenarios[2].name",
        "duplicate scenario name 'base' (first used by scenarios[0])",
    ),
    "duplicate_key.yml": (5, "defaults.scaling", "duplicate key 'scaling' (first given on line 3"),
    "interval_low_above_high.yml": (
        4,
        "defaults.priors.indexed_pages",
        "interval low must be below high (got low=1e+12, high=7.5e+10)",
    ),
    "quality_above_one.yml": (
        6,
        "scenarios[1].priors.quality_fraction",
        "quality fraction must lie in (0, 1] (got low=0.5, high=1.5)",
    ),
    "quality_not_positive.yml": (
        5,
        "scenarios[0].priors.quality_fraction",
        "quality fraction must lie in (0, 1] (got low=0, high=0.4)",
    ),
    "negative_growth.yml": (6, "defaults.priors.dataset_growth_oom_per_year", "negative growth interval"),
    "zero_draws.yml": (3, "sampler.draws", "expected a value >= 1 (got 0)"),
    "horizon_before_cutoff.yml": (
        7,
        "scenarios[1].horizon",
        "horizon 2020 is before the data cut-off 2024-12-31",
    ),
    "missing_schema_version.yml": (None, "schema_version", "required key is missing"),
    "unsupported_schema_version.yml": (2, "schema_version", "unsupported schema version"),
    "unknown_top_level_key.yml": (4, "scenaros", "unknown key 'scenaros'; did you mean 'scenarios'?"),
}


def test_every_bad_file_has_an_expectation() -> None:
    assert {p.name for p in BAD_YAML.glob("*.yml")} == set(BAD_CASES)


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_yaml_message(name: str) -> None:
    line, key_path, fragment = BAD_CASES[name]
    path = BAD_YAML / name
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert isinstance(info.value, InputError)
    assert "\n" not in message
    prefix = f"{path}: "
    if line is not None:
        prefix += f"line {line}"
        prefix += ": " if key_path is not None else ", "
    if key_path is not None:
        prefix += f"{key_path}: "
    assert message.startswith(prefix), message
    assert fragment in message, message


def test_several_errors_report_the_first_and_count() -> None:
    message = _error("schema_version: 1\nseed: -1\nsampler:\n  draws: 0\nscenarios:\n  - name: a\n")
    assert message == "test.yml: line 2: seed: expected a value >= 0 (got -1) (+1 more)"


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match=r"^scenarios\.yml: file not found$"):
        load_config("scenarios.yml")


def test_unknown_preset_lists_presets() -> None:
    with pytest.raises(ConfigError, match=r"^defualt: .*presets: default, villalobos2024"):
        load_config("defualt")


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "test.yml: file is empty"),
        ("- a\n", "test.yml: line 1: the top level must be a mapping of keys (got a list)"),
        ("schema_version: 1\nscenarios: []\n", "test.yml: line 2: scenarios: expected at least 1 item"),
        (
            "schema_version: 1\nscenarios:\n  - scaling: compute\n",
            "test.yml: line 3: scenarios[0].name: required",
        ),
        (
            "schema_version: 1\ndata: {cutoff: 2024-13-45}\n",
            "test.yml: line 2, column 16: invalid YAML value",
        ),
    ],
)
def test_structural_errors(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


# ---------------------------------------------------------------------------------------------------------
# Property: random damage to the default preset never escapes as anything but a one-line ConfigError
# ---------------------------------------------------------------------------------------------------------

DEFAULT_DOC = yaml.safe_load((PRESET_DIR / "default.yml").read_text(encoding="utf-8"))

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)
_MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["drop", "rename", "replace"]),
        st.integers(min_value=0, max_value=10**6),
        st.text(min_size=1, max_size=12),
        _VALUES,
    ),
    min_size=1,
    max_size=4,
)


def _slots(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (container path, key or index) in a document."""
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        items = list(doc.items())
    elif isinstance(doc, list):
        items = list(enumerate(doc))
    else:
        return out
    for key, value in items:
        out.append((*path, key))
        out.extend(_slots(value, (*path, key)))
    return out


def _mutate(doc: Any, mutation: tuple[str, int, str, Any]) -> None:
    kind, index, new_name, value = mutation
    slots = _slots(doc)
    if not slots:
        return
    *parent_path, key = slots[index % len(slots)]
    parent = doc
    for part in parent_path:
        parent = parent[part]
    if kind == "drop":
        del parent[key]
    elif kind == "rename" and isinstance(parent, dict):
        parent[new_name] = parent.pop(key)
    else:
        parent[key] = value


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MUTATIONS)
def test_mutated_default_gives_config_or_one_line_error(mutations: list[tuple[str, int, str, Any]]) -> None:
    doc = yaml.safe_load(yaml.safe_dump(DEFAULT_DOC))
    for mutation in mutations:
        _mutate(doc, mutation)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.yml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            config = load_config(path)
        except ConfigError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ")
            assert len(message.splitlines()) == 1 and "\n" not in message
        else:
            assert isinstance(config, Config)
            resolve(config)


# ---------------------------------------------------------------------------------------------------------
# Projections start from what is known
# ---------------------------------------------------------------------------------------------------------


def test_projection_starts_at_the_cutoff_unless_told_and_never_before_it() -> None:
    config = _config("schema_version: 1\ndata: {cutoff: 2025-03-31}\nscenarios:\n  - name: a\n")
    assert resolve(config)[0].projection_start == dt.date(2025, 3, 31)  # `cutoff` is the default start
    later = _config(
        "schema_version: 1\ndata: {cutoff: 2025-03-31}\nscenarios:\n  - name: a\n    projection_start: 2026-01-01\n"
    )
    assert resolve(later)[0].projection_start == dt.date(2026, 1, 1)
    message = _error(
        "schema_version: 1\ndata: {cutoff: 2025-03-31}\nscenarios:\n  - name: a\n    projection_start: 2024-01-01\n"
    )
    assert "line 5" in message and "scenarios[0].projection_start" in message
    assert "projection start 2024-01-01 is before the data cut-off 2025-03-31" in message


def test_profit_policies_are_chinchilla_multiples_only() -> None:
    message = _error(
        "schema_version: 1\nscenarios:\n  - name: a\n    overtraining: {profit_model: '5x', baseline: observed}\n"
    )
    assert "profit_model policies are multiples of Chinchilla-optimal data" in message
    message = _error(
        "schema_version: 1\nscenarios:\n  - name: a\n    overtraining: {profit_model: '5x', change_oom_per_year: 0.6}\n"
    )
    assert "no change_oom_per_year" in message
    assert "change_oom_per_year: expected a value > 0 (got 0)" in _error(
        "schema_version: 1\nscenarios:\n  - name: a\n    overtraining: {change_oom_per_year: 0}\n"
    )


def test_compute_sensitivity_names_a_scenario_of_the_file() -> None:
    text = "schema_version: 1\ncompute_sensitivity: {windows_oom: [1.0], scenario: nope}\nscenarios:\n  - name: a\n"
    assert "compute_sensitivity.scenario: unknown scenario 'nope' (the file's scenarios: a)" in _error(text)


def test_model_comparison_names_models_and_a_scenario_of_the_file() -> None:
    text = "schema_version: 1\nmodel_comparison: {models: [record-hinge], scenario: nope}\nscenarios:\n  - name: a\n"
    assert "model_comparison.scenario: unknown scenario 'nope' (the file's scenarios: a)" in _error(text)
    message = _error("schema_version: 1\nmodel_comparison: {models: [record-cubic]}\nscenarios:\n  - name: a\n")
    assert "model_comparison.models[0]" in message and "record-hinge" in message


def test_a_vintage_without_the_named_scenario_leaves_its_comparison_out() -> None:
    from forecast.config import with_cutoff

    text = (
        "schema_version: 1\ndata: {cutoff: 2026-06-30}\nmodel_comparison: {models: [record-hinge], scenario: b}\n"
        "scenarios:\n  - name: a\n  - name: b\n"
    )
    config = _config(text)
    kept = with_cutoff(config, dt.date(2025, 1, 1), scenarios=["b"])
    assert kept.model_comparison.models == ["record-hinge"]
    dropped = with_cutoff(config, dt.date(2025, 1, 1), scenarios=["a"])
    assert dropped.model_comparison.models == [] and [s.name for s in dropped.scenarios] == ["a"]
