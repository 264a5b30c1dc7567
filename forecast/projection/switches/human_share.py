"""The human-share switch: count only the human part of web text added after ChatGPT.

Why: part of the text added to the web since late 2022 is written by language models, and the exhaustion date
is about human text. With the switch on, stock increments after `from_year` count by (1 − discount·c(t)), c(t)
the fitted AI share of new web text (`forecast.model.ai_share`, fitted in the main model with prefix `ai_`).
The switch's draws are those posterior draws; it adds no result fields of its own (its effect is the scenario's
main date against the baseline).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from forecast.errors import InputError
from forecast.priors import Prior
from forecast.projection import stock

if TYPE_CHECKING:
    from forecast.projection.crossing import Crossing

NAME = "human_share"
DESCRIPTION = "Count only the human part of web text added after ChatGPT, using the fitted AI share."

# ChatGPT's release, 2022-11-30 = 2022 + 333/365 ≈ 2022.91: text added before it counts fully as human.
CHATGPT_RELEASE_YEAR = 2022.9

#: Posterior variables of the fitted AI share (model prefix `ai_`) → parameters of `ai_share`.
AI_PARAMS = {"ai_c_max": "c_max", "ai_k": "k", "ai_t0": "t0"}


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


Settings = HumanShareSettings

#: No result fields and no exhaustion variables of its own.
RESULT_DEFAULTS: MappingProxyType[str, Any] = MappingProxyType({})
DRAW_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({})
SCENARIO_VARIABLES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({})


def draw_inputs(
    settings: HumanShareSettings, posterior: dict[str, np.ndarray], n: int, seed: int
) -> dict[str, np.ndarray]:
    """The posterior draws of the fitted AI share (no forward draws)."""
    missing = [name for name in AI_PARAMS if name not in posterior]
    if missing:
        raise InputError(
            "human_share needs the fitted AI share, but this fit has none: the AI-share measurements known at the "
            "data cut-off do not cover every series (data/web_growth.csv)"
        )
    return {name: posterior[name] for name in AI_PARAMS}


def cited_priors(settings: HumanShareSettings) -> list[tuple[str, Prior]]:
    """None: the AI share is fitted, its priors are the fit's."""
    return []


def results(
    settings: HumanShareSettings, projection: Any, inputs: dict[str, np.ndarray], main: Crossing, baseline: Crossing
) -> dict[str, Any]:
    """No result fields beyond the main date (which this switch moves)."""
    return {}


def exhaustion_values(result: Any) -> dict[str, Any]:
    """None: its effect is the main date."""
    return {}


def effects(result: Any) -> list[tuple[str, np.ndarray]]:
    """No effect rows beyond the scenario as configured."""
    return []


def _ai_share(extended: np.ndarray, inputs: dict[str, np.ndarray], rows: slice | None = None) -> np.ndarray:
    """c(t) per draw on `extended`; the model module is imported here, when used, because the config imports
    this module for its settings and should not pay for pandas and xarray."""
    from forecast.model.ai_share import ai_share

    return ai_share(extended, *(inputs[name] if rows is None else inputs[name][rows] for name in AI_PARAMS))


def human_share_grid(settings: HumanShareSettings, grid: np.ndarray) -> np.ndarray:
    """The projection grid extended back (same step) to cover `from_year`."""
    step = grid[1] - grid[0]
    back = int(np.ceil((grid[0] - settings.from_year) / step - 1e-9))
    return np.concatenate([grid[0] - step * np.arange(max(back, 0), 0, -1), grid])


def discount_ai_share(
    settings: HumanShareSettings,
    inputs: dict[str, np.ndarray],
    extended: np.ndarray,
    stocks: dict[str, np.ndarray],
    size: int,
) -> dict[str, np.ndarray]:
    """Stocks counting only human text added after `from_year`, trimmed to the last `size` grid points."""
    share = _ai_share(extended, inputs)
    return {
        stage: stock.human_only_log10_stock(extended, path, share, settings.from_year, settings.discount)[:, -size:]
        for stage, path in stocks.items()
    }


def human_only_stock(
    settings: HumanShareSettings,
    inputs: dict[str, np.ndarray],
    paths: stock.StockPaths,
    grid: np.ndarray,
    threads: int | None = None,
) -> stock.HumanOnlyStock:
    """The human-only stock on `grid` (computed on the grid extended back to `from_year`, in row blocks on up to
    `threads` threads, default one per CPU)."""
    extended = human_share_grid(settings, grid)

    def share(rows: slice) -> np.ndarray:
        return _ai_share(extended, inputs, rows)

    return stock.HumanOnlyStock.from_paths(
        paths, extended, grid.size, share, settings.from_year, settings.discount, threads
    )


#: The stock it puts in place of the public one: (its `ProjectionCache` kind, its build from the public paths).
REPLACED_STOCK = ("human-only stock", human_only_stock)


def added_stock(settings: HumanShareSettings, inputs: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    """None: it discounts the stock's growth instead (`REPLACED_STOCK`)."""
    return None
