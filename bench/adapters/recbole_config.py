"""Which RecBole models run and how: model families and the RecBole config of a run on
our atomic files (bench.adapters.recbole_files).

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.adapters import recbole_compat
from bench.adapters.recbole_files import (
    ITEM,
    ITEM_LIST,
    LABEL,
    NEG_ITEM_LIST,
    SPLIT_NAMES,
    USER,
    AtomicFiles,
)
from bench.api.errors import BenchError

CONTEXT_MODELS = ("FM", "DeepFM", "AutoInt", "PNN", "xDeepFM", "FiGNN", "DCN", "DCNV2")
POINTWISE_SEQ_MODELS = ("DIN", "DIEN")
NEXT_ITEM_MODELS = ("Caser", "GRU4Rec", "SASRec", "BERT4Rec")
# General (collaborative-filtering) models, trained for their user/item embeddings (XRec's
# LightGCN): BPR with one uniform negative per train interaction, validated by full-sort
# Recall@K on the valid file (RecBoleSettings.valid_topk; XRec's encoder: K = 20);
# `RecBoleRun.final_embeddings` reads the tables out.
GENERAL_MODELS = ("LightGCN",)


def general_valid_metric(topk: int) -> str:
    return f"recall@{topk}"
ALL_MODELS = CONTEXT_MODELS + POINTWISE_SEQ_MODELS + NEXT_ITEM_MODELS + GENERAL_MODELS
# Models whose item/hidden width is `hidden_size` rather than `embedding_size`.
_HIDDEN_IS_EMBEDDING = ("SASRec", "BERT4Rec")


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
    valid_topk: int = 10  # general models: early stopping on full-sort Recall@valid_topk
    # general models' BPR negatives: drawn anew each epoch (RecBole) or once (XRec's encoder)
    negatives: Literal["per_epoch", "once"] = "per_epoch"
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
        cfg["topk"] = [settings.valid_topk]
        cfg["valid_metric"] = general_valid_metric(settings.valid_topk)
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
