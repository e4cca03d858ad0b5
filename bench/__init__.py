"""erbench core: registries, config, runner, run folders, results store, CLI."""

__version__ = "0.1.0"
