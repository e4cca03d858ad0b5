"""Our splits -> RecBole benchmark atomic files (the fixed split RecBole trains and is
scored on).

`write_atomic_files` turns `Splits` into RecBole's benchmark files
`<name>.train.inter`, `<name>.valid.inter`, `<name>.test.inter` (plus `<name>.item` for item
features) and the RecBole config sets `benchmark_filename: [train, valid, test]`, which makes
RecBole use exactly these three files as its split: no filtering, no re-splitting, no
re-ordering. The test file holds every test record of our split, in order, so a RecBole model
is evaluated on the same records as every other method. Ids are written as opaque tokens
(`u<k>`, `i<k>`) so ids with spaces or tabs cannot break the tab/space separated format;
`AtomicFiles.user_tokens` / `item_tokens` map our ids to them.

Inter columns: `user_id:token item_id:token label:float` and, for models that read a
history, `item_id_list:token_seq` (the user's up to `history_len` prior items, oldest first)
and, for DIEN, `neg_item_id_list:token_seq` (one random other item per history position,
what RecBole's DIENDataset samples itself when it splits data on its own). A record's history
holds the items (never the labels) the user interacted with earlier in time, in any split:
the same "up to 10 prior items" that the data layer's history_liked/history_disliked hold
(`history_source="liked"` instead keeps only earlier train items labelled 1).
A user with no earlier item gets the single placeholder item `<none>`
(RecBole's sequence models cannot read an empty sequence).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.records import Record, Splits
from bench.api.run_folder import atomic_write_json

SPLIT_NAMES = ("train", "valid", "test")
HISTORY_SOURCES = ("all", "liked")
NO_HISTORY = "<none>"
DATASET_NAME = "erbench"
USER, ITEM, LABEL = "user_id", "item_id", "label"
ITEM_LIST, NEG_ITEM_LIST, ITEM_LENGTH = "item_id_list", "neg_item_id_list", "item_length"


@dataclass
class AtomicFiles:
    """Where the atomic files are and how our ids map to their tokens."""

    dir: Path  # the dataset folder (RecBole's data_path/<name>)
    name: str
    counts: dict[str, int]
    user_tokens: dict[str, str]
    item_tokens: dict[str, str]
    item_feature_fields: list[str] = field(default_factory=list)
    with_history: bool = False
    with_neg_history: bool = False

    @property
    def data_path(self) -> Path:
        return self.dir.parent

    def inter_path(self, split: str) -> Path:
        return self.dir / f"{self.name}.{split}.inter"

    def to_json(self, tokens: bool = False) -> dict[str, Any]:
        out = {
            "dir": str(self.dir),
            "name": self.name,
            "counts": self.counts,
            "item_feature_fields": self.item_feature_fields,
            "with_history": self.with_history,
            "with_neg_history": self.with_neg_history,
        }
        if tokens:
            out["user_tokens"] = self.user_tokens
            out["item_tokens"] = self.item_tokens
        return out

    MANIFEST = "atomic_files.json"

    def save(self) -> None:
        """Write the manifest (with the id -> token maps) beside the files."""

        atomic_write_json(self.dir / self.MANIFEST, self.to_json(tokens=True))

    @classmethod
    def load(cls, folder: str | Path) -> AtomicFiles:
        folder = Path(folder)
        data = json.loads((folder / cls.MANIFEST).read_text(encoding="utf-8"))
        data["dir"] = folder  # the run folder may have moved
        return cls(**data)


def _clean_token(value: Any) -> str:
    text = str(value).strip()
    return "_".join(text.split()) or "_"


def _item_feature_values(
    record: Record, keys: Sequence[str], metadata: dict[str, dict[str, Any]] | None = None
) -> dict[str, list[str]]:
    out = {}
    meta = (metadata or {}).get(record.item_id) or {}
    for key in keys:
        value = record.extras.get(key) if record.extras else None
        if value is None or value == "" or value == []:
            value = meta.get(key)
        if value is None or value == "" or value == []:
            continue
        values = value if isinstance(value, (list, tuple)) else str(value).split("|")
        out[key] = [_clean_token(v) for v in values if str(v).strip()]
    return out


def _event_key(record: Record) -> tuple[str, str, int]:
    return (record.user_id, record.item_id, int(record.timestamp or 0))


class HistoryIndex:
    """Each user's observed items in time order; gives any record its prior items.

    `source="all"`: the items of every split (train, valid, test; items only, never labels)
    that the user interacted with earlier in time, i.e. the same "up to N prior items" the
    data layer's history_liked/history_disliked hold. `source="liked"`: only earlier *train*
    items labelled 1 (labels of valid/test records are never an input).
    Ties on timestamp are broken by position (train, then valid, then test, in list order);
    a record that is not one of the indexed ones sees only strictly earlier timestamps.
    Records in no split but kept as history (`splits.history_only`, the per-user-target
    protocol's other interactions of each user) are in the pool of both sources: they are
    inputs of the samples, as the LLM methods' history_liked/history_disliked.
    """

    def __init__(self, splits: Splits, source: str = "all"):
        if source not in HISTORY_SOURCES:
            raise BenchError(f"history source must be one of {HISTORY_SOURCES}, got {source!r}")
        self.source = source
        pool = list(splits.train)
        if source == "all":
            pool += list(splits.valid) + list(splits.test)
        pool += list(splits.history_only)
        self._by_user: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self._position: dict[tuple[str, str, int], int] = {}
        for position, rec in enumerate(pool):
            self._position.setdefault(_event_key(rec), position)
            if source == "liked" and rec.label != 1:
                continue
            self._by_user[rec.user_id].append((int(rec.timestamp or 0), position, rec.item_id))
        for events in self._by_user.values():
            events.sort()

    def prior_items(self, record: Record, max_len: int) -> list[str]:
        """The last `max_len` items the user had before this record, oldest first."""
        import bisect

        events = self._by_user.get(record.user_id, [])
        position = self._position.get(_event_key(record), -1)
        # (timestamp, position) < (t, p): earlier, or same time and earlier in the pool.
        end = bisect.bisect_left(events, (int(record.timestamp or 0), position))
        return [item for _, _, item in events[max(0, end - max_len) : end]]

    def histories(self, records: Iterable[Record], max_len: int) -> list[list[str]]:
        return [self.prior_items(r, max_len) for r in records]


def write_atomic_files(
    splits: Splits,
    out_dir: str | Path,
    *,
    name: str = DATASET_NAME,
    with_history: bool = False,
    with_neg_history: bool = False,
    history_len: int = 10,
    history_source: str = "all",
    item_feature_keys: Sequence[str] = (),
    item_metadata: dict[str, dict[str, Any]] | None = None,
    train_records: Sequence[Record] | None = None,
    seed: int = 0,
) -> AtomicFiles:
    """Write `splits` as RecBole benchmark files under `out_dir/name/`.

    `train_records` (default: splits.train) is what goes into the train file (a subsample,
    or only liked records for next-item models); item features named by `item_feature_keys`
    come from Record.extras, else from `item_metadata` (item id -> {key: value or list});
    histories always come from the whole
    splits (see HistoryIndex). valid and test files hold every record of their split, in order.
    """
    out = Path(out_dir) / name
    out.mkdir(parents=True, exist_ok=True)
    train_rows = list(splits.train if train_records is None else train_records)
    for split_name, records in (
        ("train", train_rows),
        ("valid", splits.valid),
        ("test", splits.test),
    ):
        missing = [i for i, r in enumerate(records) if r.label not in (0, 1)]
        if missing:
            raise BenchError(
                f"RecBole CTR needs a 0/1 label on every {split_name} record; "
                f"{len(missing)} lack one (first at index {missing[0]})"
            )

    user_tokens: dict[str, str] = {}
    item_tokens: dict[str, str] = {}
    for records in (splits.train, splits.valid, splits.test):
        for rec in records:
            user_tokens.setdefault(rec.user_id, f"u{len(user_tokens)}")
            item_tokens.setdefault(rec.item_id, f"i{len(item_tokens)}")

    history = HistoryIndex(splits, history_source) if with_history else None
    all_item_tokens = list(item_tokens.values())
    rng = random.Random(seed)

    header = [f"{USER}:token", f"{ITEM}:token", f"{LABEL}:float"]
    if with_history:
        header.append(f"{ITEM_LIST}:token_seq")
    if with_neg_history:
        header.append(f"{NEG_ITEM_LIST}:token_seq")

    counts = {}
    for split_name, records in zip(
        SPLIT_NAMES, (train_rows, splits.valid, splits.test), strict=True
    ):
        lines = ["\t".join(header)]
        for rec in records:
            row = [user_tokens[rec.user_id], item_tokens[rec.item_id], str(float(rec.label))]
            if with_history:
                prior = history.prior_items(rec, history_len)
                seq = [item_tokens[i] for i in prior] or [NO_HISTORY]
                row.append(" ".join(seq))
                if with_neg_history:
                    neg = []
                    for tok in seq:
                        cand = rng.choice(all_item_tokens)
                        while cand == tok and len(all_item_tokens) > 1:
                            cand = rng.choice(all_item_tokens)
                        neg.append(cand)
                    row.append(" ".join(neg))
            lines.append("\t".join(row))
        (out / f"{name}.{split_name}.inter").write_text("\n".join(lines) + "\n", encoding="utf-8")
        counts[split_name] = len(records)

    feature_fields: list[str] = []
    if item_feature_keys:
        feats: dict[str, dict[str, list[str]]] = {}
        for records in (splits.train, splits.valid, splits.test):
            for rec in records:
                if rec.item_id not in feats:
                    values = _item_feature_values(rec, item_feature_keys, item_metadata)
                    if values:
                        feats[rec.item_id] = values
        feature_fields = [k for k in item_feature_keys if any(k in v for v in feats.values())]
        if feature_fields:
            names = [_clean_token(k) for k in feature_fields]
            lines = ["\t".join([f"{ITEM}:token"] + [f"{n}:token_seq" for n in names])]
            for item_id, values in feats.items():
                lines.append(
                    "\t".join(
                        [item_tokens[item_id]]
                        + [" ".join(values.get(k, [])) for k in feature_fields]
                    )
                )
            (out / f"{name}.item").write_text("\n".join(lines) + "\n", encoding="utf-8")
            feature_fields = names

    files = AtomicFiles(
        dir=out,
        name=name,
        counts=counts,
        user_tokens=user_tokens,
        item_tokens=item_tokens,
        item_feature_fields=feature_fields,
        with_history=with_history,
        with_neg_history=with_neg_history,
    )
    files.save()
    return files


def read_inter_file(path: str | Path) -> list[dict[str, str]]:
    """Read an atomic .inter file back as dicts keyed by field name (without the type)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    names = [h.split(":")[0] for h in lines[0].split("\t")]
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines[1:]]
