"""How numbers read on a page: token counts, shares, e-notation, and the dash that stands for a missing value.

A base module (standard library only) so that the run's report and the backtest's page format alike without one
importing the other.
"""

from __future__ import annotations

import math

#: Stands for a missing or undefined value in tables.
DASH = "—"
#: Token counts from this size up read in trillions (300T); smaller ones in e-notation.
TRILLION = 1e12
#: From this many trillions up, token counts read as whole trillions (2100T), below with three digits (6.5T).
WHOLE_TRILLIONS_FROM = 100
#: Shares that a whole percentage would round to 0% or 100% although they are not: (0, 0.5%) and [99.5%, 1).
BELOW_ONE_PERCENT = 0.005
ABOVE_99_PERCENT = 0.995


def format_sci(value: float | None, approximate: bool = False) -> str:
    """2 significant digits in e-notation (5.4e14); missing as '—'."""
    if value is None or not math.isfinite(value):
        return DASH
    mantissa, exponent = f"{float(value):.1e}".split("e")
    text = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"~{text}" if approximate else text


def format_tokens(value: float | None) -> str:
    """Token counts in trillions (300T) from 1e12 up, else in e-notation."""
    if value is None or not math.isfinite(value):
        return DASH
    if value < TRILLION:
        return format_sci(value)
    trillions = float(value) / TRILLION
    return f"{trillions:.0f}T" if trillions >= WHOLE_TRILLIONS_FROM else f"{trillions:.3g}T"


def format_percent(value: float | None) -> str:
    """A share as a whole percentage; shares that would round to 0% or 100% but are not read '<1%' / '>99%'."""
    if value is None or not math.isfinite(value):
        return DASH
    share = float(value)
    if 0 < share < BELOW_ONE_PERCENT:
        return "<1%"
    if ABOVE_99_PERCENT <= share < 1:
        return ">99%"
    return f"{100 * share:.0f}%"
