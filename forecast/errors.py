"""Exception hierarchy: every error a user can cause is an `InputError` and becomes one line plus exit code 2."""

from __future__ import annotations


class ForecastError(Exception):
    """Base class for all errors raised on purpose by this package."""


class InputError(ForecastError):
    """Bad input from the user (data file, scenario file, command-line option): exit code 2."""


class DataError(InputError):
    """A data file is missing, malformed or violates its schema.

    The message names the file, the row (1-based, header = row 1) and column where possible.
    """


class ConfigError(InputError):
    """A scenario/config YAML file is invalid: the message names file, key path, line and what was expected."""


class ProvenanceError(DataError):
    """A data file does not match its recorded metadata (hash, row count) in `data/sources.yml`."""


class PosteriorFileError(InputError):
    """A saved posterior cannot be used: wrong version, different config, or unreadable."""


class ConvergenceError(ForecastError):
    """Sampling did not converge and the run was asked to be strict about it (`--strict`)."""
