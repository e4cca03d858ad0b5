"""RecBole back end: our splits -> RecBole atomic files -> a RecBole model -> CTR scores.

The fixed split
---------------
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

Three model families
--------------------
- context-aware (FM, DeepFM, AutoInt, PNN, xDeepFM, FiGNN, DCN, DCNV2): features = user id,
  item id, item features (e.g. genres, a token_seq); trained pointwise with BCE on
  Record.label; `predict` is RecBole's sigmoid output, used as the probability as is.
- DIN, DIEN: RecBole's pointwise sequential CTR models: user, target item, the history;
  trained with BCE on Record.label; the sigmoid output is the probability.
- next-item models (Caser, GRU4Rec, SASRec, BERT4Rec), scored pointwise as in ExpCTR Table 1:
  trained as RecBole trains them (next-item prediction with softmax cross-entropy over all
  items) on train records whose label is 1 by default (`seq_train_on="liked"`), each with its
  history; the CTR score of (user, item) is the model's logit for the item as the next item
  after the user's history (`model.predict`), turned into a probability by Platt scaling:
  p = sigmoid(a * logit + b) with (a, b) fitted by logistic regression on the valid split's
  labels (saved with the checkpoint). Platt scaling is monotone, so AUC is the logit's AUC;
  LogLoss/MAE/RMSE are those of the calibrated probability.

Every model is validated each epoch on the valid split with RecBole's labeled evaluation
(AUC), with early stopping; the best epoch's weights are kept.

General models (LightGCN, for XRec's collaborative embeddings) are trained as RecBole trains
them (BPR, one uniform negative per train interaction; every row of the train file is an
edge of the graph, labels are not read) and validated by full-sort Recall@10 on the valid
file; `RecBoleRun.final_embeddings()` returns their user and item tables under our ids.

The checkpoint is `model.pth`, tensors only ({"state_dict", "other_parameter"}), beside the
plain JSON `recbole_meta.json`; it is read back with torch.load(weights_only=True). RecBole's
own checkpoint pickles its Config, which loading would unpickle from the run folder, so the
trainer's `_save_checkpoint` is replaced by ours.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.adapters import recbole_compat
from bench.errors import BenchError
from bench.records import Record, Splits
from bench.rundir import atomic_write_json, written_atomically
from bench.threads import torch_threads

CONTEXT_MODELS = ("FM", "DeepFM", "AutoInt", "PNN", "xDeepFM", "FiGNN", "DCN", "DCNV2")
POINTWISE_SEQ_MODELS = ("DIN", "DIEN")
NEXT_ITEM_MODELS = ("Caser", "GRU4Rec", "SASRec", "BERT4Rec")
# General (collaborative-filtering) models, trained for their user/item embeddings (XRec's
# LightGCN): BPR with one uniform negative per train interaction, validated by full-sort
# Recall@10 on the valid file; `RecBoleRun.final_embeddings` reads the tables out.
GENERAL_MODELS = ("LightGCN",)
GENERAL_VALID_METRIC = "recall@10"
ALL_MODELS = CONTEXT_MODELS + POINTWISE_SEQ_MODELS + NEXT_ITEM_MODELS + GENERAL_MODELS

SPLIT_NAMES = ("train", "valid", "test")
HISTORY_SOURCES = ("all", "liked")
NO_HISTORY = "<none>"
DATASET_NAME = "erbench"
USER, ITEM, LABEL = "user_id", "item_id", "label"
ITEM_LIST, NEG_ITEM_LIST, ITEM_LENGTH = "item_id_list", "neg_item_id_list", "item_length"
# Models whose item/hidden width is `hidden_size` rather than `embedding_size`.
_HIDDEN_IS_EMBEDDING = ("SASRec", "BERT4Rec")

log = logging.getLogger(__name__)


def model_family(model: str) -> str:
    if model in CONTEXT_MODELS:
        return "context"
    if model in POINTWISE_SEQ_MODELS:
        return "pointwise_seq"
    if model in NEXT_ITEM_MODELS:
        return "next_item"
    if model in GENERAL_MODELS:
        return "general"
    raise BenchError(f"unsupported RecBole model {model!r}; supported: {', '.join(ALL_MODELS)}")


# -- conversion ------------------------------------------------------------------------


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
        from bench.rundir import atomic_write_json

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
    """

    def __init__(self, splits: Splits, source: str = "all"):
        if source not in HISTORY_SOURCES:
            raise BenchError(f"history source must be one of {HISTORY_SOURCES}, got {source!r}")
        self.source = source
        pool = list(splits.train)
        if source == "all":
            pool += list(splits.valid) + list(splits.test)
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


# -- RecBole run -----------------------------------------------------------------------


@dataclass
class RecBoleSettings:
    model: str
    epochs: int = 10
    learning_rate: float = 0.001
    embedding_size: int | None = None  # None: the model's RecBole default
    train_batch_size: int = 2048
    eval_batch_size: int = 4096
    stopping_step: int = 3
    history_len: int = 10
    seed: int = 0
    device: str = "cpu"
    torch_threads: int | None = None  # set torch's intra-op threads while training/scoring
    extra: dict[str, Any] = field(default_factory=dict)  # any RecBole config keys, win last


def recbole_config_dict(settings: RecBoleSettings, files: AtomicFiles) -> dict[str, Any]:
    """The RecBole config for a run on our benchmark files."""
    family = model_family(settings.model)
    cfg: dict[str, Any] = {
        "data_path": str(files.data_path),
        "benchmark_filename": list(SPLIT_NAMES),
        "USER_ID_FIELD": USER,
        "ITEM_ID_FIELD": ITEM,
        "LABEL_FIELD": LABEL,
        "RATING_FIELD": None,
        "TIME_FIELD": None,
        "load_col": None,
        "unload_col": None,
        "threshold": None,
        "normalize_all": False,
        "filter_inter_by_user_or_item": False,
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "train_batch_size": settings.train_batch_size,
        "eval_batch_size": settings.eval_batch_size,
        "stopping_step": settings.stopping_step,
        "eval_step": 1,
        "train_neg_sample_args": None,
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": None, "order": "RO",
                      "mode": "labeled"},
        "metrics": ["AUC"],
        "valid_metric": "AUC",
        "valid_metric_bigger": True,
        "seed": settings.seed,
        "reproducibility": True,
        "show_progress": False,
        "state": "ERROR",
        "worker": 0,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
    }  # fmt: skip
    if settings.device.startswith("cuda"):
        import os

        index = settings.device.split(":", 1)[1] if ":" in settings.device else None
        cfg["use_gpu"] = True
        cfg["gpu_id"] = index or os.environ.get("CUDA_VISIBLE_DEVICES") or "0"
    else:
        cfg["use_gpu"] = False
        cfg["gpu_id"] = ""
    if family == "general":
        cfg["train_neg_sample_args"] = {"distribution": "uniform", "sample_num": 1}
        cfg["eval_args"] = dict(cfg["eval_args"], mode="full", group_by="user")
        cfg["metrics"] = ["Recall", "NDCG"]
        cfg["topk"] = [10]
        cfg["valid_metric"] = GENERAL_VALID_METRIC
    elif family != "context":
        aliases = [ITEM_LIST] + ([NEG_ITEM_LIST] if files.with_neg_history else [])
        cfg["alias_of_item_id"] = aliases
        cfg["MAX_ITEM_LIST_LENGTH"] = settings.history_len
        # RecBole insists on time ordering for sequential models; with benchmark files
        # nothing is re-ordered (the histories are already in the files).
        cfg["eval_args"] = dict(cfg["eval_args"], order="TO")
    if settings.embedding_size is not None:
        cfg["embedding_size"] = settings.embedding_size
        if settings.model in _HIDDEN_IS_EMBEDDING:
            cfg["hidden_size"] = settings.embedding_size
    cfg.update(settings.extra)
    return cfg


def build_config(settings: RecBoleSettings, files: AtomicFiles, checkpoint_dir: Path) -> Any:
    recbole_compat.apply()
    from recbole.config import Config

    cfg = recbole_config_dict(settings, files)
    cfg["checkpoint_dir"] = str(checkpoint_dir)
    with (
        recbole_compat.isolated_argv(),
        recbole_compat.preserved_cuda_env(),
        recbole_compat.quiet(),
    ):
        config = Config(model=settings.model, dataset=files.name, config_dict=cfg)
    if settings.device.startswith("cuda"):
        import torch

        config["device"] = torch.device(settings.device)
    return config


class RecBoleRun:
    """A RecBole model trained on one set of atomic files: train, save, load, score."""

    CHECKPOINT = "model.pth"  # {"state_dict", "other_parameter"}: tensors only, no pickled objects
    META = "recbole_meta.json"

    def __init__(self, settings: RecBoleSettings, files: AtomicFiles, work_dir: Path):
        recbole_compat.apply()
        from recbole.data import create_dataset, data_preparation
        from recbole.utils import get_model, init_seed

        self.settings = settings
        self.files = files
        self.work_dir = Path(work_dir)
        self.family = model_family(settings.model)
        self.config = build_config(settings, files, self.work_dir)
        init_seed(self.config["seed"], self.config["reproducibility"])
        started = time.time()
        with recbole_compat.quiet():
            self.dataset = create_dataset(self.config)
            self.train_data, self.valid_data, self.test_data = data_preparation(
                self.config, self.dataset
            )
        self.data_seconds = time.time() - started
        init_seed(self.config["seed"], self.config["reproducibility"])
        with recbole_compat.quiet():  # LightGCN builds its graph with a deprecated torch call
            self.model = get_model(self.config["model"])(self.config, self.train_data._dataset).to(
                self.config["device"]
            )
        self.calibration: dict[str, float] | None = None
        self.history: list[dict[str, Any]] = []

    # training -----------------------------------------------------------------------

    def train(
        self,
        on_epoch: Callable[[int, float, float | None], None] | None = None,
        extra_meta: dict[str, Any] | None = None,
    ) -> dict:
        """Train with per-epoch validation (AUC) and early stopping; keep the best weights."""
        from recbole.utils import get_trainer

        with recbole_compat.quiet():
            trainer = get_trainer(self.config["MODEL_TYPE"], self.config["model"])(
                self.config, self.model
            )
        checkpoint = self.work_dir / self.CHECKPOINT
        trainer.saved_model_file = str(checkpoint)
        # RecBole saves the best epoch through this hook, pickling its Config with the weights
        trainer._save_checkpoint = lambda epoch, *args, **kwargs: self._save_weights(checkpoint)
        history = self.history
        valid_key = self.valid_key

        def callback(epoch_idx: int, valid_score: float, *args: Any) -> None:
            row = {"epoch": epoch_idx, valid_key: float(valid_score)}
            loss = getattr(trainer, "_last_train_loss", None)
            if loss is not None:
                row["train_loss"] = loss
            history.append(row)
            if on_epoch:
                on_epoch(epoch_idx, float(valid_score), loss)

        original_train_epoch = trainer._train_epoch

        def train_epoch(*args: Any, **kwargs: Any) -> Any:
            losses = original_train_epoch(*args, **kwargs)
            trainer._last_train_loss = (
                float(sum(losses)) if isinstance(losses, tuple) else float(losses)
            )
            return losses

        trainer._train_epoch = train_epoch
        started = time.time()
        with recbole_compat.quiet(), torch_threads(self.settings.torch_threads):
            best_score, _ = trainer.fit(
                self.train_data, self.valid_data, verbose=False, saved=True,
                show_progress=False, callback_fn=callback,
            )  # fmt: skip
        train_seconds = time.time() - started
        if checkpoint.exists():  # the best epoch's weights
            self._load_weights(checkpoint)
        self.model.eval()
        if self.family == "next_item":
            with torch_threads(self.settings.torch_threads):
                self.calibration = self._fit_platt()
        meta = {
            "model": self.settings.model,
            "family": self.family,
            f"best_{valid_key}": float(best_score) if best_score is not None else None,
            "best_epoch": max(history, key=lambda r: r[valid_key])["epoch"] if history else None,
            "epochs_run": len(history),
            "history": history,
            "train_seconds": round(train_seconds, 3),
            "data_seconds": round(self.data_seconds, 3),
            "calibration": self.calibration,
            "files": self.files.to_json(),
            **(extra_meta or {}),
        }
        atomic_write_json(self.work_dir / self.META, meta)
        return meta

    @property
    def valid_key(self) -> str:
        """The name of the per-epoch validation score in the history (valid AUC for CTR models)."""
        return f"valid_{GENERAL_VALID_METRIC}" if self.family == "general" else "valid_auc"

    def final_embeddings(self) -> tuple[list[str], Any, list[str], Any]:
        """(user ids, user matrix, item ids, item matrix) of a general model: the embeddings its
        `forward()` returns (LightGCN: the layer combination), one row per id, in our ids (not
        RecBole's tokens); every user and item of the atomic files has a row."""
        import torch

        if self.family != "general":
            raise BenchError(f"{self.settings.model} is not a general model: no embedding tables")
        with torch.no_grad(), torch_threads(self.settings.torch_threads):
            users, items = self.model.forward()
        user_rows = self.dataset.field2token_id[USER]
        item_rows = self.dataset.field2token_id[ITEM]
        user_ids = list(self.files.user_tokens)
        item_ids = list(self.files.item_tokens)
        u_index = torch.tensor([user_rows[self.files.user_tokens[u]] for u in user_ids], dtype=torch.long)
        i_index = torch.tensor([item_rows[self.files.item_tokens[i]] for i in item_ids], dtype=torch.long)
        return user_ids, users.detach().cpu()[u_index], item_ids, items.detach().cpu()[i_index]

    def _save_weights(self, path: Path) -> None:
        import torch

        state = {"state_dict": self.model.state_dict(), "other_parameter": self._other_tensors()}
        with written_atomically(path) as tmp:
            torch.save(state, tmp)

    def _other_tensors(self) -> dict[str, Any]:
        """RecBole's extra model state (`other_parameter()`) minus what state_dict holds already:
        DIN and DIEN list their embedding layer, a registered submodule."""
        import torch

        submodules = {id(m) for m in self.model.modules()}
        out: dict[str, Any] = {}
        for key, value in self.model.other_parameter().items():
            if id(value) in submodules:
                continue
            if value is not None and not isinstance(value, torch.Tensor):
                raise BenchError(
                    f"RecBole {self.settings.model}: other parameter {key!r} is a "
                    f"{type(value).__name__}, which a weights-only checkpoint cannot hold"
                )
            out[key] = value
        return out

    def _load_weights(self, path: Path) -> None:
        import pickle

        import torch

        try:
            state = torch.load(path, map_location=self.config["device"], weights_only=True)
        except pickle.UnpicklingError:
            raise BenchError(
                f"{path} holds pickled objects (a RecBole checkpoint written before erbench saved "
                "weights only), which erbench does not unpickle; rerun this cell with --force"
            ) from None
        self.model.load_state_dict(state["state_dict"])
        self.model.load_other_parameter(state.get("other_parameter"))

    def load(self) -> dict:
        """Restore the weights and calibration saved by `train` in work_dir."""
        checkpoint = self.work_dir / self.CHECKPOINT
        meta_path = self.work_dir / self.META
        if not checkpoint.exists() or not meta_path.exists():
            raise BenchError(f"no finished RecBole checkpoint in {self.work_dir}")
        self._load_weights(checkpoint)
        self.model.eval()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.calibration = meta.get("calibration")
        return meta

    # scoring ------------------------------------------------------------------------

    def _fit_platt(self) -> dict[str, float]:
        """Logistic regression of the valid labels on the valid logits (Platt scaling)."""
        import numpy as np

        scores, labels = self.raw_scores_split("valid")
        return fit_platt(np.asarray(scores, dtype=float), np.asarray(labels, dtype=float))

    def raw_scores_split(self, split: str) -> tuple[list[float], list[float]]:
        """Raw model outputs and labels for a split, in file order, via RecBole's own data."""
        import torch

        loader = {"train": self.train_data, "valid": self.valid_data, "test": self.test_data}[split]
        dataset = loader._dataset
        scores: list[float] = []
        labels: list[float] = []
        batch = self.settings.eval_batch_size
        with torch.no_grad():
            for start in range(0, len(dataset), batch):
                inter = dataset.join(dataset.inter_feat[start : start + batch])
                inter = inter.to(self.config["device"])
                scores.extend(self.model.predict(inter).float().cpu().tolist())
                labels.extend(inter[LABEL].float().cpu().tolist())
        return scores, labels

    def to_probability(self, raw: Sequence[float]) -> list[float]:
        if self.family != "next_item":
            return [min(1.0, max(0.0, float(s))) for s in raw]
        if not self.calibration:
            raise BenchError("next-item model has no Platt calibration; train or load it first")
        a, b = self.calibration["a"], self.calibration["b"]
        return [_sigmoid(a * float(s) + b) for s in raw]

    def interaction_for(self, records: Sequence[Record], histories: Sequence[list[str]] | None):
        """A RecBole Interaction for arbitrary records (unknown ids map to padding id 0)."""
        import torch
        from recbole.data.interaction import Interaction

        ds = self.dataset
        user_ids = ds.field2token_id[USER]
        item_ids = ds.field2token_id[ITEM]
        utok, itok = self.files.user_tokens, self.files.item_tokens
        data: dict[str, Any] = {
            USER: torch.tensor([user_ids.get(utok.get(r.user_id, ""), 0) for r in records]),
            ITEM: torch.tensor([item_ids.get(itok.get(r.item_id, ""), 0) for r in records]),
        }
        if self.family != "context":
            length = self.settings.history_len
            seqs = torch.zeros((len(records), length), dtype=torch.long)
            lens = torch.zeros(len(records), dtype=torch.long)
            none_id = item_ids.get(NO_HISTORY, 0)
            for row, hist in enumerate(histories or [[] for _ in records]):
                ids = [item_ids.get(itok.get(i, ""), 0) for i in hist][-length:] or [none_id]
                seqs[row, : len(ids)] = torch.tensor(ids)
                lens[row] = len(ids)
            data[ITEM_LIST] = seqs
            data[ITEM_LENGTH] = lens
            if self.files.with_neg_history:
                n_items = ds.item_num
                gen = torch.Generator().manual_seed(self.settings.seed)
                neg = torch.randint(1, max(2, n_items), seqs.shape, generator=gen)
                data[NEG_ITEM_LIST] = torch.where(seqs > 0, neg, torch.zeros_like(neg))
        return ds.join(Interaction(data))

    def score_records(
        self, records: Sequence[Record], histories: Sequence[list[str]] | None = None
    ) -> list[float]:
        """Raw model outputs for records (batched)."""
        import torch

        out: list[float] = []
        batch = self.settings.eval_batch_size
        with torch.no_grad(), torch_threads(self.settings.torch_threads):
            for start in range(0, len(records), batch):
                chunk = records[start : start + batch]
                hist = histories[start : start + batch] if histories is not None else None
                inter = self.interaction_for(chunk, hist).to(self.config["device"])
                out.extend(self.model.predict(inter).float().cpu().tolist())
        return out


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def fit_platt(scores: Any, labels: Any, iterations: int = 100) -> dict[str, float]:
    """Fit p = sigmoid(a*s + b) to 0/1 labels by Newton's method (L2 1e-6 for stability).

    Returns {"a", "b", "n"}; with a single class it returns a=0, b=logit(prior)."""
    import numpy as np

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    n = len(s)
    if n == 0:
        return {"a": 0.0, "b": 0.0, "n": 0}
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    if prior in (1e-6, 1 - 1e-6) or np.all(y == y[0]) or np.std(s) == 0:
        return {"a": 0.0, "b": math.log(prior / (1 - prior)), "n": n}
    mu, sd = float(s.mean()), float(s.std())
    z = (s - mu) / sd
    x = np.stack([z, np.ones_like(z)], axis=1)
    w = np.array([0.0, math.log(prior / (1 - prior))])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + 1e-6 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    a = float(w[0] / sd)
    b = float(w[1] - w[0] * mu / sd)
    return {"a": a, "b": b, "n": n}


def histories_for(
    records: Iterable[Record], splits: Splits, history_len: int, source: str = "all"
) -> list[list[str]]:
    """The prior items of each record (what the atomic files hold for them)."""
    return HistoryIndex(splits, source).histories(records, history_len)
