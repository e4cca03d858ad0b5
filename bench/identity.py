"""Run identity: the run folder is named by everything that changes the numbers.

The hash covers the effective configuration — every `model.*` parameter as the method will
use it, its `Params` defaults included, so changing a default in code never reuses a stale
folder — the seed, and the sha256 of every raw data file the load reads, so a different
(or corrupted, or truncated) copy of a dataset is a different run. Same hash => same
computation; anything else is a new folder, never a reuse.

`identify` is pure apart from hashing the data files (cached by the data layer), so the
runner and `bench sweep`'s planner name a cell the same way before any work starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.config_keys import flatten, same_setting
from bench.api.errors import BenchError, ConfigError
from bench.api.method import Method
from bench.config import NOT_HASHED, RunConfig, build_dataclass, config_hash, to_dict


@dataclass(frozen=True)
class RunIdentity:
    cfg: RunConfig  # effective: cfg.model holds every Params field as used
    params: Any  # the method's Params instance built from cfg.model
    data_digests: dict[str, str]  # raw file name -> sha256
    cfg_hash: str

    @property
    def run_id(self) -> str:
        return format_run_id(self.cfg.method, self.cfg.dataset, self.cfg.seed, self.cfg_hash)

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.runs_dir) / self.run_id


def format_run_id(method: str, dataset: str, seed: int, cfg_hash: str) -> str:
    return f"{method}__{dataset}__s{seed}__{cfg_hash}"


def method_class(name: str) -> type[Method]:
    from bench.api.registry import METHODS, load_builtins

    load_builtins()
    return METHODS.get(name)  # the registry checks it is a Method subclass


def effective_config(cfg: RunConfig) -> tuple[RunConfig, Any]:
    """The config with `model` completed from the method's Params (unknown keys fail here)."""
    params = build_dataclass(method_class(cfg.method).Params, cfg.model, "model")
    return dataclasses.replace(cfg, model=dataclasses.asdict(params)), params


def default_config(method: str, dataset: str, profile: str | None) -> dict[str, Any]:
    """The flattened effective config (method, dataset, profile) gets without --set or --config;
    the profile's absence from the yaml files falls back to none; {} when it cannot resolve."""
    from bench.config import resolve

    for prof in dict.fromkeys((profile, None)):
        try:
            return flatten(to_dict(effective_config(resolve(method, dataset, profile=prof))[0]))
        except BenchError:
            continue
    return {}


# identity and bookkeeping, not settings a table row selects on
NOT_SETTINGS = frozenset({"method", "dataset", "seed", "profile", *NOT_HASHED})


def changed_from_defaults(cfg: RunConfig) -> dict[str, Any]:
    """{flattened key: its default} for every setting the run changed from `default_config`:
    recorded with the run (provenance.json `changed_from_defaults`), so a table tells a sweep
    point from the default run by the run's own record, not by today's yaml files."""
    defaults = default_config(cfg.method, cfg.dataset, cfg.profile)
    return {
        key: defaults.get(key)
        for key, value in flatten(to_dict(cfg)).items()
        if key not in NOT_SETTINGS and (key not in defaults or not same_setting(value, defaults[key]))
    }


# eval.* keys naming a file whose contents change the scores (a path alone is not enough:
# a prompt edited in place must not reuse a finished run)
EVAL_INPUT_FILES = ("judge_prompt_file", "human_ratings_csv")


def identify(cfg: RunConfig) -> RunIdentity:
    from bench.data import data_file_digests

    effective, params = effective_config(cfg)
    digests = dict(data_file_digests(cfg.dataset, cfg.data))
    digests.update(eval_file_digests(cfg))
    return RunIdentity(effective, params, digests, config_hash(effective, digests))


def eval_file_digests(cfg: RunConfig) -> dict[str, str]:
    from bench.data.digests import cached_sha256

    out = {}
    for key in EVAL_INPUT_FILES:
        path = getattr(cfg.eval, key, None)
        if path is None:
            continue
        if not Path(path).is_file():
            raise ConfigError(f"eval.{key}: {path} does not exist")
        out[f"eval.{key}"] = cached_sha256(Path(path))
    return out
