"""The contract of `compute_supply.csv`: the inputs of the compute arm built from what compute costs (training-run
cost, hardware price-performance and energy efficiency, gross world product, published growth rates and limits).

Long format like `web_growth.csv`, with a `subject` (the model or hardware a row measures) instead of `metric`, and
a reliability tag that may be `D` (arithmetic on cited numbers, inputs in `notes`). Documented in data/README.md.
"""

from __future__ import annotations

from forecast.data.checks import (
    REQUIRED_RELIABILITY,
    REQUIRED_SOURCE,
    VALUE_RANGE_RULES,
    TableSpec,
    column,
    date_format_check,
    number_check,
    one_of,
    text,
)

SUPPLY_FILE = "compute_supply.csv"

SUPPLY_COLUMNS: tuple[str, ...] = (
    "series",
    "subject",
    "date",
    "value",
    "value_low",
    "value_high",
    "unit",
    "source",
    "reliability",
    "notes",
)

#: What each series measures (its rows' unit is stated per row; these are the closed set of series).
SUPPLY_SERIES: dict[str, str] = {
    "training_cost_usd": "cost of one training run (USD; amortised hardware + energy unless notes say otherwise)",
    "realised_flop_per_usd": "training compute of a run per USD of its cost (FLOP/USD)",
    "hardware_flop_per_second_per_usd": "peak FLOP/s of an ML accelerator per USD of its price",
    "hardware_flop_per_joule": "peak FLOP per joule of an ML accelerator (FLOP/s over its power, W)",
    "gross_world_product_usd": "world GDP in current US dollars, per year",
    "gross_world_product_usd_constant": "world GDP in constant US dollars, per year",
    "growth_rate": "a published growth rate (factor per year)",
    "limit": "a published limit or anchor of one training run",
}

#: Reliability tags of this file: the usual three and `D` (derived by arithmetic on cited numbers).
SUPPLY_RELIABILITY: tuple[str, ...] = ("P", "A", "S", "D")


def supply_spec() -> TableSpec:
    """The checks of compute_supply.csv: every number positive, low <= high, a source and a tag on every row."""
    positive = number_check("expected a positive number", above=0.0)
    columns = {
        "series": column(one_of(tuple(SUPPLY_SERIES), "a series, one of"), required=True),
        "subject": text(),
        "date": column(date_format_check(), required=True),
        "value": column(positive),
        "value_low": column(positive),
        "value_high": column(positive),
        "unit": text(required=True),
        "source": text(required=True),
        "reliability": column(one_of(SUPPLY_RELIABILITY), required=True),
        "notes": text(),
    }
    return TableSpec(
        SUPPLY_COLUMNS,
        columns,
        VALUE_RANGE_RULES,
        {
            "source": REQUIRED_SOURCE,
            "reliability": f"{REQUIRED_RELIABILITY}: {', '.join(SUPPLY_RELIABILITY)}",
        },
    )
