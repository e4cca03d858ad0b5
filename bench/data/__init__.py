"""Data layer: dataset specs, strict loaders, split protocols, profiles.

Public API (the runner and the CLI call exactly these):

    load_dataset(name, cfg: DataConfig, *, seed=0) -> LoadedDataset
        .records: list[Record], .report: LoadReport (.to_dict()), .spec, .items, .users
    make_splits(loaded, cfg: DataConfig, seed: int) -> bench.api.records.Splits
    dataset_info(name, cfg) -> dict          # `bench data info NAME`
    prepare_dataset(name, raw_dir, cfg) -> Path   # `bench data prepare NAME --raw DIR [--allow-pickle]`
    data_file_digests(name, cfg) -> {file name: sha256}  # raw files a load reads, unparsed
    canonical_dataset(name) -> str               # "sports" -> "amazon-sports" (catalog)

Importing this package is cheap (stdlib only); the loaders are imported on first use.
See bench.data.splits (protocols, histories), bench.data.profiles (profiles and reference
explanations from train only) and bench.data.report (LoadReport counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from bench.api.records import Splits
    from bench.data.api import LoadedDataset
    from bench.data.settings import DataConfig

__all__ = [
    "LoadedDataset",
    "LoadReport",
    "canonical_dataset",
    "data_file_digests",
    "dataset_info",
    "load_dataset",
    "make_splits",
    "prepare_dataset",
]


def load_dataset(name: str, cfg: DataConfig, *, seed: int = 0) -> LoadedDataset:
    from bench.data.api import load_dataset as _load

    return _load(name, cfg, seed=seed)


def canonical_dataset(name: str) -> str:
    from bench.data.catalog import canonical_dataset as _canonical

    return _canonical(name)


def data_file_digests(name: str, cfg: DataConfig) -> dict[str, str]:
    from bench.data.api import data_file_digests as _digests

    return _digests(name, cfg)


def make_splits(loaded: LoadedDataset, cfg: DataConfig, seed: int) -> Splits:
    from bench.data.api import make_splits as _make

    return _make(loaded, cfg, seed)


def dataset_info(name: str, cfg: DataConfig) -> dict[str, Any]:
    from bench.data.api import dataset_info as _info

    return _info(name, cfg)


def prepare_dataset(name: str, raw_dir: Any, cfg: DataConfig, *, allow_pickle: bool = False) -> Path:
    from bench.data.api import prepare_dataset as _prepare

    return _prepare(name, raw_dir, cfg, allow_pickle=allow_pickle)


def __getattr__(attr: str) -> Any:
    if attr == "LoadedDataset":
        from bench.data.api import LoadedDataset

        return LoadedDataset
    if attr == "LoadReport":
        from bench.data.report import LoadReport

        return LoadReport
    raise AttributeError(f"module 'bench.data' has no attribute {attr!r}")
