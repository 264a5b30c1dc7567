"""Typed, checked loaders for the CSV files in `data/`.

Every problem in a data file becomes one `DataError` line naming the file, the line (1-based, header = line 1),
the column and what was expected; no traceback reaches the user. The modules:

- `schemas`: file names, columns, closed vocabularies, plausibility bounds and each file's pandera checks;
- `checks`: the check builders the schemas are made of (pandera imported on first use);
- `records`: CSV bytes -> records with line numbers, and the structural errors (encoding, header, ragged rows);
- `validation`: runs a schema, reports its first failure in one line, records passes by content;
- `bundle`: the loaders, `DataBundle`, `data_fingerprint`, `find_data_dir`, and the leak test `is_leak`;
- `provenance` (sources.yml hashes) and `published` (the paper's headline figures).

This module re-exports the names the rest of the project imports.
"""

from __future__ import annotations

from forecast.data.bundle import (
    DataBundle,
    data_fingerprint,
    find_data_dir,
    has_flag,
    is_leak,
    is_whole_dataset,
    load_bundle,
    load_compute_supply,
    load_stock_estimates,
    load_stock_priors,
    load_training_runs,
    load_web_growth,
)
from forecast.data.records import read_csv_records, show_value
from forecast.data.schemas import (
    DATA_FILES,
    EARLIEST_RUN_DATE,
    ESTIMATES_FILE,
    MAX_RUN_TOKENS,
    PRIOR_PARAMETERS,
    PRIORS_FILE,
    RUN_COLUMNS,
    RUN_RELIABILITY,
    RUNS_FILE,
    TOKENS_BASIS,
    WEB_GROWTH_FILE,
)

__all__ = [
    "DATA_FILES",
    "EARLIEST_RUN_DATE",
    "ESTIMATES_FILE",
    "MAX_RUN_TOKENS",
    "PRIORS_FILE",
    "PRIOR_PARAMETERS",
    "RUNS_FILE",
    "RUN_COLUMNS",
    "RUN_RELIABILITY",
    "TOKENS_BASIS",
    "WEB_GROWTH_FILE",
    "DataBundle",
    "data_fingerprint",
    "find_data_dir",
    "has_flag",
    "is_leak",
    "is_whole_dataset",
    "load_bundle",
    "load_compute_supply",
    "load_stock_estimates",
    "load_stock_priors",
    "load_training_runs",
    "load_web_growth",
    "read_csv_records",
    "show_value",
]
