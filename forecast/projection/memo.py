"""Where a projection's paths are evaluated, and the parts several scenarios share.

`GridPoints` holds a projection's monthly grid and its coarse points (whole years for the bands, and both ends);
`Supply` is a stock of human text on a grid with what every scenario using it needs; `ProjectionCache` keeps such
parts (and demands and crossings) so that each distinct one is computed once per run (`forecast.projection.parts`).
A part's key is what its build read, recorded as it reads (`ProjectionCache.part`), never a list kept by hand.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from forecast.hashing import sha256_stream
from forecast.projection import stock
from forecast.projection.crossing import column_quantiles

# Monthly time grid: crossing dates are interpolated between grid points, so a month is ample resolution
# against interval widths of years.
GRID_STEP_YEARS = 1.0 / 12.0
BAND_QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)

Rows = np.ndarray | None  # indices of draws; None: all draws


def read_only(values: np.ndarray) -> np.ndarray:
    """Arrays that `ProjectionCache` may share between scenarios are made read-only."""
    values.flags.writeable = False
    return values


@dataclass(frozen=True)
class GridPoints:
    """A projection's monthly grid and its coarse points: the whole years (for the bands) and both ends."""

    grid: np.ndarray
    coarse: np.ndarray  # increasing grid indices, starting at 0 and ending at the last point
    band_years: np.ndarray
    band_columns: np.ndarray  # position in `coarse` of each band year's grid point

    @classmethod
    def of(cls, grid: np.ndarray) -> GridPoints:
        """Band years are the grid's start (so a projection from mid-year is drawn from where it starts) and the
        whole years on the grid, each at its nearest grid point."""
        years = np.arange(np.ceil(grid[0] - 1e-9), np.floor(grid[-1] + 1e-9) + 1)
        if years.size == 0 or years[0] - grid[0] > 1e-9:
            years = np.concatenate([[grid[0]], years])
        index = np.clip(np.rint((years - grid[0]) / GRID_STEP_YEARS).astype(int), 0, grid.size - 1)
        coarse = np.unique(np.concatenate([[0], index, [grid.size - 1]]))
        return cls(grid, coarse, years, np.searchsorted(coarse, index))

    @property
    def steps(self) -> tuple[float, float]:
        """Smallest and largest grid step (years)."""
        steps = np.diff(self.grid)
        return (float(steps.min()), float(steps.max())) if steps.size else (GRID_STEP_YEARS, GRID_STEP_YEARS)

    def times(self, index: np.ndarray) -> np.ndarray:
        return self.grid[index]

    def bands(self, at_coarse: np.ndarray) -> np.ndarray:
        """Quantiles over draws (year, quantile) in natural units of a log10 path given at the coarse points."""
        return read_only(10.0 ** column_quantiles(at_coarse[:, self.band_columns], BAND_QUANTILES).T)


class ClosedFormOnGrid:
    """A closed-form `StockPaths` addressed by grid index, like the grid-bound `HumanOnlyStock`."""

    def __init__(self, paths: stock.StockPaths, points: GridPoints) -> None:
        self.paths, self.points = paths, points

    def stages(self, index: np.ndarray, rows: Rows = None) -> dict[str, np.ndarray]:
        return self.paths.stages(self.points.times(index), rows)

    def effective(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.paths.effective(self.points.times(index), rows)


@dataclass(frozen=True)
class Supply:
    """A stock of human text on one grid, with what every scenario using it needs.

    `at_coarse` (log10 tokens per stage at the coarse points) and `bands` are computed once; `step_growth` bounds
    the rise of log10 effective stock per grid step, per draw (`exhaustion.steadily_rising`).
    """

    paths: ClosedFormOnGrid | stock.HumanOnlyStock
    at_coarse: dict[str, np.ndarray]
    bands: dict[str, np.ndarray]
    step_growth: np.ndarray

    @classmethod
    def build(
        cls, paths: ClosedFormOnGrid | stock.HumanOnlyStock, points: GridPoints, step_growth: np.ndarray
    ) -> Supply:
        at_coarse = {stage: read_only(values) for stage, values in paths.stages(points.coarse).items()}
        return cls(paths, at_coarse, {k: points.bands(v) for k, v in at_coarse.items()}, step_growth)

    def effective(self, index: np.ndarray, rows: Rows = None) -> np.ndarray:
        return self.paths.effective(index, rows)


def content_digest(*parts: Any) -> str:
    """A hash of arrays (dtype, shape, bytes) and plain values, for cache keys (SHA-256: hardware-accelerated on
    current CPUs, faster here than BLAKE2)."""

    def chunks() -> Iterator[bytes | memoryview]:
        for part in parts:
            if isinstance(part, np.ndarray):
                yield f"{part.dtype}{part.shape}".encode()
                yield memoryview(np.ascontiguousarray(part)).cast("B")
            else:
                yield repr(part).encode()
            yield b"|"

    return sha256_stream(chunks())


class SettingsReads:
    """A resolved scenario that adds to `names` the name of each of its top-level settings read (a sub-model such
    as `overtraining`, or a value such as `stock_growth`), whatever is read inside it."""

    def __init__(self, scenario: Any, names: set[str]) -> None:
        self._scenario, self._names = scenario, names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a setting (pydantic fields never start with one); e.g. copy probing
            raise AttributeError(name)
        value = getattr(self._scenario, name)
        self._names.add(name)
        return value


class InputReads(Mapping[str, np.ndarray]):
    """Per-draw inputs that add to `names` each name read (a name looked up and absent counts as read too)."""

    def __init__(self, inputs: Mapping[str, np.ndarray], names: set[str]) -> None:
        self._inputs, self._names = inputs, names

    def __getitem__(self, name: str) -> np.ndarray:
        self._names.add(name)
        return self._inputs[name]

    def __iter__(self) -> Iterator[str]:
        self._names.update(self._inputs)
        return iter(self._inputs)

    def __len__(self) -> int:
        self._names.update(self._inputs)
        return len(self._inputs)


#: What a part read: (names of scenario settings, names of inputs), each sorted.
Reads = tuple[tuple[str, ...], tuple[str, ...]]

#: build(settings, inputs, *args) of a part: reads the scenario and the inputs only through its first two arguments.
PartBuild = Callable[..., Any]


# Arguments of a part that its key can hold exactly: arrays by their bytes, plain values by their repr.
KEY_ARGUMENT_TYPES = (np.ndarray, int, float, str, bool, type(None))


def _settings_text(scenario: Any, names: tuple[str, ...]) -> str:
    """The settings named, as text for a key: the scenario's `model_dump` of those fields (any plain object: the
    repr of each)."""
    if isinstance(scenario, BaseModel):
        return json.dumps(scenario.model_dump(mode="json", include=set(names)), sort_keys=True)
    return repr([(name, getattr(scenario, name)) for name in names])


def reads_digest(kind: str, reads: Reads, scenario: Any, inputs: Mapping[str, np.ndarray], args: tuple) -> str:
    """The key of a part of `kind` that read `reads` of this scenario and these inputs, and took `args`."""
    for arg in args:
        if not isinstance(arg, KEY_ARGUMENT_TYPES):
            raise TypeError(f"a part's arguments enter its key; {type(arg).__name__} is not an array or plain value")
    settings, names = reads
    inputs_read = [inputs.get(name, "absent") for name in names]
    return content_digest(kind, settings, names, *args, _settings_text(scenario, settings), *inputs_read)


class ProjectionCache:
    """Parts of projections that several scenarios share, computed once per distinct input and reused.

    - a stock (public or human-only) depends on the stock inputs, the growth model, the grid and the human-share
      settings, not on demand: scenarios drawing their priors with the same seed and names share the draws, so in
      the default preset all scenarios have one public stock;
    - a demand's values at the coarse points and its bands depend on the demand inputs, arms, overtraining and
      grid (compute's band not even on the overtraining);
    - a crossing of a demand with a stock (plus extra stocks), and the values at it: e.g. every extension scenario's
      baseline is the date of the mixture scenario without extensions.
    A part (`part`) is keyed by what its build read: the `model_dump` of each scenario setting it read, the bytes
    of each input array it read, and its arguments. Nothing lists those by hand, so a new setting or input that a
    build reads enters its key. Values derived from parts (crossings, bands) are keyed by the parts' keys (`get`).
    Bounded in entries and in array bytes (a default run holds ~35 MB): the least recently used go first.
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 512 * 2**20) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[tuple, tuple[Any, int, Reads | None]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        """The value under `key`, built now if absent."""
        return self._get(key, build, None)

    def part(
        self, kind: str, scenario: Any, inputs: Mapping[str, np.ndarray], build: PartBuild, *args: Any
    ) -> tuple[Any, str]:
        """build(settings, inputs, *args) of a scenario, from the cache when an earlier build read the same, and
        its key.

        A build is a function of what it reads: if an earlier build of this kind read settings and inputs that have
        the same values here, and took the same `args`, it gave this value. So each distinct set of names read by
        the live entries of `kind` is tried (one or two: e.g. the two stock-growth models read different inputs);
        on a miss the build runs on recording views of the scenario and the inputs, and its reads key the value.
        """
        tried: dict[Reads, str] = {}  # read set -> its digest here
        for key, (_, _, reads) in reversed(self._entries.items()):
            if reads is None or key[0] != kind or reads in tried:
                continue
            digest = tried[reads] = reads_digest(kind, reads, scenario, inputs, args)
            if (kind, digest) in self._entries:
                self._entries.move_to_end((kind, digest))
                return self._entries[kind, digest][0], digest
        settings_read: set[str] = set()
        inputs_read: set[str] = set()
        value = build(SettingsReads(scenario, settings_read), InputReads(inputs, inputs_read), *args)
        reads = tuple(sorted(settings_read)), tuple(sorted(inputs_read))
        digest = tried[reads] if reads in tried else reads_digest(kind, reads, scenario, inputs, args)
        return self._get((kind, digest), lambda: value, reads), digest

    def _get(self, key: tuple, build: Callable[[], Any], reads: Reads | None) -> Any:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key][0]
        value = build()
        size = _array_bytes(value)
        self._entries[key] = value, size, reads
        self._bytes += size
        while len(self._entries) > 1 and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            self._bytes -= self._entries.popitem(last=False)[1][1]
        return value

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


def _array_bytes(value: Any, seen: set[int] | None = None) -> int:
    """Bytes of the numpy arrays reachable from `value` (through containers and object attributes), each once."""
    seen = set() if seen is None else seen
    if id(value) in seen or value is None or isinstance(value, str | bytes | int | float | bool):
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes if value.base is None else _array_bytes(value.base, seen)
    if isinstance(value, dict):
        return sum(_array_bytes(v, seen) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_array_bytes(v, seen) for v in value)
    return sum(_array_bytes(v, seen) for v in getattr(value, "__dict__", {}).values())


PROJECTION_CACHE = ProjectionCache()
