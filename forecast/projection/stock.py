"""Supply: the effective stock of public human text (tokens) over time, as log10 paths.

S_eff(t) = N_IW · B_P / bytes_per_token · growth(t) · Q · M(epochs)          ([P2] §2.2–2.3, METHOD_NOTES A.0)

- N_IW unique indexed pages, B_P plain-text bytes per page, bytes per token: the raw indexed-web stock in 2024.
- growth(t): either the paper's prior (page-size × page-count growth per year), or the internet-users model:
  the stock grows with cumulative person-years online (the paper's own robustness model, [P2] §2.2.2 / A.6),
  with the adoption curve fitted to data in `forecast.model.frontier`.
- Q quality fraction; M(epochs) the Muennighoff et al. 2023 effective-data multiplier for repeated epochs.

One evaluator per stock: `StockPaths` evaluates the public stock in closed form at any times, a grid (T,) giving
(n, T) and times per draw (n, k) the same values at the same points; `HumanOnlyStock` holds the human-only stock,
which needs the whole grid. Dense paths (bands, figures, tests) are these evaluated on the whole grid.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from forecast.projection.demand import time_major

STAGES = ("raw", "quality", "effective")

# Fitted repetition constant R*_D of the effective-data formula D' = U + U·R*·(1 − exp(−R/R*)),
# Muennighoff et al. 2023, huggingface/datablations README "Parametric Fit" (METHOD_NOTES A.3.1).
MUENNIGHOFF_R_STAR_D = 15.387756


def repetition_multiplier(epochs: np.ndarray | float) -> np.ndarray:
    """Effective data D'/U after `epochs` passes over U unique tokens (R = epochs − 1 repetitions)."""
    repetitions = np.asarray(epochs, dtype=float) - 1.0
    if np.any(repetitions < 0):
        raise ValueError("epochs must be at least 1")
    return 1.0 + MUENNIGHOFF_R_STAR_D * (1.0 - np.exp(-repetitions / MUENNIGHOFF_R_STAR_D))


def epochs_for_multiplier(multiplier: np.ndarray | float) -> np.ndarray:
    """Inverse of `repetition_multiplier`; the multiplier must lie in [1, 1 + R*)."""
    m = np.asarray(multiplier, dtype=float)
    if np.any((m < 1) | (m >= 1 + MUENNIGHOFF_R_STAR_D)):
        raise ValueError(f"a repetition multiplier must lie in [1, {1 + MUENNIGHOFF_R_STAR_D:.3f})")
    return 1.0 - MUENNIGHOFF_R_STAR_D * np.log(1.0 - (m - 1.0) / MUENNIGHOFF_R_STAR_D)


# A byte-level BPE token covers at least one byte. The paper's reflected-lognormal prior for bytes per token
# (6 − LogNormal, [C2]) puts ~0.1% of its mass at or below zero; those draws are raised to this floor.
MIN_BYTES_PER_TOKEN = 1.0


def log10_raw_stock(indexed_pages: np.ndarray, bytes_per_page: np.ndarray, bytes_per_token: np.ndarray) -> np.ndarray:
    """log10 tokens of the raw indexed web at the anchor date ([P2] Eq. 1 without growth)."""
    per_token = np.maximum(bytes_per_token, MIN_BYTES_PER_TOKEN)
    return np.log10(indexed_pages) + np.log10(bytes_per_page) - np.log10(per_token)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), computed stably."""
    return np.logaddexp(0.0, x)


def users_log_person_years(year: float, adoption_midpoint: np.ndarray, adoption_rate: np.ndarray) -> np.ndarray:
    """log of softplus(k(year − t0)): log cumulative person-years online at `year`, up to a constant."""
    k, t0 = np.asarray(adoption_rate), np.asarray(adoption_midpoint)
    return np.log(softplus(k * (year - t0)))


def _users_growth(
    t: np.ndarray,
    adoption_midpoint: np.ndarray,
    adoption_rate: np.ndarray,
    production_drift: np.ndarray,
    anchor: float,
    at_anchor: np.ndarray,
) -> np.ndarray:
    """log10 stock growth since `anchor` in the users model, for arrays that broadcast together (any layout).

    The stock grows with cumulative person-years online times a per-user production drift: with penetration
    L·σ(k(t − t0)) the person-years since −∞ are L·softplus(k(t − t0))/k, so the ratio to the anchor year
    (`at_anchor`, `users_log_person_years` there) needs neither L nor the population level (population growth
    is not modelled). `production_drift` is the yearly log-change of text produced per user-year ([P2] assumes 0).
    """
    ratio = np.log(softplus(adoption_rate * (t - adoption_midpoint))) - at_anchor
    drift = production_drift * (t - anchor)
    return (ratio + drift) / np.log(10.0)


def users_growth_rate(year: float, adoption_midpoint: np.ndarray, adoption_rate: np.ndarray) -> np.ndarray:
    """Yearly growth rate of cumulative person-years online at `year` (k·σ/softplus), for reporting."""
    x = np.asarray(adoption_rate) * (year - np.asarray(adoption_midpoint))
    return np.asarray(adoption_rate) / (1.0 + np.exp(-x)) / softplus(x)


def human_only_log10_stock(
    grid: np.ndarray, log10_stock: np.ndarray, ai_share: np.ndarray, from_year: float, discount: float
) -> np.ndarray:
    """Stock counting only the human part of content added after `from_year`.

    Increments of the stock after `from_year` are scaled by (1 − discount·ai_share(t)); `discount` in [0, 1] is
    the confidence in the AI-text detectors behind `ai_share` (0 ignores them). The grid must be increasing and
    start at or before `from_year` so that every discounted increment is on it.
    """
    return np.log10(
        _human_only_tokens(
            grid, np.array(log10_stock, dtype=float), np.array(ai_share, dtype=float), from_year, discount
        )
    )


def _human_only_tokens(
    grid: np.ndarray, log10_stock: np.ndarray, ai_share: np.ndarray, from_year: float, discount: float
) -> np.ndarray:
    """`human_only_log10_stock` in tokens, computed in the buffers of its (row-major) arguments, which it overwrites.

    Few large temporaries: the dense human-only stock is the costliest path of a run, and fresh arrays of this
    size cost page faults as well as memory traffic.
    """
    if grid[0] > from_year:
        raise ValueError(f"the grid starts at {grid[0]:.2f}, after {from_year:.2f}: extend it back")
    stock = np.power(10.0, log10_stock, out=log10_stock)
    increments = np.empty_like(stock)
    increments[:, 0] = stock[:, 0] - stock[:, 0]  # as np.diff with the first column prepended
    np.subtract(stock[:, 1:], stock[:, :-1], out=increments[:, 1:])
    late = int(np.searchsorted(grid, from_year, side="right"))  # the (increasing) grid's points after from_year
    weight = ai_share[:, late:]
    np.multiply(weight, discount, out=weight)
    np.subtract(1.0, weight, out=weight)  # 1 − discount·share
    increments[:, late:] *= weight
    np.cumsum(increments, axis=1, out=increments)
    increments += stock[:, :1]
    return increments


# Row blocks of `in_row_blocks`: small enough for the cache, spread over up to MAX_THREADS threads (numpy releases
# the GIL in its loops, so blocks run in parallel).
BLOCK_ROWS = 500
MAX_THREADS = 4


def in_row_blocks(
    compute: Callable[[slice], tuple[np.ndarray, ...]],
    n: int,
    widths: tuple[int | None, ...],
    threads: int | None = None,
) -> tuple[np.ndarray, ...]:
    """compute(rows) for blocks of the n rows, on up to `threads` threads (default: one per CPU, at most
    MAX_THREADS), each output stacked over the blocks.

    `compute` returns one array per entry of `widths`: (rows, width), or (rows,) for None. For elementwise work
    on large per-draw paths whose rows are independent (the human-only stock): the result is the same as one
    block, in a fraction of the time on a machine with several cores.
    """
    bounds = np.linspace(0, n, max(1, n // BLOCK_ROWS) + 1).astype(int)
    blocks = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    workers = max(1, min(threads or os.cpu_count() or 1, MAX_THREADS, len(blocks)))
    outs = tuple(np.empty((n,) if width is None else (n, width)) for width in widths)

    def fill(rows: slice) -> None:
        for out, values in zip(outs, compute(rows), strict=True):
            out[rows] = values

    if workers == 1:
        for rows in blocks:
            fill(rows)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, blocks))
    return outs


def _take(values: np.ndarray, rows: np.ndarray | slice | None) -> np.ndarray:
    return values if rows is None else values[rows]


@dataclass(frozen=True)
class StockPaths:
    """The public stock of every draw in closed form, to evaluate at any times.

    log10 raw(t) = raw0 + growth(t), quality = raw + log10 Q, effective = quality + log10 M(epochs), with the
    same operations wherever it is evaluated, so a value at a grid point equals the whole grid's. Growth follows
    either the prior factor (`yearly_factor`, constant per year) or the internet-users model (`_users_growth`).
    """

    raw0: np.ndarray  # log10 tokens of the raw indexed web at the anchor
    quality_offset: np.ndarray  # log10 Q
    repetition_offset: np.ndarray  # log10 M(epochs)
    anchor: float
    yearly_factor: np.ndarray | None = None  # prior growth model
    adoption_midpoint: np.ndarray | None = None  # users model
    adoption_rate: np.ndarray | None = None
    production_drift: np.ndarray | None = None
    at_anchor: np.ndarray | None = None  # users model: `users_log_person_years` at the anchor

    @classmethod
    def from_inputs(
        cls,
        indexed_pages: np.ndarray,
        bytes_per_page: np.ndarray,
        bytes_per_token: np.ndarray,
        quality_fraction: np.ndarray,
        epochs: np.ndarray,
        anchor: float,
        yearly_factor: np.ndarray | None = None,
        adoption_midpoint: np.ndarray | None = None,
        adoption_rate: np.ndarray | None = None,
        production_drift: np.ndarray | None = None,
    ) -> StockPaths:
        """Per-draw stock inputs; give `yearly_factor` (prior growth) or the three users-model inputs."""
        users = yearly_factor is None
        return cls(
            raw0=log10_raw_stock(indexed_pages, bytes_per_page, bytes_per_token),
            quality_offset=np.log10(quality_fraction),
            repetition_offset=np.log10(repetition_multiplier(epochs)),
            anchor=anchor,
            yearly_factor=yearly_factor,
            adoption_midpoint=adoption_midpoint,
            adoption_rate=adoption_rate,
            production_drift=production_drift,
            at_anchor=users_log_person_years(anchor, adoption_midpoint, adoption_rate) if users else None,
        )

    def _growth(self, t: np.ndarray, rows: np.ndarray | slice | None) -> np.ndarray:
        """log10 growth since the anchor, time-major: t (k, 1) or (k, m), result (k, m)."""
        if self.yearly_factor is not None:
            return np.log10(_take(self.yearly_factor, rows)) * (t - self.anchor)
        return _users_growth(
            t,
            _take(self.adoption_midpoint, rows),
            _take(self.adoption_rate, rows),
            _take(self.production_drift, rows),
            self.anchor,
            _take(self.at_anchor, rows),
        )

    def growth(self, t: np.ndarray, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """log10 growth since the anchor (draws, times)."""
        return self._growth(time_major(t), rows).T

    def stages(self, t: np.ndarray, rows: np.ndarray | slice | None = None) -> dict[str, np.ndarray]:
        """log10 tokens of the raw, quality-filtered and effective stock (draws, times)."""
        raw = _take(self.raw0, rows) + self._growth(time_major(t), rows)
        quality = raw + _take(self.quality_offset, rows)
        effective = quality + _take(self.repetition_offset, rows)
        return {"raw": raw.T, "quality": quality.T, "effective": effective.T}

    def effective(self, t: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """log10 tokens of the effective stock."""
        return self.stages(t, rows)["effective"]

    def most_growth(self, start: float) -> np.ndarray:
        """Per draw, an upper bound on d log10 stock / dt (OOM/yr) at every time from `start` on.

        Prior model: the constant log10 of the yearly factor. Users model: (k·σ(x)/softplus(x) + drift) / ln 10
        with x = k(t − t0); σ/softplus falls as x grows (its derivative has the sign of e^x − softplus(x) < 0),
        so for either sign of k the rate is largest at t = `start`.
        """
        if self.yearly_factor is not None:
            return np.log10(self.yearly_factor)
        rate = users_growth_rate(start, self.adoption_midpoint, self.adoption_rate)
        return (rate + self.production_drift) / np.log(10.0)


@dataclass(frozen=True)
class HumanOnlyStock:
    """The stock counting only human text after a date (`human_only_log10_stock`), on a whole grid.

    Its increments are discounted month by month, so it has no closed form at single points: the effective stage
    is held as tokens (n, T) on the grid and its log10 taken where needed. The raw and quality stages are the
    effective stage less the (per-draw constant) repetition and quality offsets: the discount scales every stage's
    increments alike, so this equals computing each stage separately up to rounding (~1e-15 relative).
    """

    tokens: np.ndarray  # (n, T) effective human-only stock on the grid, tokens
    quality_offset: np.ndarray
    repetition_offset: np.ndarray
    step_growth: np.ndarray | None = None  # `most_step_growth`, when computed with the stock

    @classmethod
    def from_paths(
        cls,
        paths: StockPaths,
        extended: np.ndarray,
        size: int,
        ai_share: Callable[[slice], np.ndarray],
        from_year: float,
        discount: float,
        threads: int | None = None,
    ) -> HumanOnlyStock:
        """The human-only effective stock on the last `size` points of `extended` (which must reach back to
        `from_year`); ai_share(rows) is the AI share of new text (rows, len(extended)) of a block of draws.

        The one stock that needs every grid point, so it is computed in row blocks on up to `threads` threads
        (`in_row_blocks`), with its largest step growth while the block is at hand.
        """

        def block(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            log10_stock = np.ascontiguousarray(paths.effective(extended, rows))  # row-major like the AI share
            share = ai_share(rows)
            if not (share.flags.owndata and share.flags.writeable and share.flags.c_contiguous):
                share = np.array(share, dtype=float)  # `_human_only_tokens` overwrites it
            tokens = _human_only_tokens(extended, log10_stock, share, from_year, discount)[:, -size:]
            return tokens, _most_step_growth(tokens)

        tokens, step_growth = in_row_blocks(block, paths.raw0.size, (size, None), threads)
        return cls(tokens, paths.quality_offset, paths.repetition_offset, step_growth)

    def _at(self, index: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            return self.tokens[:, index] if index.ndim == 1 else np.take_along_axis(self.tokens, index, axis=1)
        return self.tokens[rows[:, None], index if index.ndim == 2 else index[None, :]]

    def effective(self, index: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """log10 tokens of the effective stock at grid indices (k,) or per row (len(rows), k)."""
        return np.log10(self._at(np.asarray(index), rows))

    def stages(self, index: np.ndarray, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """log10 tokens of the three stages at grid indices."""
        effective = self.effective(index, rows)
        quality = effective - _take(self.repetition_offset, rows)[:, None]
        return {"raw": quality - _take(self.quality_offset, rows)[:, None], "quality": quality, "effective": effective}

    def most_step_growth(self) -> np.ndarray:
        """Per draw, the largest rise of log10 stock from one grid point to the next (OOM), from the grid itself."""
        return self.step_growth if self.step_growth is not None else _most_step_growth(self.tokens)


def _most_step_growth(tokens: np.ndarray) -> np.ndarray:
    """Per row of a stock in tokens (n, T), the largest rise of its log10 from one point to the next."""
    ratio = tokens[:, 1:] / tokens[:, :-1]
    return np.log10(ratio.max(axis=1)) if ratio.shape[1] else np.zeros(tokens.shape[0])


def with_extra(log10_effective: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """log10 of the effective stock (n, k) plus a constant extra stock per draw (n,)."""
    return np.log10(10.0**log10_effective + extra[:, None])
