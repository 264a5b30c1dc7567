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

Cost: both tables come from one sort of each input (`_Binned`): bin edges, bin medians and the conditional
quantiles are read off sorted arrays with numpy's own quantile arithmetic (`exhaustion.sorted_quantiles`), so the
numbers equal those of `np.quantile` / `np.median` per bin without a call per bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.hashing import sha256_bytes
from forecast.projection.crossing import sorted_quantiles

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


def _median_of_sorted(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`np.median` of each sorted group values[start : start + count]: the middle value or the mean of two."""
    upper = values[starts + counts // 2]
    lower = values[starts + (counts - 1) // 2]
    return np.where(counts % 2 == 1, upper, (lower + upper) / 2)


@dataclass(frozen=True)
class _Output:
    """The output Y once per table: its values, mean, total sum of squares and the order that sorts it."""

    y: np.ndarray
    mean: float
    ss_total: float
    order: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray) -> _Output:
        mean = y.mean()
        return cls(y, mean, float(np.sum((y - mean) ** 2)), np.argsort(y, kind="stable"))


@dataclass(frozen=True)
class _Binned:
    """An input cut into equal-count quantile bins (tied values share a bin, so there can be fewer than asked).

    `bins` is each draw's bin (0..m−1, in draw order); bins are runs of the sorted input `sorted_x`, bin b
    starting at `starts[b]` with `counts[b]` draws.
    """

    bins: np.ndarray
    sorted_x: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, n_bins: int) -> _Binned:
        sorted_x = np.sort(x)
        edges = sorted_quantiles(sorted_x, 0, x.size, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        raw = np.searchsorted(edges, x, side="right")
        label = np.cumsum(np.bincount(raw, minlength=n_bins) > 0) - 1  # bins without draws are dropped
        bins = label[raw]
        counts = np.bincount(bins)
        return cls(bins, sorted_x, np.cumsum(counts) - counts, counts)

    def first_order_index(self, out: _Output) -> float:
        """Bias-corrected correlation ratio of y on the bins (module docstring), clipped at 0."""
        y, ss_total = out.y, out.ss_total
        n, m = y.size, self.counts.size
        if m < 2 or ss_total == 0.0:
            return 0.0
        means = np.bincount(self.bins, weights=y, minlength=m) / self.counts
        ss_between = float(np.sum(self.counts * (means - out.mean) ** 2))
        ss_within = ss_total - ss_between
        return max(0.0, (ss_between - (m - 1) * ss_within / (n - m)) / ss_total)

    def curve(self, out: _Output, quantile: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per bin: median of x (the bin centre), the `quantile` of y and the count."""
        by_y = self.bins[out.order].astype(np.min_scalar_type(self.counts.size))  # small ints: radix sort
        grouped = out.y[out.order][np.argsort(by_y, kind="stable")]  # y sorted within each bin, bins in order
        levels = sorted_quantiles(grouped, self.starts, self.counts, quantile)
        return _median_of_sorted(self.sorted_x, self.starts, self.counts), levels, self.counts


def _bin_index(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-count quantile bins 0..m−1 (tied values share a bin, so m can be smaller than n_bins)."""
    return _Binned.of(np.asarray(x, dtype=float), n_bins).bins


def isotonic_regression(y: np.ndarray, weights: np.ndarray, increasing: bool = True) -> np.ndarray:
    """Weighted least-squares isotonic fit by pool-adjacent-violators.

    The algorithm and arithmetic of `scipy.optimize.isotonic_regression` (Busing 2022, JSS 102(1), Algorithm 1,
    with scipy's >= in the violation tests), written out so that a run need not import scipy.optimize (~0.7 s)
    for a few dozen bins; tests/projection/test_sensitivity.py checks that both agree.
    """
    order = slice(None) if increasing else slice(None, None, -1)
    x, w = [float(v) for v in np.asarray(y)[order]], [float(v) for v in np.asarray(weights)[order]]
    n = len(x)
    if n == 0:
        return np.array([])
    ends = [0] * (n + 1)  # block b covers x[ends[b] : ends[b + 1]]
    ends[1] = 1
    b, x_prev, w_prev, i = 0, x[0], w[0], 1
    while i < n:
        b += 1
        xb, wb = x[i], w[i]
        if x_prev >= xb:  # down violation: pool with the previous block
            b -= 1
            sb = w_prev * x_prev + wb * xb
            wb += w_prev
            xb = sb / wb
            while i < n - 1 and xb >= x[i + 1]:  # repair up violations
                i += 1
                sb += w[i] * x[i]
                wb += w[i]
                xb = sb / wb
            while b > 0 and x[b - 1] >= xb:  # repair down violations
                b -= 1
                sb += w[b] * x[b]
                wb += w[b]
                xb = sb / wb
        x[b] = x_prev = xb
        w[b] = w_prev = wb
        ends[b + 1] = i + 1
        i += 1
    fitted = np.empty(n)
    for k in range(b + 1):
        fitted[ends[k] : ends[k + 1]] = x[k]
    return fitted[order]


def _covariance(x: np.ndarray, y: np.ndarray) -> float:
    """The covariance term of `np.corrcoef(x, y)[0, 1]`, with numpy's own operations (its sign is the
    correlation's: corrcoef only divides it by positive factors; NaN there means 0 here), without the overhead."""
    pair = np.stack([x, y]).astype(float)
    pair -= pair.mean(axis=1)[:, None]
    return float(np.dot(pair, pair.T.conj())[0, 1])


def _monotone_crossing(centres: np.ndarray, levels: np.ndarray, counts: np.ndarray, target: float) -> float:
    """Where an isotonic fit of the binned curve first reaches `target` as x increases; NaN if never."""
    if centres.size < 2:
        return np.nan
    increasing = not (np.ptp(levels) > 0 and _covariance(centres, levels) < 0)
    fitted = isotonic_regression(levels, counts.astype(float), increasing=increasing)
    gap = fitted - target if increasing else target - fitted
    reached = gap >= 0
    if not reached.any():
        return np.nan
    j = int(np.argmax(reached))
    if j == 0:
        return float(centres[0]) if gap[0] == 0 else np.nan
    weight = -gap[j - 1] / (gap[j] - gap[j - 1])
    return float(centres[j - 1] + weight * (centres[j] - centres[j - 1]))


def _ranked(names: list[str], indices: list[float], columns: dict[str, Any]) -> pd.DataFrame:
    """Indices sorted from largest to smallest (ties keep input order), with their rank (and `columns`)."""
    order = np.argsort(-np.asarray(indices, dtype=float), kind="stable")
    ranked = {
        "input": [names[i] for i in order],
        "index": np.asarray(indices, dtype=float)[order],
        "rank": np.arange(1, len(names) + 1),
    }
    return pd.DataFrame(ranked | {name: [value] * len(names) for name, value in columns.items()})


def _belief(binned: _Binned, out: _Output, index: float, target: float, quantile: float) -> dict:
    """One row of `what_you_would_have_to_believe` (the curve is only traced for a non-negligible index)."""
    value = _monotone_crossing(*binned.curve(out, quantile), target) if index >= NEGLIGIBLE_INDEX else np.nan
    reachable = bool(np.isfinite(value))
    if not reachable:
        return {"value": np.nan, "prior_percentile": np.nan, "direction": None, "reachable": False}
    xs = binned.sorted_x
    median = _median_of_sorted(xs, np.array([0]), np.array([xs.size]))[0]
    return {
        "value": value,
        "prior_percentile": float(np.searchsorted(xs, value, side="right") / xs.size),  # share of draws <= value
        "direction": "increase" if value >= median else "decrease",
        "reachable": True,
    }


class BinningCache:
    """Binned inputs by content, for tables over many outputs that share inputs (scenarios drawing the same
    priors and posterior). A hit means an identical input and bin count, hence identical bins."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], _Binned] = {}

    def binned(self, x: np.ndarray, n_bins: int) -> _Binned:
        key = (sha256_bytes(memoryview(np.ascontiguousarray(x)).cast("B")), n_bins)
        if key not in self._entries:
            self._entries[key] = _Binned.of(x, n_bins)
        return self._entries[key]


def sensitivity_report(
    inputs: dict[str, np.ndarray],
    output: np.ndarray,
    target: float = 2035.0,
    quantile: float = 0.5,
    n_bins: int | None = None,
    index_only: dict[str, np.ndarray] | None = None,
    cache: BinningCache | None = None,
    columns: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(`first_order_indices`, `what_you_would_have_to_believe`) from one binning of each input.

    `index_only` inputs (e.g. the mixture's arm) get a first-order index but no "would have to believe" row;
    `cache` reuses the binning of inputs seen before (e.g. in another scenario); `columns` are constant columns
    appended to both tables (e.g. the scenario's name).
    """
    columns = columns or {}
    index_only = index_only or {}
    checked, y = _validate(inputs | index_only, output)
    if not 0.0 < quantile < 1.0:
        raise InputError(f"quantile must lie in (0, 1), got {quantile}")
    m = _resolve_bins(n_bins, y.size)
    out = _Output.of(y)
    cache = cache if cache is not None else BinningCache()
    names, indices, beliefs = [], [], []
    for name, x in checked.items():
        binned = cache.binned(x, m)
        index = binned.first_order_index(out)
        names.append(name)
        indices.append(index)
        if name in inputs:
            beliefs.append({"input": name, **_belief(binned, out, index, target, quantile), "first_order_index": index})
    table = {key: [row[key] for row in beliefs] for key in beliefs[0]} if beliefs else {}
    believe = pd.DataFrame(table | {name: [value] * len(beliefs) for name, value in columns.items()})
    return _ranked(names, indices, columns), believe


def first_order_indices(inputs: dict[str, np.ndarray], output: np.ndarray, n_bins: int | None = None) -> pd.DataFrame:
    """First-order Sobol index of each input, from paired Monte Carlo draws; columns input, index, rank."""
    checked, y = _validate(inputs, output)
    m = _resolve_bins(n_bins, y.size)
    out = _Output.of(y)
    return _ranked(list(checked), [_Binned.of(x, m).first_order_index(out) for x in checked.values()], {})


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
    return sensitivity_report(inputs, output, target, quantile, n_bins)[1]
