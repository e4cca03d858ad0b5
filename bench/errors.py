"""User-facing errors: the CLI prints these as one line and exits non-zero, no traceback."""


class BenchError(Exception):
    """A mistake the user can fix (bad name, bad config, missing file)."""


class ConfigError(BenchError):
    """Unknown key, wrong type, or malformed --set expression."""


class DataError(BenchError):
    """Raw data missing or malformed; message names file, line and field."""
