"""Demand: the largest training dataset (tokens) over time, as log10 paths over a time grid.

Two arms, as in Villalobos et al. 2024 ([P2] §2.4, Eqs. 2–4):
- historical: the frontier dataset grows log-linearly (fitted here; the paper bootstraps it);
- compute: the frontier training compute C(t) grows log-linearly with an optional slowdown, and the dataset is the
  Chinchilla-optimal one for that compute, D = sqrt(20·k·C / 6) for an overtraining factor k ([P2] Eq. 3, fn. 23).

`DemandPaths` is the one evaluator of these paths: it takes per-draw parameters (shape (n,)) and evaluates at a
grid of decimal years (T,), giving (n, T), or at times per draw (n, k), where the values are exactly those of the
whole grid; nothing loops over draws. The projection evaluates it only at the grid points it needs; bands,
figures and tests that want the dense paths evaluate it on the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from forecast.model.trend import frontier_log10, record_quantile_path

# C = 6·N·D: training FLOP per parameter per token (Kaplan et al. 2020; [P2] Eq. 3).
FLOP_PER_PARAMETER_TOKEN = 6.0
# Compute-optimal tokens per parameter (Hoffmann et al. 2022, "Chinchilla"; [P2] Eq. 3).
CHINCHILLA_TOKENS_PER_PARAMETER = 20.0

ProfitPolicy = Literal["near_optimal", "5x", "100x"]

# Data multiple of the profit-maximising policy vs compute-optimal at two compute levels, from running the
# [C2] profit model (METHOD_NOTES A.10 table, reproduction [R]). As in [C2] `numerical_optscal_data`, the
# policy is a straight line in log-log space through the first and last converged grid points.
#   near_optimal = (V0 1e13, r 7, h 1.1): D/N 16 at 1e24 FLOP, 10.9 at 1e28 -> data multiple sqrt((D/N)/20)
#   5x           = (V0 1e15, r 7, h 2):   data multiple 2.26 at 1e24, 2.06 at 1e28
#   100x         = (V0 1e16, r 10, h 2.4): data multiple 9.8 at 1e24, 15.3 at 1e28
PROFIT_POLICY_POINTS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "near_optimal": ((24.0, float(np.sqrt(16 / 20))), (28.0, float(np.sqrt(10.9 / 20)))),
    "5x": ((24.0, 2.26), (28.0, 2.06)),
    "100x": ((24.0, 9.8), (28.0, 15.3)),
}


def log10_chinchilla_tokens(log10_compute: np.ndarray, overtraining: float = 1.0) -> np.ndarray:
    """log10 of D = sqrt(20·k·C/6): the dataset of a run using compute C at k× Chinchilla tokens/parameter."""
    factor = CHINCHILLA_TOKENS_PER_PARAMETER * overtraining / FLOP_PER_PARAMETER_TOKEN
    return 0.5 * (np.log10(factor) + log10_compute)


def log10_compute_for_tokens(log10_tokens: np.ndarray, overtraining: float = 1.0) -> np.ndarray:
    """Inverse of `log10_chinchilla_tokens`: C = 6·D² / (20·k)."""
    factor = CHINCHILLA_TOKENS_PER_PARAMETER * overtraining / FLOP_PER_PARAMETER_TOKEN
    return 2.0 * log10_tokens - np.log10(factor)


def log10_profit_multiple(log10_compute: np.ndarray, policy: ProfitPolicy) -> np.ndarray:
    """log10 of the data multiple over compute-optimal chosen by a [P2] App. F profit-model policy."""
    (c1, m1), (c2, m2) = PROFIT_POLICY_POINTS[policy]
    slope = (np.log10(m2) - np.log10(m1)) / (c2 - c1)
    return np.log10(m1) + slope * (log10_compute - c1)


def overtrained_log10_tokens(
    log10_optimal_tokens: np.ndarray,
    log10_compute: np.ndarray,
    factor: float = 1.0,
    profit_policy: ProfitPolicy | None = None,
) -> np.ndarray:
    """Dataset of an overtrained run at the same compute as a compute-optimal run with `log10_optimal_tokens`."""
    if profit_policy is not None:
        return log10_optimal_tokens + log10_profit_multiple(log10_compute, profit_policy)
    return log10_optimal_tokens + 0.5 * np.log10(factor)


def observed_log10_overtraining(log10_tokens: np.ndarray, log10_compute: np.ndarray) -> np.ndarray:
    """log10 k of a run (or a frontier) with D tokens at C FLOP: the k with D = sqrt(20·k·C/6), the multiple of
    Chinchilla's tokens per parameter it used (Llama 3.1 405B, 15.6T tokens at 3.8e25 FLOP: k ≈ 1.9)."""
    return (
        2.0 * np.asarray(log10_tokens)
        - np.asarray(log10_compute)
        - np.log10(CHINCHILLA_TOKENS_PER_PARAMETER / FLOP_PER_PARAMETER_TOKEN)
    )


def time_major(grid: np.ndarray) -> np.ndarray:
    """Times with the draws along the last axis: a grid (k,) as (k, 1), times per draw (m, k) as (k, m).

    Per-draw parameters (m,) then broadcast without reshaping, and numpy runs its inner loops over the draws: at a
    few times per draw that is several times faster than over the times of each draw. Values are the same.
    """
    t = np.asarray(grid, dtype=float)
    return t[:, None] if t.ndim == 1 else t.T


def _compute_path(
    t: np.ndarray,
    level: np.ndarray,
    growth: np.ndarray,
    anchor: float,
    slowdown_year: np.ndarray | None,
    growth_after: np.ndarray | float,
) -> np.ndarray:
    """log10 frontier compute: the frontier line until `slowdown_year` (per draw), then `growth_after` OOM/yr.

    Arrays broadcast together (any layout). The line is evaluated at min(t, slowdown), which is exactly the
    elapsed time capped at the slowdown (rounding a difference is monotone).
    """
    if slowdown_year is None:
        return frontier_log10(t, level, growth, anchor)
    after_slowdown = np.maximum((t - anchor) - (slowdown_year - anchor), 0.0)
    return frontier_log10(np.minimum(t, slowdown_year), level, growth, anchor) + growth_after * after_slowdown


@dataclass(frozen=True)
class ComputeCaps:
    """Limits on the frontier run's compute, each a line in log10 FLOP per draw: level at `anchor` and slope.

    Every limit of `forecast.projection.compute_limits` is a product of factors that grow exponentially (spending
    cap × FLOP per dollar; power × FLOP per joule × duration; chips × FLOP/s × duration), so it is linear in log
    space. Compute follows its trend U(t) until a limit bends it: log10 C = −w·log10(10^(−U/w) + Σ_j 10^(−K_j/w)),
    a smooth minimum of U and the limits K_j whose bend is `width_oom` wide (C ≤ min; within w·log10(1 + k) of it).
    """

    names: tuple[str, ...]  # the limits, e.g. ("spending", "power", "chips")
    level: np.ndarray  # (k, n) log10 FLOP at `anchor`
    slope: np.ndarray  # (k, n) OOM/yr
    anchor: float
    width_oom: float

    def lines(self, t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """(k, *t.shape) log10 FLOP of each limit at times `t` (time-major) for the selected draws."""
        level = self.level if rows is None else self.level[:, rows]
        slope = self.slope if rows is None else self.slope[:, rows]
        return level[:, None, :] + slope[:, None, :] * (np.asarray(t)[None] - self.anchor)

    def bend(self, uncapped: np.ndarray, t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """log10 compute: the smooth minimum of the trend `uncapped` and every limit.

        Written from the lowest line m: C = m − w·log10(Σ over all lines of 10^((m − line)/w)), every exponent ≤ 0,
        so nothing overflows however far apart the lines are (the same value as the definition above)."""
        lines = self.lines(t, rows)
        low = np.minimum(uncapped, lines.min(axis=0))
        per_oom = np.log(10.0) / self.width_oom
        total = np.exp((low - uncapped) * per_oom)
        total += np.exp((low[None] - lines) * per_oom).sum(axis=0)
        return low - np.log(total) / per_oom

    def binding(self, uncapped: np.ndarray, t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """Index of what sets compute at `t`: 0 for the trend, 1 + j for the j-th limit (the lowest line)."""
        return np.argmin(np.concatenate([uncapped[None], self.lines(t, rows)]), axis=0)

    def least_slope(self) -> np.ndarray:
        """Per draw, the smallest slope of the limits (the smooth minimum's slope is a mix of the lines')."""
        return self.slope.min(axis=0)


def profit_slope(policy: ProfitPolicy) -> float:
    """d log10(data multiple) / d log10(compute) of a profit policy (a straight line in log-log space)."""
    (c1, m1), (c2, m2) = PROFIT_POLICY_POINTS[policy]
    return float((np.log10(m2) - np.log10(m1)) / (c2 - c1))


def _take(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


@dataclass(frozen=True)
class OvertrainingPath:
    """The compute arm's tokens per compute over time: log10 k(t) = start + clip(target − start, ±rate·(t − t0)).

    A change of practice (more or less overtraining) spreads as new frontier runs are trained, so it starts from
    today's practice at the projection start t0 and moves at most `rate` OOM/yr; it does not jump at t0, where
    the record is observed. Without a start (or a rate) k is the target from the beginning, as in [P2].
    """

    target: np.ndarray  # log10 k the scenario moves to, per draw
    start: np.ndarray | None = None  # log10 k at t0 (today's practice), per draw
    t0: float = 0.0
    rate: float | None = None  # OOM/yr of k

    def log10_k(self, t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """log10 k at times `t` (time-major, as `DemandPaths` evaluates) for the selected draws."""
        target = _take(self.target, rows)
        if self.start is None or self.rate is None:
            return np.broadcast_to(target, np.broadcast_shapes(np.shape(t), target.shape))
        start = _take(self.start, rows)
        reach = self.rate * np.maximum(np.asarray(t) - self.t0, 0.0)
        return start + np.clip(target - start, -reach, reach)

    def least_growth(self) -> np.ndarray:
        """Per draw, a lower bound on d log10 k / dt: −rate while k falls toward its target, else 0."""
        if self.start is None or self.rate is None:
            return np.zeros_like(self.target)
        return np.where(self.target < self.start, -self.rate, 0.0)


@dataclass(frozen=True)
class RecordStart:
    """Where the record of a record-process fit starts (the record known at the cut-off) and each draw's record
    scale s and quantile u (`forecast.model.record.record_quantile_path`)."""

    year: float
    log10: float
    scale: np.ndarray
    quantile: np.ndarray


# `DemandPaths.paths` of a mixture splits the draws by arm from this many times per draw on.
SPLIT_ARMS_FROM = 8


@dataclass(frozen=True)
class DemandPaths:
    """The frontier dataset and compute of every draw in closed form, to evaluate at any times.

    Holds the per-draw parameters of both arms (historical trend, compute with slowdown) and each draw's arm; the
    operations do not depend on where it is evaluated, so a value at a grid point is the same as on the whole grid.
    `rows` selects draws (None: all); `t` is a grid (T,) or times per selected draw (len(rows), k).
    """

    historical: np.ndarray  # bool (n,): the draw follows the historical-trend arm
    hist_level: np.ndarray  # log10 tokens at hist_anchor
    hist_growth: np.ndarray  # OOM/yr
    hist_anchor: float
    compute_level: np.ndarray  # log10 FLOP at compute_anchor
    compute_growth: np.ndarray  # OOM/yr before the slowdown
    compute_anchor: float
    slowdown_year: np.ndarray | None = None
    growth_after: float = 0.0  # OOM/yr after the slowdown
    factor: float = 1.0  # overtraining factor (ignored with a profit policy)
    profit_policy: ProfitPolicy | None = None
    overtrain_historical: bool = False  # overtraining also applies to the historical arm
    # An explicit path of the compute arm's tokens per compute k (log10, as a multiple of Chinchilla's), used
    # instead of `factor` when set: per draw it starts at `start_log10_k` (today's practice, at `change_start`)
    # and moves toward `target_log10_k` at up to `change_rate` OOM/yr; without a start or rate it is the
    # target throughout (see `OvertrainingPath`).
    overtraining_path: OvertrainingPath | None = None
    # A record-process fit (`forecast.model.record`): the historical arm is the record itself, from the record
    # known at `record_start_year`, each draw at its own quantile (`record_quantile_path`); None: the line.
    record: RecordStart | None = None
    # Limits that bend the compute arm's trend (spending, power, chips); None: the trend (and slowdown) alone.
    caps: ComputeCaps | None = None

    # Evaluation is time-major (`time_major`): t is (k, 1) or (k, m), per-draw parameters (m,), results (k, m).

    def _historical(self, rows: np.ndarray | None, t: np.ndarray, with_compute: bool) -> tuple:
        """(tokens, compute) on the historical arm: compute is the Chinchilla compute of the trend's tokens.

        Without `with_compute`, compute is None unless the tokens need it (overtraining on this arm)."""
        level, growth = _take(self.hist_level, rows), _take(self.hist_growth, rows)
        if self.record is None:
            optimal = frontier_log10(t, level, growth, self.hist_anchor)
        else:
            r = self.record
            at_start = frontier_log10(r.year, level, growth, self.hist_anchor)
            optimal = record_quantile_path(
                t, at_start, growth, _take(r.scale, rows), r.year, r.log10, _take(r.quantile, rows)
            )
        if not self.overtrain_historical:
            return optimal, log10_compute_for_tokens(optimal) if with_compute else None
        compute = log10_compute_for_tokens(optimal)
        return overtrained_log10_tokens(optimal, compute, self.factor, self.profit_policy), compute

    def _compute_flop(self, rows: np.ndarray | None, t: np.ndarray) -> np.ndarray:
        """log10 FLOP of the compute arm (time-major): the trend with its slowdown, bent by the limits."""
        slowdown = None if self.slowdown_year is None else _take(self.slowdown_year, rows)
        level, growth = _take(self.compute_level, rows), _take(self.compute_growth, rows)
        after = np.broadcast_to(np.asarray(self.growth_after, dtype=float), level.shape)
        compute = _compute_path(t, level, growth, self.compute_anchor, slowdown, after)
        return compute if self.caps is None else self.caps.bend(compute, t, rows)

    def _compute(self, rows: np.ndarray | None, t: np.ndarray, with_compute: bool) -> tuple:
        """(tokens, compute) on the compute arm: the dataset of the frontier compute."""
        compute = self._compute_flop(rows, t)
        if self.overtraining_path is not None:
            return log10_chinchilla_tokens(compute) + 0.5 * self.overtraining_path.log10_k(t, rows), compute
        tokens = overtrained_log10_tokens(log10_chinchilla_tokens(compute), compute, self.factor, self.profit_policy)
        return tokens, compute

    def _evaluate(self, t: np.ndarray, rows: np.ndarray | None, with_compute: bool) -> tuple:
        """(tokens, compute or None) as (draws, times), each draw on its own arm (see `paths`)."""
        t = time_major(t)
        arm = _take(self.historical, rows)
        if arm.all():
            result = self._historical(rows, t, with_compute)
        elif not arm.any():
            result = self._compute(rows, t, with_compute)
        elif t.shape[0] < SPLIT_ARMS_FROM:
            historical, compute = self._historical(rows, t, with_compute), self._compute(rows, t, with_compute)
            tokens = np.where(arm, historical[0], compute[0])
            result = tokens, np.where(arm, historical[1], compute[1]) if with_compute else None
        else:
            selected = np.arange(arm.size) if rows is None else rows
            tokens, compute = np.empty((t.shape[0], arm.size)), np.empty((t.shape[0], arm.size))
            for mask, arm_paths in ((arm, self._historical), (~arm, self._compute)):
                arm_times = t if t.shape[1] == 1 else t[:, mask]
                tokens[:, mask], compute[:, mask] = arm_paths(selected[mask], arm_times, True)
            result = tokens, compute
        return tuple(None if values is None else values.T for values in result)

    def paths(self, t: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(log10 tokens of the frontier dataset, log10 FLOP of the frontier run), each draw on its own arm.

        Compute is Chinchilla-equivalent on the historical arm. A mixture evaluates at a few times per draw (a
        refinement step) both arms on every draw and picks per draw, which is cheaper than splitting the draws;
        at many times per draw it splits them.
        """
        return self._evaluate(t, rows, with_compute=True)

    def tokens(self, t: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """log10 tokens of the frontier dataset."""
        return self._evaluate(t, rows, with_compute=False)[0]

    def compute(self, t: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """log10 FLOP of the frontier run (Chinchilla-equivalent on the historical arm)."""
        return self._evaluate(t, rows, with_compute=True)[1]

    def compute_arm(self, t: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(log10 FLOP of the compute arm, index of what sets it or None without limits) at times `t`, for every
        selected draw whichever arm it follows: 0 is the trend, 1 + j the j-th of `caps.names`."""
        tm = time_major(t)
        if self.caps is None:
            return self._compute_flop(rows, tm).T, None
        trend = replace(self, caps=None)._compute_flop(rows, tm)
        return self.caps.bend(trend, tm, rows).T, self.caps.binding(trend, tm, rows).T

    def arms_at(self, year: float) -> tuple[np.ndarray, np.ndarray]:
        """(log10 tokens of the historical arm, log10 FLOP of the compute arm) of every draw at `year`, whichever
        arm the draw follows: what the two fitted frontiers say at one date."""
        t = time_major(np.array([year]))
        historical, _ = self._historical(None, t, with_compute=False)
        _, compute = self._compute(None, t, with_compute=True)
        return historical[0], compute[0]

    def least_growth(self) -> np.ndarray:
        """Per draw, a lower bound on d log10 tokens / dt (OOM/yr) at every time.

        Every path is piecewise linear in t: the historical arm grows at its trend (times 1 + 2·slope of the
        profit policy when overtraining applies to it), the compute arm at (1/2 + slope) times the compute growth
        before and after the slowdown. The bound is the smaller of the pieces.
        """
        slope = profit_slope(self.profit_policy) if self.profit_policy is not None else 0.0
        # The record stays flat until it is broken: no growth is guaranteed on that arm.
        trend = np.zeros_like(self.hist_growth) if self.record is not None else self.hist_growth
        historical = trend * (1.0 + 2.0 * slope if self.overtrain_historical else 1.0)
        per_compute = 0.5 + slope
        compute = per_compute * self.compute_growth
        if self.slowdown_year is not None:
            compute = np.minimum(compute, per_compute * np.broadcast_to(self.growth_after, compute.shape))
        if self.caps is not None:
            compute = np.minimum(compute, per_compute * self.caps.least_slope())
        if self.overtraining_path is not None:
            compute = compute + 0.5 * self.overtraining_path.least_growth()
        return np.where(self.historical, historical, compute)

    def rising_window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per draw, years (start, end) and a lower bound on d log10 tokens / dt between them, for draws where
        `least_growth` has to be 0 or small on the whole grid:

        - the record of a record-process fit stays at the record known at the start until the year τ at which
          its quantile path (`trend.record_quantile_path`) rises above it, and from then on grows at least at the
          frontier's growth g (its slope is g / (1 − exp(−g(t − c)/s)) ≥ g for g > 0): (τ, +inf, g). τ solves
          F(c) + s·log((s/g)·expm1(g(τ − c)/s)) − s·log(−log u) = start;
        - compute bent by limits grows as the smooth minimum's weights mix the slopes: while every limit K_j is
          at least δ_j above the trend U, C' ≥ g_U − Σ_j 10^(−(K_j − U)/w)·(g_U − s_j) ≥ g_U/2 with
          δ_j = w·log10(2k(g_U − s_j)/g_U): (−inf, the first year a limit comes that near, per_compute·g_U/2);
        - any other draw: (−inf, +inf, least_growth). Nothing proven: a window that is empty or has growth 0.
        """
        growth = self.least_growth()
        start, end = np.full(growth.shape, -np.inf), np.full(growth.shape, np.inf)
        slope = profit_slope(self.profit_policy) if self.profit_policy is not None else 0.0
        if self.caps is not None and self.slowdown_year is None:
            g, caps = self.compute_growth, self.caps
            gap = caps.level - frontier_log10(caps.anchor, self.compute_level, g, self.compute_anchor)  # K_j − U
            slower = np.maximum(g[None] - caps.slope, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                near = caps.width_oom * np.log10(2.0 * caps.slope.shape[0] * slower / g[None])
                years = np.where(slower > 0, caps.anchor + (gap - near) / slower, np.inf)
            until = np.min(years, axis=0)
            per_compute = 0.5 + slope
            bound = per_compute * 0.5 * g
            if self.overtraining_path is not None:
                bound = bound + 0.5 * self.overtraining_path.least_growth()
            proven = ~self.historical & (g > 0) & (per_compute > 0)
            end = np.where(proven, until, end)
            growth = np.where(proven, np.maximum(bound, growth), growth)
        if self.record is not None:
            r = self.record
            g, scale = self.hist_growth, np.broadcast_to(r.scale, self.hist_growth.shape)
            at_start = frontier_log10(r.year, self.hist_level, g, self.hist_anchor)
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                z = (r.log10 - at_start) / scale + np.log(-np.log(r.quantile))
                elapsed = (scale / g) * np.log1p((g / scale) * np.exp(z))
            proven = self.historical & (g > 0) & np.isfinite(elapsed)
            after = g * (1.0 + 2.0 * slope if self.overtrain_historical else 1.0)
            start = np.where(self.historical, np.where(proven, r.year + np.maximum(elapsed, 0.0), np.inf), start)
            growth = np.where(self.historical, np.where(proven, after, 0.0), growth)
        return start, end, growth
