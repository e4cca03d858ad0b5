"""User-facing errors: the CLI prints these as one line and exits non-zero, no traceback."""


class BenchError(Exception):
    """A mistake the user can fix (bad name, bad config, missing file)."""


class ConfigError(BenchError):
    """Unknown key, wrong type, or malformed --set expression."""


class DataError(BenchError):
    """Raw data missing or malformed; message names file, line and field."""


class BenchWarning(UserWarning):
    """Something the user should know that does not stop the command; the CLI prints one line."""


class DataWarning(BenchWarning):
    """Raw data that loads but differs from what the dataset spec records (e.g. its sha256)."""


class MetricUnavailable(Exception):
    """Raise from compute() (or available()) when the metric cannot be computed here; the suite
    reports it under `unavailable` with this message instead of failing the whole scoring."""
