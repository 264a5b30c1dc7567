"""What moves the exhaustion date: variance-based sensitivity from the Monte Carlo draws we already have.

Why: a forecast built from a dozen uncertain inputs should say which of them the date actually depends on,
and what one would have to believe about each to get a different answer. Both measures here work on plain
Monte Carlo draws (posterior and prior draws), with no special sampling design.

First-order index S_i = Var(E[Y | X_i]) / Var(Y) (Sobol 1993), estimated as a bias-corrected correlation
ratio: X_i is cut into m equal-count quantile bins, and with SS_b, SS_w, SS_t the between-bin, within-bin
and total sums of squares of Y,

    S_i ≈ (SS_b − (m − 1) · SS_w / (n − m)) / SS_t,   clipped at 0.

Derivation of the correction: if Y does not depend on X_i, the bin means differ only by noise, so
E[SS_b] = (m − 1) σ² and E[SS_w] = (n − m) σ²; the raw ratio SS_b / SS_t then has expectation about
(m − 1) / (n − 1), not 0. Subtracting the noise part (m − 1) σ̂², with σ̂² = SS_w / (n − m), removes it (this is
Kelley's epsilon-squared for the correlation ratio). Binning also loses the variation of E[Y | X_i] inside a
bin, a downward bias of order 1/m² for smooth effects; m = √n / 2 (between 5 and 50) balances the two.

Censored outputs: the caller replaces "not exhausted by the horizon" by the horizon itself. That piles the
censored draws on one value, which understates Var(Y) and the influence of inputs that push dates past the
horizon; read the indices as sensitivities of the date *truncated at the horizon*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from forecast.errors import InputError

MIN_BINS = 5
MAX_BINS = 50
# Bins per √n: m = √n / 2 keeps ≥ 2√n draws per bin, so bin means have relative noise ≤ 1/√(2√n).
BINS_PER_SQRT_N = 0.5
# An input explaining less than 1% of Var(Y) is treated as unable to move the date on its own: its binned
# curve is flat up to noise, and a "crossing" found on it would be an artefact of sampling error.
NEGLIGIBLE_INDEX = 0.01
# Fewer draws than this cannot support MIN_BINS bins with a handful of draws each.
MIN_DRAWS = 4 * MIN_BINS


def default_n_bins(n: int) -> int:
    """√n / 2 bins, at least MIN_BINS and at most MAX_BINS."""
    return int(np.clip(round(BINS_PER_SQRT_N * np.sqrt(n)), MIN_BINS, MAX_BINS))


def _validate(inputs: dict[str, np.ndarray], output: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Float arrays of equal length, finite, enough draws; one-line InputError otherwise."""
    y = np.asarray(output, dtype=float).reshape(-1)
    if not inputs:
        raise InputError("sensitivity needs at least one input")
    if y.size < MIN_DRAWS:
        raise InputError(f"sensitivity needs at least {MIN_DRAWS} draws, got {y.size}")
    if not np.all(np.isfinite(y)):
        raise InputError("sensitivity output has NaN/inf: replace censored dates by the horizon first")
    checked = {}
    for name, x in inputs.items():
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.size != y.size:
            raise InputError(f"sensitivity input '{name}' has {x.size} draws, output has {y.size}")
        if not np.all(np.isfinite(x)):
            raise InputError(f"sensitivity input '{name}' has NaN/inf draws")
        checked[name] = x
    return checked, y


def _resolve_bins(n_bins: int | None, n: int) -> int:
    """The default bin count, or the caller's after checking it leaves ≥ 2 draws per bin."""
    m = default_n_bins(n) if n_bins is None else n_bins
    if not MIN_BINS <= m <= n // 2:
        raise InputError(f"n_bins must lie in [{MIN_BINS}, {n // 2}], got {m}")
    return m


def _bin_index(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-count quantile bins 0..m−1 (tied values share a bin, so m can be smaller than n_bins)."""
    edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    raw = np.searchsorted(edges, x, side="right")
    return np.unique(raw, return_inverse=True)[1]


def _first_order_index(bins: np.ndarray, y: np.ndarray) -> float:
    """Bias-corrected correlation ratio of y on the bins (module docstring), clipped at 0."""
    n, m = y.size, int(bins.max()) + 1
    ss_total = float(np.sum((y - y.mean()) ** 2))
    if m < 2 or ss_total == 0.0:
        return 0.0
    counts = np.bincount(bins, minlength=m)
    means = np.bincount(bins, weights=y, minlength=m) / counts
    ss_between = float(np.sum(counts * (means - y.mean()) ** 2))
    ss_within = ss_total - ss_between
    return max(0.0, (ss_between - (m - 1) * ss_within / (n - m)) / ss_total)


def first_order_indices(inputs: dict[str, np.ndarray], output: np.ndarray, n_bins: int | None = None) -> pd.DataFrame:
    """First-order Sobol index of each input, from paired Monte Carlo draws; columns input, index, rank."""
    checked, y = _validate(inputs, output)
    m = _resolve_bins(n_bins, y.size)
    rows = [{"input": name, "index": _first_order_index(_bin_index(x, m), y)} for name, x in checked.items()]
    table = pd.DataFrame(rows).sort_values("index", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table


def _binned_curve(x: np.ndarray, y: np.ndarray, n_bins: int, quantile: float) -> tuple[np.ndarray, ...]:
    """Per bin: median of x (the bin centre), the `quantile` of y and the count (loops over bins only)."""
    bins = _bin_index(x, n_bins)
    order = np.lexsort((y, bins))
    counts = np.bincount(bins)
    splits = np.cumsum(counts)[:-1]
    x_groups = np.split(x[order], splits)
    y_groups = np.split(y[order], splits)
    centres = np.array([np.median(g) for g in x_groups])
    levels = np.array([np.quantile(g, quantile) for g in y_groups])
    return centres, levels, counts


def _monotone_crossing(centres: np.ndarray, levels: np.ndarray, counts: np.ndarray, target: float) -> float:
    """Where an isotonic fit of the binned curve first reaches `target` as x increases; NaN if never."""
    if centres.size < 2:
        return np.nan
    trend = np.corrcoef(centres, levels)[0, 1] if np.ptp(levels) > 0 else 0.0
    increasing = not trend < 0
    fitted = isotonic_regression(levels, weights=counts.astype(float), increasing=increasing).x
    gap = fitted - target if increasing else target - fitted
    reached = gap >= 0
    if not reached.any():
        return np.nan
    j = int(np.argmax(reached))
    if j == 0:
        return float(centres[0]) if gap[0] == 0 else np.nan
    weight = -gap[j - 1] / (gap[j] - gap[j - 1])
    return float(centres[j - 1] + weight * (centres[j] - centres[j - 1]))


def what_you_would_have_to_believe(
    inputs: dict[str, np.ndarray],
    output: np.ndarray,
    target: float = 2035.0,
    quantile: float = 0.5,
    n_bins: int | None = None,
) -> pd.DataFrame:
    """For each input alone, the value at which the conditional `quantile` of Y given X_i reaches `target`.

    The conditional quantile is computed in equal-count bins of X_i, made monotone by weighted isotonic
    regression (in the direction of its trend), and interpolated linearly between bin centres. `value` is NaN
    and `reachable` False when the curve never reaches `target` between the outermost bin centres, or when the
    input's first-order index (reported as `first_order_index`) is below NEGLIGIBLE_INDEX.
    `prior_percentile` is the share of draws of X_i at or below `value`; `direction` says whether that value
    is above ("increase") or below ("decrease") the median draw. Inputs with a negligible first-order index
    would give values that are noise, hence the NEGLIGIBLE_INDEX rule.
    """
    checked, y = _validate(inputs, output)
    if not 0.0 < quantile < 1.0:
        raise InputError(f"quantile must lie in (0, 1), got {quantile}")
    m = _resolve_bins(n_bins, y.size)
    rows = []
    for name, x in checked.items():
        index = _first_order_index(_bin_index(x, m), y)
        value = _monotone_crossing(*_binned_curve(x, y, m, quantile), target)
        reachable = bool(np.isfinite(value)) and index >= NEGLIGIBLE_INDEX
        value = value if reachable else np.nan
        rows.append(
            {
                "input": name,
                "value": value,
                "prior_percentile": float(np.mean(x <= value)) if reachable else np.nan,
                "direction": ("increase" if value >= np.median(x) else "decrease") if reachable else None,
                "reachable": reachable,
                "first_order_index": index,
            }
        )
    return pd.DataFrame(rows)
