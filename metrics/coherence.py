"""Explanation-rating coherence (Curr-RLCER §3.3, eq. 8) and the CIER-style agreement rate.

r0: ground-truth rating, r1: predicted rating, r2: rating read off the explanation by
  - "classifier": nlptown/bert-base-multilingual-uncased-sentiment when eval.sentiment_classifier
    names it and it loads; "embedded" (default): a MiniLM + logistic-regression 1-5 star
    classifier trained on the train split's reviews (its held-out accuracy is reported);
  - "judge": an injected callable texts -> ratings (the LLM judge client);
  - "human": ratings imported from a CSV (annotators averaged; agreement reported).

Per sample, with R = rating_max - rating_min (4 on a 1-5 scale):
    Accuracy  = ((1 - |r0 - r1|/R) + (1 - |r0 - r2|/R)) / 2
    Coherence = 1 - |r1 - r2|/R
    Acc       = (Accuracy + Coherence) / 2
and cier_rate = mean(|r2 - r1| <= 1). Reported names carry the r2 source:
coh_acc[minilm-logreg], coh_acc[nlptown-sentiment], coh_acc[judge:<model>], coh_acc[human].
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.api.judgments import read_ratings
from bench.api.loads import Checkpoint, Load
from bench.api.metric_name import metric_name
from bench.api.settings import Settings
from bench.backbones.chat_client import JudgeEndpointSettings
from metrics.base import Batch, Metric, MetricValue
from metrics.rating import RatingSettings, clip
from metrics.rating_classifier import NLPTOWN_ID


@dataclass
class CoherenceSettings(Settings):
    section = "coherence"
    always_hashed = True
    coherence_sources: list[Literal["classifier", "judge", "human"]] = field(
        default_factory=lambda: ["classifier"]
    )
    sentiment_classifier: str = "embedded"  # "embedded" (trained on train reviews) or HF id
    human_ratings_csv: str | None = None  # columns idx (or user_id,item_id), annotator, rating


# -- eq. 8 -------------------------------------------------------------------------------------


def coherence_scores(
    r0: Sequence[float], r1: Sequence[float], r2: Sequence[float], scale: float = 4.0
) -> dict[str, list[float]]:
    """Per-sample Accuracy, Coherence and Acc of Curr-RLCER eq. 8, plus the CIER indicator."""
    acc_part, coh, acc, cier = [], [], [], []
    for a, b, c in zip(r0, r1, r2, strict=False):
        accuracy = ((1 - abs(a - b) / scale) + (1 - abs(a - c) / scale)) / 2
        coherence = 1 - abs(b - c) / scale
        acc_part.append(accuracy)
        coh.append(coherence)
        acc.append((accuracy + coherence) / 2)
        cier.append(1.0 if abs(c - b) <= 1 else 0.0)
    return {"coh_accuracy": acc_part, "coh_coherence": coh, "coh_acc": acc, "cier_rate": cier}




def mean_pairwise_agreement(ratings: dict[str, list[float]]) -> float:
    """Share of annotator pairs (within an item) giving the same rating, averaged over pairs."""
    agree = total = 0
    for values in ratings.values():
        for a, b in itertools.combinations(values, 2):
            total += 1
            agree += a == b
    return agree / total if total else float("nan")


def krippendorff_alpha_interval(ratings: dict[str, list[float]]) -> float:
    """Krippendorff's alpha with the interval distance (the `krippendorff` package) over the
    values each unit received; units with < 2 values are not pairable. NaN with fewer than two
    pairable values; 1.0 when every value is the same (no disagreement to measure)."""
    import krippendorff
    import numpy as np

    units = [list(v) for v in ratings.values() if len(v) >= 2]
    domain = sorted({x for u in units for x in u})
    if not units:
        return float("nan")
    if len(domain) < 2:
        return 1.0
    counts = np.array([[u.count(value) for value in domain] for u in units])
    return float(
        krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement="interval")
    )


# -- the metric ----------------------------------------------------------------------------------


class Coherence(Metric):
    name = "coherence"
    needs = frozenset({"explanation", "rating", "rating_true"})
    level = "sample"
    higher_is_better = True
    reports = (
        "coh_accuracy",
        "coh_coherence",
        "coh_acc",
        "cier_rate",
        "coh_r2_heldout_acc",
        "coh_human_alpha",
        "coh_human_agreement",
    )
    settings_classes = (CoherenceSettings, RatingSettings, JudgeEndpointSettings)

    @classmethod
    def loads(cls, eval_cfg: Any) -> list[Load]:
        settings = CoherenceSettings.of(eval_cfg)
        out: list[Load] = []
        if "classifier" in settings.coherence_sources:
            out.append(Checkpoint("eval.sentiment_classifier", settings.sentiment_classifier))
        if "judge" in settings.coherence_sources:
            out += cls.judge_endpoint(eval_cfg, "eval.judge_base_url (coherence judge)")
        return out

    def __init__(self, eval_cfg: Any = None, **context: Any):
        super().__init__(eval_cfg, **context)
        self.settings = CoherenceSettings.of(eval_cfg)
        self.rating = RatingSettings.of(eval_cfg)
        self.sources = list(self.settings.coherence_sources)
        self.rmin, self.rmax = float(self.rating.rating_min), float(self.rating.rating_max)
        self._versions: dict[str, dict[str, Any]] = {}

    def version(self) -> dict[str, Any]:
        return {
            **super().version(),
            "equation": "Curr-RLCER eq. 8",
            "scale": self.rmax - self.rmin,
            "sources": self.sources,
        }

    # -- r2 providers: each returns (label, r2 list or None, version, extra values, reason) ----
    def _classifier(self, batch: Batch) -> tuple[str, list[float | None] | None, dict, list, str]:
        setting = self.settings.sentiment_classifier or "embedded"
        texts = batch.texts("explanation")
        if setting != "embedded":
            base = os.path.basename(setting.rstrip("/"))
            # the nlptown model by its id, or a local folder under the model's own name
            nlptown = "nlptown" in setting or base == NLPTOWN_ID.split("/")[1]
            label = "nlptown-sentiment" if nlptown else base
            from metrics.bertscore import _local_hf_dir

            local = _local_hf_dir(setting)
            if local is None:
                return (
                    label,
                    None,
                    {},
                    [],
                    (
                        f"sentiment classifier {setting!r} is not loadable here (no local folder and "
                        "not in the Hugging Face cache; no hub access); set eval.sentiment_classifier "
                        "to a local folder, or 'embedded'"
                    ),
                )
            try:
                from metrics.rating_classifier import HFStarClassifier

                clf = HFStarClassifier(local)
            except Exception as exc:  # noqa: BLE001 - any load failure means "not here"
                return (
                    label,
                    None,
                    {},
                    [],
                    (
                        f"sentiment classifier {setting!r} failed to load from {local}: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    ),
                )
            return label, clf.predict(texts), {"checkpoint": setting}, [], ""
        from metrics.rating_classifier import RatingClassifier

        label = RatingClassifier.label
        clf = self.context.get("rating_classifier")
        if clf is None:
            train = self.context.get("train_records") or []
            pairs = [
                (r.review, r.rating)
                for r in train
                if getattr(r, "review", "") and r.rating is not None
            ]
            if len(pairs) < 10:
                return (
                    label,
                    None,
                    {},
                    [],
                    (
                        "the embedded rating classifier is trained on the train split's reviews; "
                        "none were given (pass train_records, or a fitted rating_classifier)"
                    ),
                )
            clf = RatingClassifier.fit_or_load(
                [p[0] for p in pairs], [p[1] for p in pairs], self.context.get("cache_dir")
            )
        meta = clf.meta()
        extra = []
        if meta.get("heldout_accuracy") is not None:
            extra.append(("coh_r2_heldout_acc", meta["heldout_accuracy"], meta["n_heldout"]))
        return label, clf.predict(texts), {"checkpoint": label, "classifier": meta}, extra, ""

    def _judge(self, batch: Batch) -> tuple[str, list[float | None] | None, dict, list, str]:
        judge: Callable[[list[str]], list[float]] | None = self.context.get("judge")
        model = JudgeEndpointSettings.of(self.eval_cfg).judge_model
        if judge is None:
            try:  # the 1-5 rating judge, when an endpoint is configured
                from metrics.gptscore import make_judge

                judge = make_judge(self.eval_cfg, cache_dir=self.context.get("cache_dir"))
            except (ImportError, AttributeError):
                judge = None
            except Exception as exc:  # noqa: BLE001
                return f"judge:{model or 'none'}", None, {}, [], f"judge client failed: {exc}"
        label = f"judge:{model or getattr(judge, 'model', None) or 'injected'}"
        if judge is None:
            return (
                label,
                None,
                {},
                [],
                "no judge client (set eval.judge_base_url and eval.judge_model)",
            )
        try:
            ratings = judge(batch.texts("explanation"))
        except Exception as exc:  # noqa: BLE001 - a failed judge loses its column, not the others
            return label, None, {}, [], f"judge failed: {exc}"
        ver = {
            "checkpoint": label,
            "judge": getattr(judge, "version", lambda: {})()
            if callable(getattr(judge, "version", None))
            else {},
        }
        return label, [None if r is None else float(r) for r in ratings], ver, [], ""

    def _human(self, batch: Batch) -> tuple[str, list[float | None] | None, dict, list, str]:
        ratings = self.context.get("human_ratings")
        path = self.settings.human_ratings_csv
        if ratings is None and path:
            ratings = read_ratings(path)
        if not ratings:
            return "human", None, {}, [], "no human ratings (set eval.human_ratings_csv)"
        ratings = {
            str(k): (list(v) if isinstance(v, (list, tuple)) else [float(v)])
            for k, v in ratings.items()
        }
        r2: list[float | None] = []
        used: dict[str, list[float]] = {}
        for row, idx in zip(batch.rows, batch.idx, strict=False):
            key = str(idx)
            if key not in ratings:
                key = f"{row.get('user_id')}|{row.get('item_id')}"
            vals = ratings.get(key)
            if vals:
                used[key] = vals
                r2.append(sum(vals) / len(vals))
            else:
                r2.append(None)
        n_items = len(used)
        extra = [
            ("coh_human_alpha", krippendorff_alpha_interval(used), n_items),
            ("coh_human_agreement", mean_pairwise_agreement(used), n_items),
        ]
        annotators = max((len(v) for v in used.values()), default=0)
        return (
            "human",
            r2,
            {
                "checkpoint": "human",
                "source": str(path or "injected"),
                "max_annotators": annotators,
            },
            extra,
            "",
        )

    def compute(self, batch: Batch) -> list[MetricValue]:
        clip_on = self.rating.rating_clip
        lo, hi = (self.rmin, self.rmax) if clip_on else (None, None)
        r0_all = batch.floats("rating_true")
        r1_all = clip(batch.floats("rating"), lo, hi)
        scale = self.rmax - self.rmin
        out: list[MetricValue] = []
        providers = {"classifier": self._classifier, "judge": self._judge, "human": self._human}
        for source in self.sources:
            label, r2, ver, extra, reason = providers[source](batch)
            if r2 is None:
                for base in ("coh_accuracy", "coh_coherence", "coh_acc", "cier_rate"):
                    self.skipped[metric_name(base, label)] = reason
                continue
            keep = [i for i, v in enumerate(r2) if v is not None]
            r2c = clip([float(r2[i]) for i in keep], lo, hi)  # type: ignore[arg-type]
            scores = coherence_scores(
                [r0_all[i] for i in keep], [r1_all[i] for i in keep], r2c, scale
            )
            version = {**self.version(), **ver, "source": source, "n_scored": len(keep)}
            full = len(keep) == len(batch)
            for base, vals in scores.items():
                mean = sum(vals) / len(vals) if vals else float("nan")
                # per-sample scores only when aligned with every row (human: a subset)
                out.append(
                    MetricValue(
                        metric_name(base, label), mean, len(vals), True, version, vals if full else None
                    )
                )
            for base, value, n in extra:
                out.append(
                    MetricValue(metric_name(base, label), float(value), int(n), True, version, None)
                )
        return out
