"""Score prediction rows with every applicable registered metric.

report = score_rows(rows, eval_cfg, train_records=splits.train, cache_dir=run_dir / "cache")
report.values        # list[MetricValue], incl. <name>_std for per-sample metrics
report.unavailable   # {reported name: reason} for metrics that could not run here
report.per_example   # [{"idx": i, "<metric>": score, ...}] for sample-level metrics
"""

from __future__ import annotations

import difflib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError, MetricUnavailable
from bench.api.eval_sample import eval_sample
from bench.api.metric_name import MetricName, metric_name
from bench.api.progress import ProgressSink, track, use_progress
from bench.api.registry import METRICS, RegistryError
from metrics.base import (
    Batch,
    Metric,
    MetricValue,
    present_fields,
    std_values,
)

log = logging.getLogger(__name__)


@dataclass
class ScoreReport:
    values: list[MetricValue] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    per_example: list[dict[str, Any]] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)  # needs absent from the rows
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per registry entry
    n: int = 0

    def as_dict(self) -> dict[str, float]:
        return {v.name: v.value for v in self.values}

    def get(self, name: str) -> MetricValue:
        for v in self.values:
            if v.name == name:
                return v
        raise KeyError(name)


def declared(entry_name: str) -> dict[str, Any]:
    """The metric class's declarations; {} when it cannot be imported here (the suite then
    reports it unavailable with the reason when it is chosen)."""
    try:
        return METRICS.declared(entry_name)
    except (RegistryError, ImportError):
        return {}


def _metric_names_in_registry() -> dict[str, str]:
    """reported base name -> registry entry name."""
    import metrics  # noqa: F401  (registers the built-ins)

    out: dict[str, str] = {}
    for entry in METRICS.entries():
        for rep in declared(entry.name).get("reports") or [entry.name]:
            out.setdefault(rep, entry.name)
    return out


def select_metrics(requested: Sequence[str]) -> dict[str, set[str] | None]:
    """Map requested names to registry entries -> wanted reported names (None = all of them).

    A request may be a registry entry ("rouge"), a reported name ("rougeL_f"), a reported
    name with checkpoint ("bertscore_f1[all-MiniLM-L6-v2]") or a std name ("bertscore_f1_std").
    """
    import metrics  # noqa: F401

    reported = _metric_names_in_registry()
    chosen: dict[str, set[str] | None] = {}
    for req in requested:
        base = MetricName.parse(req).base
        mean = MetricName(base).of_mean().base  # "bertscore_f1_std" selects bertscore_f1
        if mean in reported:
            base = mean
        if req in METRICS:
            chosen[req] = None
        elif base in reported:
            entry = reported[base]
            if chosen.get(entry, set()) is not None:
                chosen.setdefault(entry, set()).add(base)  # type: ignore[union-attr]
        else:
            known = sorted(set(METRICS.names()) | set(reported))
            close = [k for k in known if k.lower() == base.lower()]
            close += [
                c for c in difflib.get_close_matches(base, known, n=3, cutoff=0.5) if c not in close
            ]
            close = close[:3]
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise BenchError(
                f"unknown metric {req!r} in eval.metrics{hint} Known: {', '.join(known)}"
            )
    return chosen


def _requested_checkpoints(requested: Sequence[str]) -> dict[str, str]:
    out = {}
    for req in requested:
        name = MetricName.parse(req).of_mean()
        if name.tag:
            out[name.base] = name.tag
    return out


def score_rows(
    rows: list[dict[str, Any]],
    eval_cfg: Any = None,
    *,
    train_records: list[Any] | None = None,
    cache_dir: Path | None = None,
    progress: ProgressSink | None = None,
    judge: Callable[[list[str]], list[float]] | None = None,
    human_ratings: dict[Any, float] | None = None,
    feature_set: Sequence[str] | None = None,
    strict: bool = False,
    seed: int = 0,
) -> ScoreReport:
    """Score prediction rows (predictions.jsonl lines) with every applicable metric.

    `feature_set` is the dataset's feature vocabulary (bench.data.feature_truth), the denominator of
    FCR; without it DIV and FCR are unavailable. More rows than `eval.max_records` are cut to
    the seeded sample of bench.api.eval_sample (`seed`: the run's seed), as the runner cuts them.

    A metric that raises MetricUnavailable, or (unless `strict`) any other error, is listed in
    `unavailable` with the reason; the others are still scored. One bar steps over the metrics
    (naming the one running) and slow metrics add their own; they go to `progress` (a
    bench.api.progress sink; default: the caller's `use_progress` sink)."""
    with use_progress(progress):
        return _score_rows(
            rows, eval_cfg, train_records=train_records, cache_dir=cache_dir, judge=judge,
            human_ratings=human_ratings, feature_set=feature_set, strict=strict, seed=seed,
        )  # fmt: skip


def _score_rows(
    rows: list[dict[str, Any]],
    eval_cfg: Any,
    *,
    train_records: list[Any] | None,
    cache_dir: Path | None,
    judge: Callable[[list[str]], list[float]] | None,
    human_ratings: dict[Any, float] | None,
    feature_set: Sequence[str] | None,
    strict: bool,
    seed: int,
) -> ScoreReport:
    if eval_cfg is None:
        from metrics.settings import EvalConfig

        eval_cfg = EvalConfig()
    rows = list(rows)
    sample = eval_sample(len(rows), eval_cfg.max_records, seed)  # eval.max_records: one meaning
    if sample is not None:
        rows = [rows[i] for i in sample]
    report = ScoreReport(n=len(rows))
    if not rows:
        return report
    present = present_fields(rows)
    requested = list(eval_cfg.metrics or [])
    chosen = select_metrics(requested) if requested else {name: None for name in METRICS.names()}
    want_ck = _requested_checkpoints(requested)
    context = {
        "train_records": train_records,
        "cache_dir": Path(cache_dir) if cache_dir else None,
        "judge": judge,
        "human_ratings": human_ratings,
        "feature_set": feature_set,
    }
    batch = Batch(rows)
    for entry_name, wanted in track(
        chosen.items(), "scoring", len(chosen), status=lambda item: {"metric": item[0]}
    ):
        declares = declared(entry_name)
        needs = set(declares.get("needs") or [])
        reports = list(declares.get("reports") or [entry_name])
        keep = wanted if wanted is not None else set(reports)
        missing = sorted(needs - present)
        if missing:
            counts = [f"{f} ({_n_missing(rows, f)}/{len(rows)} rows)" for f in missing]
            reason = f"rows lack {', '.join(counts)}"
            target = report.unavailable if requested else report.not_applicable
            for rep in sorted(keep):
                target[rep] = reason
            continue
        scored, excluded = batch, 0
        if "reference" in needs:  # a reference-based metric scores only rows with a reference
            with_ref = [i for i, text in enumerate(batch.texts("reference")) if text.strip()]
            excluded = len(batch) - len(with_ref)
            if not with_ref:
                target = report.unavailable if requested else report.not_applicable
                for rep in sorted(keep):
                    target[rep] = (
                        f"not applicable: every reference is empty ({len(batch)}/{len(batch)} "
                        "rows); a reference-based metric has nothing to compare with"
                    )
                continue
            if excluded:
                scored = Batch([batch.rows[i] for i in with_ref])
        started = time.perf_counter()
        try:
            cls = METRICS.get(entry_name)
        except (RegistryError, ImportError) as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            module = getattr(cause, "name", None) or ""
            if isinstance(cause, ModuleNotFoundError) and module.startswith("metrics."):
                why = f"not implemented in this checkout ({module} is missing)"
            else:
                why = f"needs a package that is not installed: {cause}"
            for rep in sorted(keep):
                report.unavailable[rep] = why
            continue
        metric: Metric = cls(eval_cfg, **context)
        names = {b: metric_name(b, metric.checkpoint) for b in keep}
        if metric.checkpoint is not None:
            wrong = {b for b in keep if b in want_ck and want_ck[b] != metric.checkpoint}
            for base in sorted(wrong):
                report.unavailable[metric_name(base, want_ck[base])] = (
                    f"the configured scorer is {metric.checkpoint!r}, not {want_ck[base]!r} "
                    "(set the metric's checkpoint option, e.g. eval.bertscore_model)"
                )
            keep = keep - wrong
            if not keep:
                continue
        ok, reason = metric.available()
        if not ok:
            for base in sorted(keep):
                report.unavailable[names[base]] = reason
            continue
        try:
            values = metric.compute(scored)
            if excluded:
                values = [_excluding(v, excluded, with_ref) for v in values]
        except MetricUnavailable as exc:
            for base in sorted(keep):
                report.unavailable[names[base]] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - one broken scorer must not sink a finished run
            if strict:
                raise
            log.warning("metric %s failed: %s: %s", entry_name, type(exc).__name__, exc)
            for base in sorted(keep):
                report.unavailable[names[base]] = (
                    f"error while scoring: {type(exc).__name__}: {exc}"
                )
            continue
        for rep, why in metric.skipped.items():
            name = MetricName.parse(rep)
            if name.base in keep:
                report.unavailable[str(name) if name.tag else metric_name(rep, metric.checkpoint)] = why
        produced = set()
        for v in values:
            parsed = MetricName.parse(v.name)
            base, ck = parsed.base, parsed.tag
            if base not in keep:
                continue
            if base in want_ck and want_ck[base] != ck:
                continue
            if v.value is None or (isinstance(v.value, float) and math.isnan(v.value)):
                report.unavailable[v.name] = "undefined on these rows (NaN)"
                continue
            report.values.append(v)
            produced.add(v.name)
        for base, ck in want_ck.items():
            full = metric_name(base, ck)
            if base in keep and full not in produced and full not in report.unavailable:
                got = sorted(v.name for v in values if MetricName.parse(v.name).base == base)
                report.unavailable[full] = (
                    f"not produced with this configuration (got {', '.join(got) or 'nothing'}); "
                    "set the metric's checkpoint option (e.g. eval.bertscore_model)"
                )
        report.seconds[entry_name] = time.perf_counter() - started
    report.values.extend(std_values(report.values))
    report.per_example = _per_example(batch, report.values)
    return report


def _excluding(value: MetricValue, excluded: int, rows: list[int]) -> MetricValue:
    """`value`, computed without the rows whose reference is empty: their number is in its
    version, and its per-sample scores keep their rows' positions for per_example.jsonl."""
    version = {**value.version, "empty_references_excluded": excluded}
    return MetricValue(
        value.name, value.value, value.n, value.higher_is_better, version, value.per_sample,
        rows if value.per_sample is not None else None,
    )  # fmt: skip


def _n_missing(rows: list[dict[str, Any]], name: str) -> int:
    from metrics.base import field_value

    return sum(field_value(r, name) is None for r in rows)


def _per_example(batch: Batch, values: list[MetricValue]) -> list[dict[str, Any]]:
    per = {}  # value -> {row position: score}
    for v in values:
        if v.per_sample is None:
            continue
        rows = v.rows if v.rows is not None else range(len(batch))
        if len(v.per_sample) == len(rows) and (v.rows is not None or len(rows) == len(batch)):
            per[v.name] = dict(zip(rows, v.per_sample, strict=True))
    if not per:
        return []
    out = []
    for i, idx in enumerate(batch.idx):
        row: dict[str, Any] = {"idx": idx}
        for name, scores in per.items():
            if i in scores:
                row[name] = scores[i]
        out.append(row)
    return out
