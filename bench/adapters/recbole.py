"""RecBole back end: a RecBole model trained on our atomic files (bench.adapters.recbole_files)
with its config (bench.adapters.recbole_config): train with early stopping, save, load, score
records; next-item logits become probabilities by Platt scaling
(bench.adapters.recbole_calibration).

The checkpoint is `model.pth`, tensors only ({"state_dict", "other_parameter"}), beside the
plain JSON `recbole_meta.json`; it is read back with torch.load(weights_only=True). RecBole's
own checkpoint pickles its Config, which loading would unpickle from the run folder, so the
trainer's `_save_checkpoint` is replaced by ours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.adapters import recbole_compat
from bench.adapters.recbole_calibration import calibrated, fit_platt
from bench.adapters.recbole_config import (
    RecBoleSettings,
    build_config,
    general_valid_metric,
    model_family,
)
from bench.adapters.recbole_files import (
    ITEM,
    ITEM_LENGTH,
    ITEM_LIST,
    LABEL,
    NEG_ITEM_LIST,
    NO_HISTORY,
    USER,
    AtomicFiles,
)
from bench.api.errors import BenchError
from bench.api.records import Record
from bench.api.run_folder import atomic_write_json, written_atomically
from bench.api.threads import torch_threads


class NegativesOnce:
    """A RecBole sampler's sample_by_user_ids that draws each (user, positive item)'s negatives
    the first time it is asked and returns the same ones every later epoch (XRec's encoder
    draws one negative per train interaction once, before training); RecBole draws anew."""

    def __init__(self, draw: Callable[..., Any]):
        self.draw = draw
        self.drawn: dict[tuple[int, int, int], Any] = {}

    def __call__(self, user_ids: Any, item_ids: Any, num: int) -> Any:
        import numpy as np
        import torch

        keys = [(int(u), int(i), num) for u, i in zip(user_ids, item_ids, strict=True)]
        new = [k for k in dict.fromkeys(keys) if k not in self.drawn]
        if new:
            users, items = np.array([k[0] for k in new]), np.array([k[1] for k in new])
            # sample_by_user_ids returns `num` blocks of len(new) ids, block k = k-th negatives
            fresh = self.draw(users, items, num).view(num, len(new))
            for j, key in enumerate(new):
                self.drawn[key] = fresh[:, j]
        return torch.stack([self.drawn[k] for k in keys], dim=1).reshape(-1)


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
        if self.family == "general" and settings.negatives == "once":
            sampler = self.train_data._sampler
            sampler.sample_by_user_ids = NegativesOnce(sampler.sample_by_user_ids)
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
        if self.family == "general":
            return f"valid_{general_valid_metric(self.settings.valid_topk)}"
        return "valid_auc"

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
        return calibrated(raw, self.calibration)

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
