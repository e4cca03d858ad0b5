"""XRec's collaborative relation tokenizer (Fig. 1 (i)): LightGCN user and item embeddings.

XRec trains a LightGCN on the train interactions (HKUDS/XRec encoder/: BPR loss, 64 dims,
4 layers, Adam lr 1e-3, batch 1024, weight decay 1e-6, up to 300 epochs, early stopping on
validation Recall@20 with patience 10, one uniform negative per train interaction drawn once
before training) and feeds each user's and item's final embedding to the
adapters. Here RecBole's LightGCN is trained through the shared RecBole back end
(bench.adapters.recbole, family "general"): every train record is one edge of the graph,
whatever its rating (an implicit interaction, as in XRec); the valid records are its
validation set (full-sort Recall@K, K = model.lightgcn_valid_topk: 10 unless set, 20 in the
paper profile as XRec); test records never reach it. RecBole draws a new uniform negative for
every train interaction each epoch; XRec draws them once (model.lightgcn_negatives=once, the
paper profile: bench.adapters.recbole.NegativesOnce).

RecBole's final embedding is the *mean* of the L+1 layer embeddings (LightGCN paper, eq. 4
with alpha_k = 1/(L+1)); XRec's is their *sum* (encoder/models/lightgcn.py), so the tables
are scaled by L+1 to be XRec's.

The stage checkpoint is `embeddings.pt` (two float tensors, read with weights_only=True)
plus `embedding_ids.json` (the user and item ids of the rows). Each table gets one extra
zero row, the embedding of an id the graph never saw.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.api.errors import ConfigError
from bench.api.records import Record, Splits
from bench.api.run_folder import atomic_write_json, written_atomically

TENSORS = "embeddings.pt"
IDS = "embedding_ids.json"


@dataclass
class EmbeddingTables:
    """User and item embedding rows with their ids; row len(ids) is all zeros (unknown id)."""

    user_ids: list[str]
    users: torch.Tensor  # (len(user_ids) + 1, d)
    item_ids: list[str]
    items: torch.Tensor

    def __post_init__(self) -> None:
        self._user_row = {u: k for k, u in enumerate(self.user_ids)}
        self._item_row = {i: k for k, i in enumerate(self.item_ids)}

    @classmethod
    def from_rows(cls, user_ids: list[str], users: torch.Tensor, item_ids: list[str], items: torch.Tensor) -> EmbeddingTables:
        zero = torch.zeros(1, users.shape[1], dtype=torch.float32)
        return cls(list(user_ids), torch.cat([users.float(), zero]), list(item_ids), torch.cat([items.float(), zero]))

    @classmethod
    def empty(cls, dim: int) -> EmbeddingTables:
        """No collaborative signal: every user and item gets the zero row (the ablation)."""
        return cls([], torch.zeros(1, dim), [], torch.zeros(1, dim))

    @property
    def dim(self) -> int:
        return int(self.users.shape[1])

    def rows(self, record: Record) -> tuple[int, int]:
        return (
            self._user_row.get(record.user_id, len(self.user_ids)),
            self._item_row.get(record.item_id, len(self.item_ids)),
        )

    def save(self, folder: Path) -> None:
        with written_atomically(Path(folder) / TENSORS) as tmp:
            torch.save({"users": self.users.contiguous(), "items": self.items.contiguous()}, tmp)
        atomic_write_json(Path(folder) / IDS, {"users": self.user_ids, "items": self.item_ids})

    @classmethod
    def load(cls, folder: Path) -> EmbeddingTables:
        tensors = torch.load(Path(folder) / TENSORS, map_location="cpu", weights_only=True)
        ids = json.loads((Path(folder) / IDS).read_text(encoding="utf-8"))
        return cls(ids["users"], tensors["users"], ids["items"], tensors["items"])


@dataclass(frozen=True)
class LightGCNSettings:
    dim: int = 64
    layers: int = 4
    epochs: int = 300
    lr: float = 1e-3
    batch_size: int = 1024
    reg_weight: float = 1e-6
    stopping_step: int = 10
    valid_topk: int = 10  # early stopping on Recall@valid_topk (XRec: 20)
    negatives: str = "per_epoch"  # BPR negatives drawn each epoch, or "once" (XRec)
    seed: int = 0
    device: str = "cpu"


def layer_sum(mean_embeddings: torch.Tensor, layers: int) -> torch.Tensor:
    """XRec's sum over the L+1 layer embeddings from RecBole's mean: sum = (L + 1) * mean."""
    return mean_embeddings * (layers + 1)


def implicit(records: list[Record]) -> list[Record]:
    """Every interaction counts as an observed edge (label 1), whatever its rating."""
    return [dataclasses.replace(r, label=1) for r in records]


def check_valid_topk(splits: Splits, topk: int) -> None:
    """Full-sort Recall@K ranks every item: K must be below the item count (RecBole's topk
    otherwise dies with "selected index k out of range" after the first training epoch)."""
    items = len({r.item_id for r in splits.train} | {r.item_id for r in splits.valid})
    if topk >= items:
        raise ConfigError(f"model.lightgcn_valid_topk={topk}: early stopping on Recall@{topk} needs more than "
                          f"{topk} items, the train and valid splits have {items}")  # fmt: skip


def train_lightgcn(splits: Splits, settings: LightGCNSettings, folder: Path, on_epoch: Any = None) -> EmbeddingTables:
    """Train RecBole's LightGCN on the train split (valid for early stopping) in `folder`."""
    from bench.adapters.recbole import RecBoleRun
    from bench.adapters.recbole_config import RecBoleSettings
    from bench.adapters.recbole_files import write_atomic_files

    check_valid_topk(splits, settings.valid_topk)
    valid = implicit(splits.valid)
    # RecBole reads three files; the third (its test) repeats valid, so test records stay out
    files = write_atomic_files(Splits(implicit(splits.train), valid, valid), Path(folder) / "atomic")
    recbole = RecBoleRun(
        RecBoleSettings(
            model="LightGCN", epochs=settings.epochs, learning_rate=settings.lr, embedding_size=settings.dim,
            train_batch_size=settings.batch_size, stopping_step=settings.stopping_step, seed=settings.seed,
            device=settings.device, valid_topk=settings.valid_topk, negatives=settings.negatives,
            extra={"n_layers": settings.layers, "reg_weight": settings.reg_weight},
        ),
        files, Path(folder),
    )  # fmt: skip
    recbole.train(on_epoch=on_epoch)
    user_ids, users, item_ids, items = recbole.final_embeddings()
    return EmbeddingTables.from_rows(user_ids, layer_sum(users, settings.layers), item_ids, layer_sum(items, settings.layers))
