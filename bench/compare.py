"""`bench compare RUN_A RUN_B`: two finished run folders, metric by metric.

For each metric both runs report (metrics.json): value A, value B and A − B. Where both runs
hold per-record scores of it (per_example.jsonl, paired by `idx`), also the paired t-test p
and a paired bootstrap 95% CI of the mean per-record difference A − B (metrics.significance;
1,000 resamples, seed 0, so the numbers repeat). Corpus-level metrics (BLEU, USR, ...) have
no per-record scores: their difference is shown without a test. Runs scored on different
test records (bench.scored_records) are refused: pairing them by idx would be meaningless.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.run_folder import RunFolder
from bench.scored_records import read_scored_records

N_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    a: float | None
    b: float | None
    diff: float | None  # a - b of the reported values
    higher_is_better: bool
    n: int | None  # records paired for the tests; None: corpus-level, no test
    p_ttest: float | None
    ci_low: float | None  # paired bootstrap CI of the mean per-record a - b
    ci_high: float | None


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    n_records: int | None
    records_digest: str
    metrics: list[MetricComparison]
    only_in_a: list[str]
    only_in_b: list[str]


def find_run(name: str, runs_dir: Path) -> Path:
    """A run folder given as a path, or as a run id under runs_dir."""
    for path in (Path(name), runs_dir / name):
        if path.is_dir():
            return path
    raise BenchError(f"no run folder {name!r} (looked in . and {runs_dir})")


def _metric_rows(run_dir: Path) -> dict[str, dict[str, Any]]:
    from bench.api.metrics_file import MetricsFile

    if not RunFolder(run_dir).is_done():
        raise BenchError(f"{run_dir} is not a finished run (no DONE marker); finish it with --resume")
    return {row["metric"]: row for row in MetricsFile.read(run_dir).rows}


def _per_example(run_dir: Path) -> list[dict[str, Any]]:
    return RunFolder(run_dir).read_per_example()


def _same_records(a: Path, b: Path) -> tuple[str, int | None]:
    """The records digest both runs share; BenchError when they scored different records."""
    ra, rb = read_scored_records(a), read_scored_records(b)
    for path, rec in ((a, ra), (b, rb)):
        if rec.digest is None:
            raise BenchError(
                f"cannot tell which test records {path} scored (no predictions.jsonl); "
                "a paired comparison needs them"
            )
    if ra.digest != rb.digest:
        raise BenchError(
            f"{a.name} and {b.name} were scored on different test records "
            f"(n={ra.n_scored:,} vs n={rb.n_scored:,}; records {ra.digest[:12]} vs "
            f"{rb.digest[:12]}); compare runs of the same dataset, seed and eval.max_records"
        )
    return ra.digest, ra.n_scored  # type: ignore[return-value]


def _value(row: dict[str, Any]) -> float | None:
    value = row.get("value")
    return None if value is None or math.isnan(float(value)) else float(value)


def _compare_metric(
    name: str, row_a: dict[str, Any], row_b: dict[str, Any], per_a: list[dict], per_b: list[dict]
) -> MetricComparison:
    from metrics.significance import align, paired_bootstrap, paired_ttest

    a, b = _value(row_a), _value(row_b)
    diff = None if a is None or b is None else a - b
    n = p = low = high = None
    try:
        xs, ys = align(per_a, per_b, name)
    except ValueError:  # no per-record scores in one run or both: corpus-level
        xs = ys = []
    if len(xs) >= 2:
        n = len(xs)
        p = paired_ttest(xs, ys).p_value
        ci = paired_bootstrap(xs, ys, n_resamples=N_RESAMPLES, confidence=CONFIDENCE, seed=0)
        low, high = ci.low, ci.high
    hib = bool(row_a.get("higher_is_better", row_b.get("higher_is_better", True)))
    return MetricComparison(name, a, b, diff, hib, n, p, low, high)


def compare_runs(run_a: Path, run_b: Path, metrics: list[str] | None = None) -> Comparison:
    rows_a, rows_b = _metric_rows(run_a), _metric_rows(run_b)
    digest, n_records = _same_records(run_a, run_b)
    return compare_read(
        str(run_a), str(run_b), (rows_a, rows_b), (_per_example(run_a), _per_example(run_b)),
        digest, n_records, metrics,
    )  # fmt: skip


def compare_read(
    run_a: str,
    run_b: str,
    rows: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]],
    per_example: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    digest: str,
    n_records: int | None,
    metrics: list[str] | None = None,
) -> Comparison:
    """compare_runs on runs already read: their metric rows by name, their per_example rows,
    and the records digest both share (a caller that holds the runs, e.g. bench.site)."""
    rows_a, rows_b = rows
    per_a, per_b = per_example
    wanted = list(dict.fromkeys(metrics)) if metrics else sorted(set(rows_a) | set(rows_b))
    unknown = [m for m in wanted if m not in rows_a and m not in rows_b]
    if unknown:
        shared = ", ".join(sorted(set(rows_a) & set(rows_b))) or "none"
        raise BenchError(f"metric(s) {', '.join(unknown)} in neither run; both report: {shared}")
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        n_records=n_records,
        records_digest=digest,
        metrics=[
            _compare_metric(m, rows_a[m], rows_b[m], per_a, per_b)
            for m in wanted
            if m in rows_a and m in rows_b
        ],
        only_in_a=[m for m in wanted if m in rows_a and m not in rows_b],
        only_in_b=[m for m in wanted if m in rows_b and m not in rows_a],
    )


def _num(value: float | None, spec: str = ".4f") -> str:
    return "—" if value is None else format(value, spec)


def format_text(c: Comparison) -> str:
    n = "?" if c.n_records is None else f"{c.n_records:,}"
    lines = [
        f"A: {c.run_a}",
        f"B: {c.run_b}",
        f"both scored on the same {n} test records (records {c.records_digest[:12]})",
        "",
    ]
    width = max([len("metric")] + [len(m.metric) for m in c.metrics])
    head = f"{'metric':<{width}}  {'A':>10}  {'B':>10}  {'A − B':>10}  {'p (t-test)':>10}  95% CI of A − B"
    lines.append(head)
    for m in c.metrics:
        ci = (
            f"[{m.ci_low:.4f}, {m.ci_high:.4f}] (n={m.n:,})"
            if m.ci_low is not None and m.ci_high is not None and m.n is not None
            else "corpus-level: no test"
        )
        lines.append(
            f"{m.metric:<{width}}  {_num(m.a):>10}  {_num(m.b):>10}  {_num(m.diff, '+.4f'):>10}  "
            f"{_num(m.p_ttest, '.3g'):>10}  {ci}"
        )
    lines.append("")
    lines.append(f"only in A: {', '.join(c.only_in_a) or '—'}")
    lines.append(f"only in B: {', '.join(c.only_in_b) or '—'}")
    return "\n".join(lines) + "\n"


def compare_command(
    run_a: str, run_b: str, *, metrics: list[str], as_json: bool, runs_dir: Path
) -> int:
    comparison = compare_runs(find_run(run_a, runs_dir), find_run(run_b, runs_dir), metrics)
    if as_json:
        print(json.dumps(asdict(comparison), indent=2))
    else:
        print(format_text(comparison), end="")
    return 0
