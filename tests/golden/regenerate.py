"""Write the golden outputs: what the projection stage makes of a pinned posterior, per preset.

The golden test (`tests/run/test_golden.py`) recomputes these from the same pinned posterior and data and
compares them: bytes first, then, where the bytes differ, numbers at a relative tolerance of 1e-9 (`RTOL`), so
a restructuring that changes any number is caught while a different build of numpy or scipy, which may reorder a
floating-point sum (a change in the 16th digit, seen between two fresh installs), is not. Run after an intended
change of the numbers, and say in the commit why they moved:

    python tests/golden/regenerate.py            # projections only, from the pinned posteriors
    python tests/golden/regenerate.py --refit    # also re-pin the posteriors (a real fit per preset)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import xarray as xr

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parent.parent
PRESETS = ("default", "villalobos2024")
POSTERIOR_FILE = "posterior.nc"
# %.17g round-trips a float64 exactly, so equal bytes mean equal numbers.
EXACT = "%.17g"
# Tables too large to keep in git (several MB each): their sha256 is kept in HASHES_FILE, the text itself is
# written beside it (ignored by git) so that a failing comparison can be diffed against a fresh regeneration.
HASHED = ("exhaustion_draws.csv", "bands.csv")
HASHES_FILE = "sha256.json"
#: For the hashed tables: per scenario and numeric column, NaN and inf counts, mean, sd and percentiles, compared at
#: RTOL when the sha256 differs (the whole tables are too large to keep).
FINGERPRINTS_FILE = "fingerprints.json"
#: Relative tolerance of a numeric comparison: 1e-9 is seven orders above the rounding of a reordered float64 sum
#: (~1e-16 relative) and six below the Monte Carlo error of any reported date (~1e-3 years in ~2030).
RTOL = 1e-9
ATOL = 1e-12


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def golden_tables(preset: str, posterior: xr.DataTree) -> dict[str, str]:
    """File name -> text of every golden table for `preset`, projected from `posterior`."""
    from forecast.config import load_config
    from forecast.run.pipeline import compute_result

    result = compute_result(load_config(preset), ROOT / "data", posterior=posterior, vintages=False)
    exhaustion = result.exhaustion.to_dataframe().reset_index()
    bands = result.bands.to_dataframe().reset_index()
    return {
        "summary.csv": result.summary.to_csv(index=False, float_format="%.6f", lineterminator="\n"),
        "p_exhausted_by_year.csv": result.probabilities.to_csv(float_format="%.4f", lineterminator="\n"),
        "exhaustion_draws.csv": exhaustion.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
        "bands.csv": bands.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
        "extension_effects.csv": result.effects.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
        "sensitivity.csv": result.sensitivity.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
        "believe.csv": result.believe.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
        "nowcast.csv": result.nowcast.to_csv(index=False, float_format=EXACT, lineterminator="\n"),
    }


def fingerprint(text: str) -> dict[str, list[float]]:
    """Per scenario and numeric column of a CSV table: NaN and inf counts, mean, sd and every 5th percentile."""
    import io

    import numpy as np
    import pandas as pd

    table = pd.read_csv(io.StringIO(text))
    numeric = [c for c in table.columns if c != "scenario" and pd.api.types.is_numeric_dtype(table[c])]
    out: dict[str, list[float]] = {}
    for scenario, rows in table.groupby("scenario", sort=True):
        for column in numeric:
            values = rows[column].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            stats = [float(np.isnan(values).sum()), float(np.isinf(values).sum())]
            if finite.size:
                stats += [
                    float(finite.mean()),
                    float(finite.std()),
                    *np.percentile(finite, np.arange(0, 101, 5)).tolist(),
                ]
            out[f"{scenario}/{column}"] = stats
    return out


def same_numbers(new: str, old: str) -> bool:
    """Whether two CSV texts hold the same table up to RTOL (text columns equal, numbers close, NaN = NaN)."""
    import io

    import numpy as np
    import pandas as pd

    a, b = pd.read_csv(io.StringIO(new)), pd.read_csv(io.StringIO(old))
    if list(a.columns) != list(b.columns) or a.shape != b.shape:
        return False
    for column in a.columns:
        if pd.api.types.is_numeric_dtype(a[column]) and pd.api.types.is_numeric_dtype(b[column]):
            x, y = a[column].to_numpy(dtype=float), b[column].to_numpy(dtype=float)
            if not np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
                return False
        elif not a[column].astype(str).equals(b[column].astype(str)):
            return False
    return True


def same_fingerprints(new: dict[str, list[float]], old: dict[str, list[float]]) -> bool:
    """Whether two fingerprints agree up to RTOL."""
    import numpy as np

    return new.keys() == old.keys() and all(
        len(new[k]) == len(old[k]) and np.allclose(new[k], old[k], rtol=RTOL, atol=ATOL) for k in new
    )


def pinned_posterior(preset: str) -> xr.DataTree:
    """The pinned posterior of `preset`: the group the projections read and the fit's stored diagnostics."""
    return xr.open_datatree(GOLDEN / preset / POSTERIOR_FILE).load()


def _pin(preset: str) -> None:
    from forecast.config import load_config
    from forecast.data import load_bundle
    from forecast.model.fit import fit_posterior

    config = load_config(preset)
    idata, _ = fit_posterior(config, load_bundle(ROOT / "data", cutoff=config.data.cutoff))
    folder = GOLDEN / preset
    folder.mkdir(exist_ok=True)
    pinned = xr.DataTree.from_dict({"posterior": idata.posterior.to_dataset()})
    pinned.attrs = dict(idata.attrs)  # the stored convergence diagnostics, so the run needs no sample_stats
    pinned.to_netcdf(folder / POSTERIOR_FILE)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit", action="store_true", help="re-pin the posteriors with a real fit first")
    args = parser.parse_args(argv)
    for preset in PRESETS:
        if args.refit:
            _pin(preset)
        tables = golden_tables(preset, pinned_posterior(preset))
        for name, text in tables.items():
            (GOLDEN / preset / name).write_text(text, encoding="utf-8")
        hashes = {name: sha256_of(tables[name]) for name in HASHED}
        (GOLDEN / preset / HASHES_FILE).write_text(json.dumps(hashes, indent=2) + "\n", encoding="utf-8")
        prints = {name: fingerprint(tables[name]) for name in HASHED}
        (GOLDEN / preset / FINGERPRINTS_FILE).write_text(json.dumps(prints) + "\n", encoding="utf-8")
        print(f"golden outputs of {preset} written")


if __name__ == "__main__":
    main(sys.argv[1:])
