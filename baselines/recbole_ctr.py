"""ID-based CTR baselines of ExpCTR Table 1, trained through RecBole (bench.adapters.recbole).

One class per registered name (recbole-fm -> FM, ...). Every class shares `RecBoleCTR`:

- fit: converts the splits to RecBole benchmark files whose valid/test files hold exactly our
  valid/test records (in order), trains the RecBole model with per-epoch validation AUC and
  early stopping inside the run stage `recbole-<model>` (checkpoint, atomic files, Platt
  calibration and training history live there, so `--resume` reloads instead of retraining).
- predict: one `Prediction(ctr_score=p)` per record, p a probability:
  context-aware models (FM ... DCNV2) and DIN/DIEN: RecBole's sigmoid output;
  next-item models (Caser, GRU4Rec, SASRec, BERT4Rec): Platt-scaled next-item logit,
  p = sigmoid(a * logit + b), (a, b) fitted on the valid split (see the adapter's docstring).

Inputs: user id, item id, item features named by `item_features` (default: genres) for the
context-aware models; the user's up to `history_len` prior items for the sequential ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bench.api.errors import BenchError, ConfigError
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits

# Keys of the RecBole config that define the fixed split and the files; `recbole:` may not
# override them (it would silently evaluate on something other than our test records).
PROTECTED_RECBOLE_KEYS = frozenset({
    "data_path", "dataset", "benchmark_filename", "USER_ID_FIELD", "ITEM_ID_FIELD",
    "LABEL_FIELD", "RATING_FIELD", "TIME_FIELD", "load_col", "unload_col", "threshold",
    "alias_of_item_id", "MAX_ITEM_LIST_LENGTH", "checkpoint_dir", "eval_args", "model",
    "filter_inter_by_user_or_item",
})  # fmt: skip


@dataclass
class RecBoleParams:
    """The `model:` section of every recbole-* method."""

    epochs: int = 20
    learning_rate: float = 0.001
    embedding_size: int | None = None  # None: the model's RecBole default (10 context, 64 seq)
    train_batch_size: int = 2048
    eval_batch_size: int = 4096
    max_train_records: int | None = None  # seeded subsample of the training rows (quick runs)
    stopping_step: int = 3  # epochs without valid AUC improvement before stopping
    history_len: int = 10  # prior items fed to sequential models (ExpCTR: up to 10)
    history_source: str = "all"  # "all": every prior item; "liked": prior liked train items
    seq_train_on: str = "liked"  # next-item models' training targets: "liked" or "all"
    item_features: list[str] = field(default_factory=lambda: ["genres"])
    torch_threads: int | None = None  # torch intra-op threads while training (1 on busy CPUs)
    recbole: dict[str, Any] = field(default_factory=dict)  # extra RecBole config keys

    def __post_init__(self) -> None:
        if not isinstance(self.recbole, dict):
            raise ConfigError(
                f"model.recbole must be a mapping of RecBole config keys, got {self.recbole!r}"
            )
        bad = sorted(set(self.recbole) & PROTECTED_RECBOLE_KEYS)
        if bad:
            raise ConfigError(
                f"model.recbole may not set {', '.join(bad)}: the adapter fixes them so the "
                "split equals the benchmark's; use the model.* keys instead"
            )
        if self.epochs < 1:
            raise ConfigError(f"model.epochs must be >= 1, got {self.epochs}")
        if self.max_train_records is not None and self.max_train_records < 1:
            raise ConfigError(f"model.max_train_records must be >= 1, got {self.max_train_records}")
        if self.history_len < 1:
            raise ConfigError(f"model.history_len must be >= 1, got {self.history_len}")
        if self.history_source not in ("all", "liked"):
            raise ConfigError(
                f"model.history_source must be 'all' or 'liked', got {self.history_source!r}"
            )
        if self.seq_train_on not in ("all", "liked"):
            raise ConfigError(
                f"model.seq_train_on must be 'all' or 'liked', got {self.seq_train_on!r}"
            )
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ConfigError(f"model.torch_threads must be >= 1, got {self.torch_threads}")
        if not isinstance(self.item_features, (list, tuple)):
            raise ConfigError(f"model.item_features must be a list, got {self.item_features!r}")


class RecBoleCTR(Method):
    """Shared fit/predict of the RecBole CTR baselines; subclasses set `recbole_model`."""

    produces = frozenset({"ctr_score"})
    Params = RecBoleParams
    recbole_model: ClassVar[str] = ""

    def __init__(self, params: object, run: Any):
        if isinstance(params, dict):
            params = RecBoleParams(**params)
        super().__init__(params, run)
        self._recbole = None
        self._history = None
        self.meta: dict[str, Any] = {}

    @property
    def stage_name(self) -> str:
        return f"recbole-{self.recbole_model.lower()}"

    # -- fit ----------------------------------------------------------------------------

    def fit(self, splits: Splits) -> None:
        from bench.adapters.recbole_config import model_family
        from bench.adapters.recbole_files import HistoryIndex

        p: RecBoleParams = self.params  # type: ignore[assignment]
        self.family = model_family(self.recbole_model)
        if self.family != "context":
            self._history = HistoryIndex(splits, p.history_source)
        self.run.stage(
            self.stage_name,
            lambda d: self._train(splits, d),
            self._load,
        )

    def training_rows(self, splits: Splits) -> list[Record]:
        """The rows RecBole trains on: liked ones for next-item models (by default), then
        capped at max_train_records by a seeded subsample that keeps the original order."""
        p: RecBoleParams = self.params  # type: ignore[assignment]
        rows = list(splits.train)
        if self.family == "next_item" and p.seq_train_on == "liked":
            rows = [r for r in rows if r.label == 1]
        if p.max_train_records is not None and len(rows) > p.max_train_records:
            keep = sorted(
                random.Random(self.run.seed).sample(range(len(rows)), p.max_train_records)
            )
            rows = [rows[i] for i in keep]
        if not rows:
            raise BenchError(
                f"{self.recbole_model}: no training rows (train split empty or no liked rows)"
            )
        return rows

    def _settings(self) -> Any:
        from bench.adapters.recbole_config import RecBoleSettings

        p: RecBoleParams = self.params  # type: ignore[assignment]
        return RecBoleSettings(
            model=self.recbole_model,
            epochs=p.epochs,
            learning_rate=p.learning_rate,
            embedding_size=p.embedding_size,
            train_batch_size=p.train_batch_size,
            eval_batch_size=p.eval_batch_size,
            stopping_step=p.stopping_step,
            history_len=p.history_len,
            seed=self.run.seed,
            device=self.run.device,
            torch_threads=p.torch_threads,
            extra=dict(p.recbole),
        )

    def _train(self, splits: Splits, stage_dir: Path) -> None:
        from bench.adapters.recbole import RecBoleRun
        from bench.adapters.recbole_files import write_atomic_files

        p: RecBoleParams = self.params  # type: ignore[assignment]
        rows = self.training_rows(splits)
        files = write_atomic_files(
            splits,
            stage_dir / "atomic",
            with_history=self.family != "context",
            with_neg_history=self.recbole_model == "DIEN",
            history_len=p.history_len,
            history_source=p.history_source,
            item_feature_keys=p.item_features if self.family != "next_item" else (),
            item_metadata=self._item_metadata(splits) if self.family != "next_item" else None,
            train_records=rows,
            seed=self.run.seed,
        )
        recbole_run = RecBoleRun(self._settings(), files, stage_dir)

        def on_epoch(epoch: int, valid_auc: float, loss: float | None) -> None:
            values = {"valid_auc": valid_auc}
            if loss is not None:
                values["train_loss"] = loss
            self.run.log(self.stage_name, epoch, **values)

        with self.run.progress(f"RecBole {self.recbole_model}", None):
            self.meta = recbole_run.train(on_epoch, extra_meta={"train_rows": len(rows)})
        self._recbole = recbole_run

    def _item_metadata(self, splits: Splits) -> dict[str, dict[str, Any]] | None:
        """Item features for records that do not carry them in Record.extras: the dataset's
        item metadata (LoadedDataset.items, e.g. ml-100k genres) read through bench.data."""
        p: RecBoleParams = self.params  # type: ignore[assignment]
        if not p.item_features:
            return None
        sample = splits.train[:1000]
        if any(all(r.extras.get(k) for k in p.item_features) for r in sample):
            return None
        cfg = getattr(self.run, "cfg", None)
        if cfg is None or not getattr(cfg, "dataset", None):
            return None
        try:
            from bench import data as data_layer

            items = data_layer.load_dataset(cfg.dataset, cfg.data, seed=self.run.seed).items
        except Exception as exc:  # features are optional; ids alone still train
            self.run.log(self.stage_name, 0, note=f"item features unavailable: {exc}")
            return None
        return items or None

    def _load(self, stage_dir: Path) -> None:
        from bench.adapters.recbole import RecBoleRun
        from bench.adapters.recbole_files import AtomicFiles

        files = AtomicFiles.load(stage_dir / "atomic" / "erbench")
        recbole_run = RecBoleRun(self._settings(), files, stage_dir)
        self.meta = recbole_run.load()
        self._recbole = recbole_run

    # -- predict ------------------------------------------------------------------------

    def predict(self, records: list[Record]) -> list[Prediction]:
        if self._recbole is None:
            raise BenchError(f"{self.recbole_model}: predict() before fit()")
        p: RecBoleParams = self.params  # type: ignore[assignment]
        histories = (
            self._history.histories(records, p.history_len) if self._history is not None else None
        )
        raw = self._recbole.score_records(records, histories)
        probs = self._recbole.to_probability(raw)
        if self.family == "next_item":
            return [
                Prediction(ctr_score=q, extras={"logit": s})
                for q, s in zip(probs, raw, strict=True)
            ]
        return [Prediction(ctr_score=q) for q in probs]


def _make(name: str) -> type[RecBoleCTR]:
    doc = f"RecBole {name} as an ID-based CTR baseline (see baselines.recbole_ctr)."
    return type(
        name, (RecBoleCTR,), {"recbole_model": name, "__doc__": doc, "__module__": __name__}
    )


FM = _make("FM")
DeepFM = _make("DeepFM")
AutoInt = _make("AutoInt")
PNN = _make("PNN")
xDeepFM = _make("xDeepFM")
FiGNN = _make("FiGNN")
DCN = _make("DCN")
DCNV2 = _make("DCNV2")
DIN = _make("DIN")
DIEN = _make("DIEN")
Caser = _make("Caser")
GRU4Rec = _make("GRU4Rec")
SASRec = _make("SASRec")
BERT4Rec = _make("BERT4Rec")

MODELS = {cls.recbole_model: cls for cls in (
    FM, DeepFM, AutoInt, PNN, xDeepFM, FiGNN, DCN, DCNV2, DIN, DIEN, Caser, GRU4Rec, SASRec, BERT4Rec,
)}  # fmt: skip
