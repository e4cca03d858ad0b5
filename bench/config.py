"""Typed run configuration with layered sources.

Layers, later wins: dataclass defaults < method yaml < dataset yaml < --config file <
--set key=value. A yaml may hold `profiles: {name: {...}}`; `--profile name` merges that
block right after the file's own keys. Unknown keys are an error naming the full key path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bench.api.config_keys import parse_set, same_setting
from bench.api.errors import ConfigError
from bench.data.settings import DataConfig

if TYPE_CHECKING:
    from metrics.settings import EvalConfig

CONFIG_DIR = Path(__file__).parent / "configs"






@dataclass
class RunConfig:
    method: str
    dataset: str
    seed: int = 0
    profile: str | None = None
    device: str = "auto"  # "auto": cuda when present, else cpu
    # torch intra-op threads; None keeps torch's default. 1 is often several times faster for
    # the small classic models on a shared CPU. Not part of the config hash (same results).
    threads: int | None = None
    # experiment trackers the finished run is reported to (bench.trackers); not hashed
    report_to: list[str] = field(default_factory=list)
    runs_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=lambda: _eval_config_class()())
    model: dict[str, Any] = field(default_factory=dict)  # the method's own Params

    def __post_init__(self) -> None:
        # checked when the config is built, so a typo fails before any data is read
        if not _DEVICE.fullmatch(str(self.device)):
            raise ConfigError(
                f"config key 'device' expects auto, cpu, cuda, cuda:N or mps, got {self.device!r}"
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"config key 'threads' expects a positive integer, got {self.threads!r}")
        from bench.trackers import parse_report_to

        self.report_to = parse_report_to(self.report_to)


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


def _eval_config_class() -> type:
    """The eval section's dataclass; the metric suite owns its keys (metrics.settings), looked up
    when a config is built so that importing this module imports no metric code."""
    from metrics.settings import EvalConfig

    return EvalConfig


# -- generic dict -> dataclass with type checks ---------------------------------------


def _type_ok(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (list, tuple):
        items = typing.get_args(hint)[:1] if origin is list else ()
        return isinstance(value, (list, tuple)) and all(_type_ok(v, items[0]) for v in value if items)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


# YAML 1.1 (PyYAML) reads 2e-4 as a string: a float needs a dot (2.0e-4)
_SCIENTIFIC = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _takes_float(hint: Any) -> bool:
    return hint is float or float in typing.get_args(hint)


def build_dataclass(cls: type, data: dict[str, Any], path: str = "") -> Any:
    """Instantiate dataclass `cls` from a plain dict; unknown keys and wrong types raise."""
    if not isinstance(data, dict):
        raise ConfigError(f"config section {path or '<root>'!r} must be a mapping, got {data!r}")
    fold = getattr(cls, "fold", None)  # the eval section: eval.<scorer>.<key> is a flat key
    if fold is not None:
        data = fold(data, path or "eval")
    late = {"EvalConfig": _eval_config_class()} if cls is RunConfig else None
    hints = typing.get_type_hints(cls, localns=late)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"unknown config key(s) {', '.join(where + k for k in unknown)}; "
            f"known under {path or 'the top level'}: {', '.join(sorted(known))}"
        )
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{path}.{name}" if path else name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = build_dataclass(hint, value or {}, key)
            continue
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip()) and _takes_float(hint):
            value = float(value)
        if not _type_ok(value, hint):
            raise ConfigError(f"config key {key!r} expects {_hint_name(hint)}, got {value!r}")
        kwargs[name] = value
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"config is missing required key(s): {', '.join(missing)}")
    return cls(**kwargs)


def _hint_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is list and typing.get_args(hint):
        return f"a list of {_hint_name(typing.get_args(hint)[0])}"
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:  # Optional[X]: name X, then "or null"
        return _hint_name(next(a for a in args if a is not type(None))) + " or null"
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# -- layering ---------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out




def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def _base_and_profile(layer: dict[str, Any], profile: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the yaml without its profiles, the selected profile's settings or {})."""
    layer = dict(layer)
    profiles = layer.pop("profiles", {}) or {}
    return layer, (profiles.get(profile) or {}) if profile else {}


def method_yaml(method: str) -> Path:
    """The method's yaml: bench/configs/methods/<method>.yaml for a built-in, the file its class
    names (`Method.config_file`, beside the class's module) for a plugin."""
    builtin = CONFIG_DIR / "methods" / f"{method}.yaml"
    if builtin.exists():
        return builtin
    from bench.api.registry import METHODS, RegistryError, load_builtins

    load_builtins()
    try:
        shipped = METHODS.get(method).shipped_config()
    except RegistryError:
        return builtin  # an unknown method fails with its own message when the run checks it
    return shipped or builtin


def dataset_yaml(dataset: str) -> Path:
    return CONFIG_DIR / "datasets" / f"{dataset}.yaml"


def available_profiles(path: Path) -> list[str]:
    if not path.exists():
        return []
    return sorted((read_yaml(path).get("profiles") or {}).keys())


def resolve(
    method: str,
    dataset: str,
    *,
    config_file: str | Path | None = None,
    sets: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    profile: str | None = None,
    method_config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Merge every layer into one RunConfig (the method's Params are checked by the runner)."""
    from bench.data.catalog import aliases

    # "sports" -> "amazon-sports": one name everywhere; an unknown name fails at the data check
    dataset = aliases().get(dataset, dataset)
    layers: list[dict[str, Any]] = [{"method": method, "dataset": dataset}]
    sources = [
        method_config_file or method_yaml(method),
        dataset_yaml(dataset),
    ]
    profile_seen = profile is None
    # method yaml < dataset yaml < method profile < dataset profile: a profile is the more
    # specific choice, so a method profile's data.* (e.g. a split protocol) wins over the
    # dataset yaml's base settings
    chosen: list[dict[str, Any]] = []
    for path in sources:
        if path.exists():
            raw = read_yaml(path)
            profile_seen = profile_seen or profile in (raw.get("profiles") or {})
            base, selected = _base_and_profile(raw, profile)
            layers.append(base)
            chosen.append(selected)
    layers.extend(chosen)
    if config_file:
        raw = read_yaml(Path(config_file))
        profile_seen = profile_seen or profile in (raw.get("profiles") or {})
        layers.extend(_base_and_profile(raw, profile))
    if not profile_seen:
        known = available_profiles(method_config_file or method_yaml(method))
        raise ConfigError(
            f"profile {profile!r} is defined for neither method {method!r} nor dataset "
            f"{dataset!r}" + (f"; method profiles: {', '.join(known)}" if known else "")
        )
    for expr in sets:
        layers.append(parse_set(expr))
    if overrides:  # values taken as given, never re-read as YAML (paths from CLI flags)
        layers.append(overrides)
    if seed is not None:
        layers.append({"seed": seed})
    if profile is not None:
        layers.append({"profile": profile})
    merged: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer.get("eval"), dict):  # each layer's own nested keys, before merging
            layer = {**layer, "eval": _eval_config_class().fold(layer["eval"])}
        merged = deep_merge(merged, layer)
    for fixed in ("method", "dataset"):
        if merged[fixed] != {"method": method, "dataset": dataset}[fixed]:
            raise ConfigError(f"{fixed!r} cannot be changed by a config layer; use --{fixed}")
    return build_dataclass(RunConfig, merged)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)






# Keys that do not change what is computed: where files live (input files are hashed by
# content instead), threads, trackers, and how the judge client waits and caches.
NOT_HASHED = (
    "runs_dir", "threads", "report_to", "data.data_dir",
    "eval.judge_prompt_file", "eval.human_ratings_csv", "eval.judge_api_key_env",
    "eval.judge_max_concurrency", "eval.judge_timeout_s", "eval.judge_max_retries",
    "eval.judge_cache_path", "model.generation_api_key_env", "model.generation_max_concurrency",
    "model.teacher_max_concurrency",
    "eval.bertscore_engine",  # torch or ONNX Runtime: the same values within 1e-5
)  # fmt: skip


# Keys added after runs were recorded, whose unset value (None) computes what those runs did:
# left out of the hash while None, so adding one keeps every earlier run id.
HASHED_WHEN_SET = (
    "eval.bertscore_num_layers", "model.decoding", "model.lightgcn_valid_topk",
    "model.alternative_reference", "model.teacher_max_tokens", "model.lightgcn_negatives",
    "eval.judge_temperature", "model.precision",
)  # fmt: skip


def _default(cls: type, name: str) -> Any:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def config_hash(cfg: RunConfig, data_digests: dict[str, str] | None = None) -> str:
    """Short hash of everything that changes results: the config less NOT_HASHED (and less
    HASHED_WHEN_SET keys that are unset) and, when given, the sha256 of every raw data / eval
    input file read (bench.identity)."""
    data = to_dict(cfg)
    for key in (*NOT_HASHED, *HASHED_WHEN_SET):
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part, {})
        if key in NOT_HASHED or node.get(leaf, 0) is None:
            node.pop(leaf, None)
    owners = getattr(type(cfg.eval), "owners", {})
    for key, owner in owners.items():  # a plugin's (or a later scorer's) keys: only when set
        if not owner.always_hashed and key in data["eval"] and same_setting(data["eval"][key], _default(owner, key)):
            data["eval"].pop(key)
    if data_digests:
        data["data_files"] = dict(sorted(data_digests.items()))
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:8]


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
