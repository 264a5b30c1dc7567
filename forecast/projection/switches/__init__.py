"""The scenario switches, registered in one place: the paper's open questions as switches of a scenario.

A switch is one module (`human_share`, `synthetic`, `extra_stocks`) holding its settings model and cited priors,
its draws, how it changes the stock or the demand, and the result fields it adds. A scenario has one field per
switch, named after it and typed by its settings (`forecast.config.scenario` builds them from `SWITCHES`). The
projection computes the same scenario with every switch off as its baseline, so each effect on the date is a
paired difference over the same draws. The report finds each switch's figure and section by the switch's name.

Adding a switch: write its module (the `Switch` protocol below), add it to `SWITCHES` (and to `EFFECT_ORDER`),
and give it a section in the report template, with its rows and figures under its name in the report package
(`forecast.report.context.SWITCH_SECTIONS`, `forecast.report.figures.switches.SWITCH_FIGURES`; tests check both).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import BaseModel

from forecast.priors import Prior
from forecast.projection.switches import extra_stocks, human_share, synthetic

if TYPE_CHECKING:
    from forecast.projection.crossing import Crossing


#: How a switch replaces the stock: (settings, inputs, public stock paths, grid) → its stock on the whole grid.
StockReplacement = Callable[[Any, dict[str, np.ndarray], Any, np.ndarray], Any]


class Switch(Protocol):
    """What the config, the projection and the report need of a switch (each switch module provides it)."""

    NAME: str  # the scenario field, the stream prefix of its draws and the report's name for it
    DESCRIPTION: str  # the config field's description
    Settings: type[BaseModel]  # its settings (pydantic, with an `enabled` flag; priors as `forecast.priors.Prior`)

    #: The stock it puts in place of the public one, if any: (its `ProjectionCache` kind, a function
    #: (settings, inputs, public stock paths, grid) → a stock on the whole grid).
    REPLACED_STOCK: tuple[str, StockReplacement] | None

    def added_stock(self, settings: Any, inputs: dict[str, np.ndarray], n: int) -> np.ndarray | None:
        """Tokens per draw it adds to the stock, held constant in time (None: it adds none)."""
        ...

    def draw_inputs(self, settings: Any, posterior: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
        """Its uncertain inputs per draw, named for the sensitivity table."""
        ...

    def cited_priors(self, settings: Any) -> list[tuple[str, Prior]]:
        """Its priors by name, for the report's table of sources."""
        ...

    #: The result fields it adds (`ScenarioResult.switch_results`), with what they read as when it is off.
    RESULT_DEFAULTS: Mapping[str, Any]

    #: Its variables in the exhaustion draws, name → (units, description): one value per draw, one per scenario.
    DRAW_VARIABLES: Mapping[str, tuple[str, str]]
    SCENARIO_VARIABLES: Mapping[str, tuple[str, str]]

    def exhaustion_values(self, result: Any) -> dict[str, Any]:
        """Its exhaustion variables of one scenario result (switched off too): draws (n,) or a scalar."""
        ...

    def results(
        self, settings: Any, projection: Any, inputs: dict[str, np.ndarray], main: Crossing, baseline: Crossing
    ) -> dict[str, Any]:
        """The result fields it adds, from the scenario's projection and its main and baseline crossings."""
        ...

    def effects(self, result: Any) -> list[tuple[str, np.ndarray]]:
        """(effect label, dates per draw) rows it adds to the effects table."""
        ...


#: The switches by name, in the order of the scenario's fields and of the inputs they draw.
SWITCHES: MappingProxyType[str, Switch] = MappingProxyType(
    {switch.NAME: switch for switch in (human_share, synthetic, extra_stocks)}
)

#: Every switch's result fields, with what they read as when the switch is off (`ScenarioResult` reads them).
RESULT_DEFAULTS: MappingProxyType[str, Any] = MappingProxyType(
    {name: value for switch in SWITCHES.values() for name, value in switch.RESULT_DEFAULTS.items()}
)

#: The switches' variables of the exhaustion draws, name → (units, description), in registry order.
DRAW_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {name: entry for switch in SWITCHES.values() for name, entry in switch.DRAW_VARIABLES.items()}
)
SCENARIO_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {name: entry for switch in SWITCHES.values() for name, entry in switch.SCENARIO_VARIABLES.items()}
)

#: The order of the switches' rows in the effects table (each stock before the synthetic-data dates).
EFFECT_ORDER = ("human_share", "extra_stocks", "synthetic")


def settings_of(scenario: Any, name: str) -> Any:
    """A scenario's settings of the named switch."""
    return getattr(scenario, name)


def enabled(scenario: Any) -> Iterator[tuple[Switch, Any]]:
    """The switches a scenario turns on, with its settings of each, in registry order."""
    for name, switch in SWITCHES.items():
        settings = settings_of(scenario, name)
        if settings.enabled:
            yield switch, settings


def any_enabled(scenario: Any) -> bool:
    """Whether a scenario turns on any switch (and so needs a baseline with them off)."""
    return any(True for _ in enabled(scenario))


def replaced_stock(scenario: Any) -> tuple[str, str, StockReplacement] | None:
    """(switch name, cache kind, build) of the enabled switch that replaces the public stock; None if none does.

    One switch replaces the stock today (`human_share`); a second would need its build to start from the first's.
    """
    replacing = [(switch.NAME, *switch.REPLACED_STOCK) for switch, _ in enabled(scenario) if switch.REPLACED_STOCK]
    if len(replacing) > 1:
        raise NotImplementedError(f"switches {[name for name, *_ in replacing]} each replace the stock")
    return replacing[0] if replacing else None


def added_stock(scenario: Any, inputs: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    """Tokens per draw the enabled switches add to the stock, summed in registry order (None: none adds any)."""
    added = [
        extra
        for switch, settings in enabled(scenario)
        if (extra := switch.added_stock(settings, inputs, n)) is not None
    ]
    return functools.reduce(np.add, added) if added else None


def switch_inputs(scenario: Any, posterior: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-draw inputs of the enabled switches, named for the sensitivity table."""
    inputs: dict[str, np.ndarray] = {}
    for switch, settings in enabled(scenario):
        inputs.update(switch.draw_inputs(settings, posterior, n, seed))
    return inputs


def switch_results(
    scenario: Any, projection: Any, inputs: dict[str, np.ndarray], main: Crossing, baseline: Crossing
) -> dict[str, Any]:
    """The result fields the enabled switches add."""
    fields: dict[str, Any] = {}
    for switch, settings in enabled(scenario):
        fields.update(switch.results(settings, projection, inputs, main, baseline))
    return fields


def switch_effects(result: Any) -> list[tuple[str, np.ndarray]]:
    """The effect rows of the switches whose results a scenario result holds, in `EFFECT_ORDER`."""
    rows: list[tuple[str, np.ndarray]] = []
    for name in EFFECT_ORDER:
        rows += SWITCHES[name].effects(result)
    return rows


def exhaustion_values(result: Any) -> dict[str, Any]:
    """Every switch's exhaustion variables of one scenario result (`DRAW_VARIABLES`, `SCENARIO_VARIABLES`)."""
    values: dict[str, Any] = {}
    for switch in SWITCHES.values():
        values.update(switch.exhaustion_values(result))
    return values


def cited_priors(scenario: Any) -> list[tuple[str, Prior]]:
    """The cited priors of the switches a scenario turns on, by name."""
    return [item for switch, settings in enabled(scenario) for item in switch.cited_priors(settings)]
